// What a model needs in a device's memory to generate: weights (by dtype),
// the KV cache for the chosen context, peak activations of a prefill step,
// and a runtime overhead line; against what the device grants, with a
// verdict and a decode-speed ceiling from memory bandwidth.
//
//   AccountOptions o{.context = 8192};
//   ASSIGN_OR_RETURN(MemoryAccount a, AccountMemory(model, device, o));
//   std::cout << AccountToText(a);   // the table and "fits" / "does not fit"
#ifndef PARE_ANALYSIS_MEMORY_ACCOUNT_H_
#define PARE_ANALYSIS_MEMORY_ACCOUNT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "analysis/activations.h"
#include "analysis/device.h"
#include "analysis/kv_cache.h"
#include "core/model.h"
#include "nlohmann/json.hpp"

namespace pare::analysis {

struct AccountOptions {
  int64_t context = 4096;       // tokens the KV cache holds
  int64_t batch = 1;            // sequences generated at once
  int64_t prefill = 512;        // tokens per prefill step (llama.cpp's default micro-batch)
  std::string kv_type = "f16";  // f32, f16 or q8_0 (8.5 bits)
  // When the graph shows no attention (or to override what it shows).
  int64_t layers = 0, kv_heads = 0, head_dim = 0;
};

struct MemoryAccount {
  DeviceProfile device;
  AccountOptions options;
  std::map<std::string, uint64_t> weights_by_dtype;
  uint64_t weight_bytes = 0;
  uint64_t weight_bytes_per_token = 0;  // read once per generated token (not embedding rows)
  std::optional<KvCacheShape> kv;
  uint64_t kv_bytes = 0;
  ActivationEstimate activations;
  uint64_t overhead_bytes = 0;
  uint64_t total_bytes = 0, budget_bytes = 0;
  bool fits = false;
  int64_t headroom_bytes = 0;      // budget - total, negative when it does not fit
  double decode_tokens_per_s = 0;  // bandwidth / bytes read per token; 0 without a bandwidth
};

// Bytes per cached element for --kv-type.
absl::StatusOr<double> KvElementBytes(const std::string& kv_type);

absl::StatusOr<MemoryAccount> AccountMemory(const Model& model, const DeviceProfile& device,
                                            const AccountOptions& options);

// The weight bytes a model may have on `device` once KV cache, activations
// and overhead are set aside (what the fit planner aims at).
int64_t WeightBudget(const MemoryAccount& a);

nlohmann::json AccountToJson(const MemoryAccount& a);
std::string AccountToText(const MemoryAccount& a);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_MEMORY_ACCOUNT_H_
