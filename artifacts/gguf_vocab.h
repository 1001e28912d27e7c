// The tokenizer metadata a GGUF file carries (tokenizer.ggml.*): from a
// Hugging Face tokenizer.json (BPE as "gpt2", Unigram as "llama"), llama.cpp's
// byte vocabulary for byte-level models (token i is byte i), or, for models
// without a tokenizer (synthetic ones), byte tokens plus placeholders.
#ifndef PARE_ARTIFACTS_GGUF_VOCAB_H_
#define PARE_ARTIFACTS_GGUF_VOCAB_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "artifacts/gguf.h"

namespace pare::artifacts {

struct Vocabulary {
  std::string model;  // "gpt2" or "llama"
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
  std::vector<std::string> merges;
  std::optional<uint32_t> bos, eos, unk;
  std::string source;  // in words
};

// Byte vocabulary (vocab_size 256).
Vocabulary ByteVocabulary();
// 256 byte tokens, then "<unused_N>" up to vocab_size.
Vocabulary PlaceholderVocabulary(int64_t vocab_size);
// A Hugging Face tokenizer.json; its size must match the model's vocabulary
// (extra model rows become "<unused_N>").
absl::StatusOr<Vocabulary> ReadHuggingFaceTokenizer(const std::filesystem::path& path,
                                                    int64_t vocab_size);

void AddVocabulary(const Vocabulary& v, GgufFile& f);

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_GGUF_VOCAB_H_
