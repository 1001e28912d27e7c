#include "cli/device_flags.h"

#include "absl/strings/str_join.h"
#include "cli/flags.h"
#include "core/status_macros.h"

namespace pare::cli {

void AddDeviceFlags(CLI::App& cmd, DeviceFlags& f) {
  std::vector<std::string> names;
  for (const analysis::DeviceProfile& d : analysis::BuiltinDeviceProfiles())
    names.push_back(d.name);
  const std::string group = "Device";
  cmd.add_option("--device", f.device,
                 "Target device profile (default m4-24gb): " + absl::StrJoin(names, ", "))
      ->group(group);
  cmd.add_option("--devices", f.devices_file,
                 "JSON list of extra device profiles ({\"name\", \"ram\", \"usable_fraction\", "
                 "\"bandwidth_gbps\", \"overhead\"}; docs/convert.md)")
      ->group(group);
  cmd.add_option("--budget", f.budget,
                 "A plain memory budget instead of a device, e.g. 8GB or 6GiB (no overhead line)")
      ->check(ByteSize())
      ->group(group);
  cmd.add_option("--context", f.account.context, "Tokens the KV cache holds (default 4096)")
      ->check(IntegerRange(1, int64_t{1} << 26))
      ->group(group);
  cmd.add_option("--batch", f.account.batch, "Sequences generated at once (default 1)")
      ->check(IntegerRange(1, int64_t{1} << 16))
      ->group(group);
  cmd.add_option("--prefill", f.account.prefill,
                 "Tokens per prefill step, which sizes the activations (default 512)")
      ->check(IntegerRange(1, int64_t{1} << 26))
      ->group(group);
  cmd.add_option("--kv-type", f.account.kv_type,
                 "KV cache element type: f16 (default), f32, "
                 "bf16, q8_0")
      ->check(CLI::IsMember({"f16", "f32", "bf16", "q8_0"}))
      ->group(group);
  cmd.add_option("--layers", f.account.layers,
                 "KV cache shape when the graph shows no attention: decoder layers")
      ->check(IntegerRange(1, int64_t{1} << 16))
      ->group(group);
  cmd.add_option("--kv-heads", f.account.kv_heads, "... key/value heads per layer")
      ->check(IntegerRange(1, int64_t{1} << 16))
      ->group(group);
  cmd.add_option("--head-dim", f.account.head_dim, "... elements per head")
      ->check(IntegerRange(1, int64_t{1} << 16))
      ->group(group);
}

absl::StatusOr<analysis::DeviceProfile> ResolveDevice(const DeviceFlags& f) {
  if (!f.budget.empty()) {
    ASSIGN_OR_RETURN(const uint64_t bytes, analysis::ParseByteSize(f.budget));
    if (bytes == 0) return absl::InvalidArgumentError("--budget must be more than 0 bytes");
    return analysis::BudgetDevice(bytes);
  }
  return analysis::FindDeviceProfile(f.device, f.devices_file);
}

}  // namespace pare::cli
