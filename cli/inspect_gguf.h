// `pare inspect X.gguf`: what a GGUF file holds (llama.cpp's, or pare's),
// read from its header alone.
#ifndef PARE_CLI_INSPECT_GGUF_H_
#define PARE_CLI_INSPECT_GGUF_H_

#include <cstddef>
#include <string>

namespace pare::cli {

// Whether the file starts with GGUF's magic.
bool IsGgufFile(const std::string& path);

// Prints the summary (text, or JSON schema pare.inspect-gguf/1); returns
// the exit code.
int InspectGguf(const std::string& path, bool json, size_t top);

}  // namespace pare::cli

#endif  // PARE_CLI_INSPECT_GGUF_H_
