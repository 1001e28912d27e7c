#include "artifacts/artifact.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/atomic_file.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "runtime/session.h"

#ifndef PARE_VERSION
#define PARE_VERSION "unknown"
#endif

namespace pare::artifacts {
namespace {

namespace fs = std::filesystem;

// Removes a temporary folder unless released.
class TempDir {
 public:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  fs::path path_;
};

absl::Status Rename(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", from.string(), " to ", to.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Puts the finished folder in place; an existing one is moved aside first
// and removed only once the new one is there.
absl::Status Publish(TempDir& temp, const fs::path& dir, bool replace) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    RETURN_IF_ERROR(Rename(temp.path(), dir));
    temp.Release();
    return absl::OkStatus();
  }
  if (!replace) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir.string(), " exists (pass --force to replace it)"));
  }
  const fs::path old = fs::path(dir.string() + ".pare-old");
  fs::remove_all(old, ec);
  RETURN_IF_ERROR(Rename(dir, old));
  if (absl::Status s = Rename(temp.path(), dir); !s.ok()) {
    (void)Rename(old, dir);
    return s;
  }
  temp.Release();
  fs::remove_all(old, ec);
  return absl::OkStatus();
}

}  // namespace

namespace {

// SHA-256 over whatever `feed` passes to its callback, as hex.
template <typename Feed>
absl::StatusOr<std::string> Sha256Of(Feed&& feed) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("OpenSSL SHA-256 is unavailable");
  }
  RETURN_IF_ERROR(
      feed([&](const void* data, size_t size) { EVP_DigestUpdate(ctx.get(), data, size); }));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

}  // namespace

absl::StatusOr<std::string> Sha256File(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  return Sha256Of([&](auto update) {
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (in.gcount() > 0) update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return absl::DataLossError(absl::StrCat(path.string(), ": read error"));
    return absl::OkStatus();
  });
}

std::string Sha256Text(std::string_view text) {
  return Sha256Of([&](auto update) {
           update(text.data(), text.size());
           return absl::OkStatus();
         })
      .value_or("");
}

namespace {

// Whether `inner` names `outer` or something inside it.
bool IsWithin(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

}  // namespace

absl::Status CheckArtifactDestination(const fs::path& dir, bool replace,
                                      const std::vector<fs::path>& inputs) {
  std::error_code ec;
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": the folder ", parent.string(), " does not exist"));
  }
  for (const fs::path& input : inputs) {
    if (!input.empty() && IsWithin(input, dir)) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir.string(), ": holds the input ", input.string(),
                       ", which replacing it would destroy; write the artifact to another folder"));
    }
  }
  const fs::file_status status = fs::symlink_status(dir, ec);
  if (!fs::exists(status)) return absl::OkStatus();
  if (!fs::is_directory(status)) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir.string(),
                     ": exists and is not a folder; an artifact is a folder, "
                     "and pare replaces only artifact folders"));
  }
  if (!replace) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir.string(), " exists (pass --force to replace it)"));
  }
  if (!fs::exists(dir / kManifestFile, ec) && !fs::is_empty(dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir.string(), ": is a folder with no ", kManifestFile,
                     ", not a pare artifact; --force replaces only artifact folders"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ArtifactFile>> WriteArtifact(const Model& model, const fs::path& dir,
                                                        nlohmann::json manifest, bool replace) {
  std::error_code ec;
  RETURN_IF_ERROR(CheckArtifactDestination(dir, replace));
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::random_device random;
  TempDir temp(parent / absl::StrFormat(".%s.tmp-%08x", dir.filename().string(), random()));
  if (!fs::create_directory(temp.path(), ec)) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", temp.path().string(), ": ", ec.message()));
  }
  const std::string data_name = absl::StrCat(kModelFile, ".data");
  RETURN_IF_ERROR(
      SaveModel(model, temp.path() / kModelFile, SaveOptions{.external_data_name = data_name}));
  std::vector<ArtifactFile> files;
  for (const std::string& name : {std::string(kModelFile), data_name}) {
    const fs::path p = temp.path() / name;
    if (!fs::exists(p, ec)) continue;  // a small model has no external data
    ArtifactFile f{.path = name, .bytes = fs::file_size(p)};
    ASSIGN_OR_RETURN(f.sha256, Sha256File(p));
    files.push_back(std::move(f));
  }
  manifest["format"] = "pare-artifact/1";
  manifest["pare_version"] = PARE_VERSION;
  manifest["model"] = kModelFile;
  manifest["files"] = nlohmann::json::array();
  for (const ArtifactFile& f : files) {
    manifest["files"].push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  }
  RETURN_IF_ERROR(WriteFileAtomically(temp.path() / kManifestFile, manifest.dump(2) + "\n"));
  RETURN_IF_ERROR(Publish(temp, dir, replace));
  return files;
}

absl::StatusOr<nlohmann::json> VerifyArtifact(const fs::path& dir) {
  const fs::path manifest_path = dir / kManifestFile;
  std::ifstream in(manifest_path);
  if (!in) return absl::NotFoundError(absl::StrCat(manifest_path.string(), ": cannot open"));
  const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("files") ||
      !manifest["files"].is_array() || !manifest.contains("model") ||
      !manifest["model"].is_string()) {
    return absl::DataLossError(
        absl::StrCat(manifest_path.string(), ": not a pare manifest (no \"files\" or \"model\")"));
  }
  for (const nlohmann::json& f : manifest["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("sha256") ||
        !f.contains("bytes")) {
      return absl::DataLossError(absl::StrCat(manifest_path.string(), ": malformed file entry"));
    }
    const std::string name = f["path"];
    if (name.find('/') != std::string::npos || name.find("..") != std::string::npos) {
      return absl::DataLossError(
          absl::StrCat(manifest_path.string(), ": unsafe file path '", name, "'"));
    }
    const fs::path p = dir / name;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      return absl::NotFoundError(absl::StrCat(p.string(), ": listed in the manifest but missing"));
    }
    const uint64_t size = fs::file_size(p, ec);
    if (size != f["bytes"].get<uint64_t>()) {
      return absl::DataLossError(absl::StrFormat("%s: %d bytes, the manifest says %d", p.string(),
                                                 size, f["bytes"].get<uint64_t>()));
    }
    ASSIGN_OR_RETURN(const std::string sha, Sha256File(p));
    if (sha != f["sha256"]) {
      return absl::DataLossError(absl::StrCat(p.string(), ": SHA-256 mismatch (manifest ",
                                              f["sha256"].get<std::string>().substr(0, 16),
                                              "..., file ", sha.substr(0, 16), "...)"));
    }
  }
  ASSIGN_OR_RETURN(const Model model, LoadModel(dir / manifest["model"].get<std::string>()));
  absl::StatusOr<std::unique_ptr<runtime::Session>> session =
      runtime::Session::Create(model, {.threads = 1, .fuse = false});
  if (!session.ok()) {
    return absl::Status(
        session.status().code(),
        absl::StrCat(dir.string(), ": the model does not load: ", session.status().message()));
  }
  return manifest;
}

}  // namespace pare::artifacts
