// Target devices: how much memory a model may use there and how fast that
// memory is read. A profile is what `pare convert`, `pare fit` and
// `pare sweep` check an artifact against.
//
//   ASSIGN_OR_RETURN(DeviceProfile d, FindDeviceProfile("m4-24gb"));
//   uint64_t budget = d.usable_bytes();   // 16 GiB of the 24
//
// Built-in profiles are Apple-silicon Macs, whose GPU may by default wire
// only part of the unified memory (Metal's recommendedMaxWorkingSetSize:
// about 2/3 of RAM up to 36 GB, about 3/4 above). A JSON file can add or
// override profiles (docs/convert.md).
#ifndef PARE_ANALYSIS_DEVICE_H_
#define PARE_ANALYSIS_DEVICE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pare::analysis {

struct DeviceProfile {
  std::string name;
  std::string description;
  uint64_t ram_bytes = 0;
  double usable_fraction = 1.0;  // of RAM the accelerator may hold
  double bandwidth_gbps = 0;     // memory bandwidth, GB/s (1e9 bytes)
  uint64_t overhead_bytes = 0;   // runtime, compute buffers, the process itself

  uint64_t usable_bytes() const;
};

// m4-16gb, m4-24gb, m4-32gb, m4-pro-24gb, m4-pro-48gb, m4-max-64gb, m4-max-128gb.
const std::vector<DeviceProfile>& BuiltinDeviceProfiles();

// A built-in profile, or one from `file` (a JSON list of profiles, which
// take precedence over built-ins of the same name). Unknown names fail with
// the list of known ones.
absl::StatusOr<DeviceProfile> FindDeviceProfile(const std::string& name,
                                                const std::filesystem::path& file = {});

// A generic device granting exactly `budget` bytes (usable fraction 1, no
// overhead line beyond `overhead`), for --budget.
DeviceProfile BudgetDevice(uint64_t budget, uint64_t overhead = 0);

// "16GB" / "16G" (1e9), "16GiB" (2^30), "512MiB", "1.5GB", or plain bytes.
absl::StatusOr<uint64_t> ParseByteSize(const std::string& text);

// 1.23 GB, 456.7 MB, ... (decimal units, as device specs are written).
std::string FormatBytes(uint64_t bytes);

nlohmann::json DeviceToJson(const DeviceProfile& d);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_DEVICE_H_
