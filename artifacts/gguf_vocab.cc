#include "artifacts/gguf_vocab.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace pare::artifacts {
namespace {

constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;

void Fill(Vocabulary& v, int64_t vocab_size) {
  for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < vocab_size; ++i) {
    v.tokens.push_back(absl::StrCat("<unused_", i, ">"));
    v.scores.push_back(0.0f);
    v.types.push_back(kControl);
  }
}

// Special tokens' ids by the names the common tokenizers give them.
void FindSpecials(Vocabulary& v) {
  for (uint32_t i = 0; i < v.tokens.size(); ++i) {
    const std::string& t = v.tokens[i];
    if (!v.bos && (t == "<s>" || t == "<|begin_of_text|>" || t == "<bos>")) v.bos = i;
    if (!v.eos && (t == "</s>" || t == "<|end_of_text|>" || t == "<|endoftext|>" || t == "<eos>")) {
      v.eos = i;
    }
    if (!v.unk && (t == "<unk>")) v.unk = i;
  }
}

}  // namespace

Vocabulary ByteVocabulary() {
  Vocabulary v{.model = "llama", .source = "byte-level (token i is byte i)"};
  for (int i = 0; i < 256; ++i) {
    v.tokens.push_back(absl::StrFormat("<0x%02X>", i));
    v.scores.push_back(0.0f);
    v.types.push_back(kByte);
  }
  return v;
}

Vocabulary PlaceholderVocabulary(int64_t vocab_size) {
  Vocabulary v = ByteVocabulary();
  v.source = "placeholder (byte tokens, then <unused_N>)";
  Fill(v, vocab_size);
  return v;
}

absl::StatusOr<Vocabulary> ReadHuggingFaceTokenizer(const std::filesystem::path& path,
                                                    int64_t vocab_size) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", why));
  };
  if (j.is_discarded() || !j.contains("model") || !j["model"].is_object()) {
    return fail("not a Hugging Face tokenizer.json (no \"model\")");
  }
  const nlohmann::json& m = j["model"];
  const std::string type = m.value("type", "");
  Vocabulary v{.source = absl::StrCat("tokenizer.json (", type, ")")};
  if (type == "BPE") {
    v.model = "gpt2";
    if (!m.contains("vocab") || !m["vocab"].is_object()) return fail("BPE without a vocab");
    for (const auto& [token, id] : m["vocab"].items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size) {
        return fail(absl::StrCat("token '", token, "' has id ", id.dump(), ", outside the model's ",
                                 vocab_size, " rows"));
      }
      const size_t at = id.get<size_t>();
      if (v.tokens.size() <= at) v.tokens.resize(at + 1);
      v.tokens[at] = token;
    }
    for (const nlohmann::json& merge : m.value("merges", nlohmann::json::array())) {
      if (merge.is_string()) {
        v.merges.push_back(merge);
      } else if (merge.is_array() && merge.size() == 2) {
        v.merges.push_back(
            absl::StrCat(merge[0].get<std::string>(), " ", merge[1].get<std::string>()));
      }
    }
    v.scores.assign(v.tokens.size(), 0.0f);
    v.types.assign(v.tokens.size(), kNormal);
  } else if (type == "Unigram") {
    v.model = "llama";
    for (const nlohmann::json& piece : m.value("vocab", nlohmann::json::array())) {
      if (!piece.is_array() || piece.size() != 2)
        return fail("Unigram vocab entries are [piece, score]");
      v.tokens.push_back(piece[0]);
      v.scores.push_back(piece[1].get<float>());
      v.types.push_back(kNormal);
    }
    if (m.contains("unk_id") && m["unk_id"].is_number_integer()) {
      v.unk = m["unk_id"].get<uint32_t>();
      if (*v.unk < v.types.size()) v.types[*v.unk] = kUnknown;
    }
  } else {
    return fail(absl::StrCat("tokenizer model '", type, "' is not supported (BPE, Unigram)"));
  }
  for (const nlohmann::json& added : j.value("added_tokens", nlohmann::json::array())) {
    if (!added.contains("id") || !added.contains("content")) continue;
    const size_t id = added["id"].get<size_t>();
    if (id >= static_cast<size_t>(vocab_size)) continue;
    if (v.tokens.size() <= id) {
      v.tokens.resize(id + 1);
      v.scores.resize(id + 1, 0.0f);
      v.types.resize(id + 1, kNormal);
    }
    v.tokens[id] = added["content"];
    if (added.value("special", false)) v.types[id] = kControl;
  }
  if (static_cast<int64_t>(v.tokens.size()) > vocab_size) {
    return fail(
        absl::StrCat(v.tokens.size(), " tokens, more than the model's ", vocab_size, " rows"));
  }
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i].empty()) v.tokens[i] = absl::StrCat("<unused_", i, ">"), v.types[i] = kControl;
  }
  Fill(v, vocab_size);
  FindSpecials(v);
  return v;
}

void AddVocabulary(const Vocabulary& v, GgufFile& f) {
  f.Add("tokenizer.ggml.model", v.model);
  f.Add("tokenizer.ggml.tokens", v.tokens);
  f.Add("tokenizer.ggml.scores", v.scores);
  f.Add("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) f.Add("tokenizer.ggml.merges", v.merges);
  if (v.bos) f.Add("tokenizer.ggml.bos_token_id", *v.bos);
  if (v.eos) f.Add("tokenizer.ggml.eos_token_id", *v.eos);
  if (v.unk) f.Add("tokenizer.ggml.unknown_token_id", *v.unk);
  f.Add("tokenizer.ggml.add_bos_token", false);
}

}  // namespace pare::artifacts
