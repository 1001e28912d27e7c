#include "analysis/device.h"

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pare::analysis {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

// Apple sells "24GB" Macs with 24 GiB. Bandwidths are Apple's figures;
// the overhead line covers the runtime's code, compute buffers and the
// process (llama.cpp's compute buffers for an 8B model are a few hundred MB).
DeviceProfile Mac(std::string name, std::string chip, uint64_t gib, double gbps) {
  const double fraction = gib > 36 ? 0.75 : 2.0 / 3.0;
  return DeviceProfile{
      .name = std::move(name),
      .description = absl::StrFormat("Apple %s, %d GB unified memory, %.0f GB/s; the GPU's "
                                     "default working set is %.0f%% of RAM",
                                     chip, gib, gbps, 100 * fraction),
      .ram_bytes = gib * kGiB,
      .usable_fraction = fraction,
      .bandwidth_gbps = gbps,
      .overhead_bytes = 512 * kMiB,
  };
}

absl::StatusOr<DeviceProfile> ProfileFromJson(const nlohmann::json& j,
                                              const std::filesystem::path& file) {
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", why));
  };
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return fail("each profile must be an object with a string \"name\"");
  }
  DeviceProfile d{.name = j["name"], .usable_fraction = 1.0};
  for (const auto& [key, value] : j.items()) {
    if (key == "name") continue;
    if (key == "description" && value.is_string()) {
      d.description = value;
    } else if (key == "ram" && value.is_string()) {
      absl::StatusOr<uint64_t> bytes = ParseByteSize(value);
      if (!bytes.ok()) return fail(absl::StrCat(d.name, ": ram: ", bytes.status().message()));
      d.ram_bytes = *bytes;
    } else if (key == "ram_bytes" && value.is_number_unsigned()) {
      d.ram_bytes = value;
    } else if (key == "usable_fraction" && value.is_number() && value > 0 && value <= 1) {
      d.usable_fraction = value;
    } else if (key == "bandwidth_gbps" && value.is_number() && value >= 0) {
      d.bandwidth_gbps = value;
    } else if (key == "overhead" && value.is_string()) {
      absl::StatusOr<uint64_t> bytes = ParseByteSize(value);
      if (!bytes.ok()) return fail(absl::StrCat(d.name, ": overhead: ", bytes.status().message()));
      d.overhead_bytes = *bytes;
    } else {
      return fail(absl::StrCat("profile '", d.name, "': unknown or mistyped key '", key, "'"));
    }
  }
  if (d.ram_bytes == 0) return fail(absl::StrCat("profile '", d.name, "' has no \"ram\""));
  return d;
}

}  // namespace

uint64_t DeviceProfile::usable_bytes() const {
  return static_cast<uint64_t>(std::floor(static_cast<double>(ram_bytes) * usable_fraction));
}

const std::vector<DeviceProfile>& BuiltinDeviceProfiles() {
  static const std::vector<DeviceProfile> profiles = {
      Mac("m4-16gb", "M4", 16, 120),           Mac("m4-24gb", "M4", 24, 120),
      Mac("m4-32gb", "M4", 32, 120),           Mac("m4-pro-24gb", "M4 Pro", 24, 273),
      Mac("m4-pro-48gb", "M4 Pro", 48, 273),   Mac("m4-max-64gb", "M4 Max", 64, 546),
      Mac("m4-max-128gb", "M4 Max", 128, 546),
  };
  return profiles;
}

absl::StatusOr<DeviceProfile> FindDeviceProfile(const std::string& name,
                                                const std::filesystem::path& file) {
  std::vector<std::string> known;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat(file.string(), ": cannot open"));
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.string(), ": not a JSON list of device profiles"));
    }
    for (const nlohmann::json& entry : j) {
      absl::StatusOr<DeviceProfile> d = ProfileFromJson(entry, file);
      if (!d.ok()) return d.status();
      if (d->name == name) return d;
      known.push_back(d->name);
    }
  }
  for (const DeviceProfile& d : BuiltinDeviceProfiles()) {
    if (d.name == name) return d;
    known.push_back(d.name);
  }
  return absl::NotFoundError(absl::StrCat("unknown device '", name, "'; known: ",
                                          absl::StrJoin(known, ", "), " (or give --budget BYTES)"));
}

DeviceProfile BudgetDevice(uint64_t budget, uint64_t overhead) {
  return DeviceProfile{.name = "budget",
                       .description = absl::StrCat("a budget of ", FormatBytes(budget)),
                       .ram_bytes = budget,
                       .usable_fraction = 1.0,
                       .overhead_bytes = overhead};
}

absl::StatusOr<uint64_t> ParseByteSize(const std::string& text) {
  const std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  size_t split = 0;
  while (split < t.size() && (absl::ascii_isdigit(t[split]) || t[split] == '.')) ++split;
  double number = 0;
  if (split == 0 || !absl::SimpleAtod(t.substr(0, split), &number) || number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a size (e.g. 16GB, 8GiB, 512MiB, 1000000)"));
  }
  const std::string unit(absl::StripAsciiWhitespace(t.substr(split)));
  static const std::vector<std::pair<std::string, double>> units = {{"", 1},
                                                                    {"b", 1},
                                                                    {"k", 1e3},
                                                                    {"kb", 1e3},
                                                                    {"kib", 1024.0},
                                                                    {"m", 1e6},
                                                                    {"mb", 1e6},
                                                                    {"mib", 1048576.0},
                                                                    {"g", 1e9},
                                                                    {"gb", 1e9},
                                                                    {"gib", 1073741824.0},
                                                                    {"t", 1e12},
                                                                    {"tb", 1e12},
                                                                    {"tib", 1099511627776.0}};
  for (const auto& [name, scale] : units) {
    if (unit != name) continue;
    // 2^64 is exact in a double; anything from it up does not fit uint64_t.
    const double bytes = std::round(number * scale);
    if (!(bytes < 18446744073709551616.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text, "' is more bytes than a 64-bit size holds"));
    }
    return static_cast<uint64_t>(bytes);
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "': unknown unit '", unit,
                                                 "' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"));
}

std::string FormatBytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1e9) return absl::StrFormat("%.2f GB", b / 1e9);
  if (b >= 1e6) return absl::StrFormat("%.1f MB", b / 1e6);
  if (b >= 1e3) return absl::StrFormat("%.1f kB", b / 1e3);
  return absl::StrFormat("%d B", bytes);
}

nlohmann::json DeviceToJson(const DeviceProfile& d) {
  return {{"name", d.name},
          {"description", d.description},
          {"ram_bytes", d.ram_bytes},
          {"usable_fraction", d.usable_fraction},
          {"usable_bytes", d.usable_bytes()},
          {"bandwidth_gbps", d.bandwidth_gbps},
          {"overhead_bytes", d.overhead_bytes}};
}

}  // namespace pare::analysis
