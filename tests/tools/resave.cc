// pare-resave: loads a model and saves it again through pare's streaming
// saver. A benchmark probe for scripts/bench/: its peak RSS shows what a
// stage pays to read and write a model, before doing any work on it.
//
//   pare-resave in/model.onnx out/model.onnx
#include <cstdio>
#include <string>

#include "core/onnx_io.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: pare-resave IN.onnx OUT.onnx\n");
    return 2;
  }
  auto model = pare::LoadModel(argv[1]);
  absl::Status status = model.ok() ? pare::SaveModel(*model, argv[2]) : model.status();
  if (!status.ok()) {
    std::fprintf(stderr, "pare-resave: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
