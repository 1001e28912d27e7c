// libFuzzer target for the runtime: any bytes that load as a model are
// planned and, when every input has a small declared shape, run on seeded
// random inputs. Any outcome but a crash, sanitizer report, hang or
// unbounded allocation is fine: errors must come back as statuses.
#include <cstdint>
#include <filesystem>

#include "core/onnx_io.h"
#include "data/inputs.h"
#include "runtime/session.h"

namespace {

constexpr int64_t kMaxInputElements = 4096;

bool SmallStaticInputs(const pare::Model& model) {
  for (const pare::ValueInfo* v : pare::data::FeedableInputs(model)) {
    if (!v->shape) return false;
    int64_t count = 1;
    for (const pare::Dim& d : *v->shape) {
      if (!d.value || *d.value < 0 || *d.value > kMaxInputElements) return false;
      count *= *d.value;
      if (count > kMaxInputElements) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::LoadOptions options;
  options.max_tensor_bytes = 1 << 20;
  auto model = pare::ParseModel({data, size}, std::filesystem::temp_directory_path(), options);
  if (!model.ok()) return 0;
  auto session =
      pare::runtime::Session::Create(*model, {.threads = 1, .max_tensor_bytes = 1 << 26});
  if (!session.ok() || !SmallStaticInputs(*model)) return 0;
  auto inputs = pare::data::RandomInputs(*model, 1, {});
  if (!inputs.ok()) return 0;
  (void)(*session)->Run(*inputs);
  return 0;
}
