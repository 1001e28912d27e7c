// libFuzzer target for the ONNX loader: any bytes must yield a model or an
// error status, never a crash, a sanitizer report or an unbounded allocation.
// External-data references resolve inside a scratch folder holding one small
// data file, so the fuzzer also exercises offsets, lengths and path checks.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/onnx_io.h"

namespace {

std::filesystem::path ScratchDir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "pare-fuzz-XXXXXX").string();
    std::filesystem::path made = ::mkdtemp(pattern.data());
    std::ofstream(made / "data.bin", std::ios::binary) << std::string(4096, '\x42');
    return made;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::LoadOptions options;
  options.max_tensor_bytes = 1 << 24;  // keep typed-field allocations small
  auto model = pare::ParseModel({data, size}, ScratchDir(), options);
  if (model.ok()) {
    // Touch every tensor's bytes so bad views would be caught by ASan.
    uint64_t sum = 0;
    for (const pare::Tensor& t : model->graph.initializers) {
      for (uint8_t b : t.bytes()) sum += b;
    }
    if (sum == 0xdeadbeef) abort();  // keeps the loop from being optimized out
  }
  return 0;
}
