// The flags that say which device a model must fit and how it will be run
// (context, batch, KV cache type), shared by convert, fit and sweep.
#ifndef PARE_CLI_DEVICE_FLAGS_H_
#define PARE_CLI_DEVICE_FLAGS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "analysis/device.h"
#include "analysis/memory_account.h"

namespace pare::cli {

struct DeviceFlags {
  std::string device = "m4-24gb", devices_file, budget;
  analysis::AccountOptions account;
};

void AddDeviceFlags(CLI::App& cmd, DeviceFlags& f);

// --budget wins over --device; --devices adds profiles from a file.
absl::StatusOr<analysis::DeviceProfile> ResolveDevice(const DeviceFlags& f);

}  // namespace pare::cli

#endif  // PARE_CLI_DEVICE_FLAGS_H_
