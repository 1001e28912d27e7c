// Structure-aware mutations of an ONNX model for libFuzzer: byte flips
// rarely get past protobuf parsing into the code that trusts a parsed
// model's shapes and wiring, so these edit the ModelProto itself (wrong
// dims, dtypes, missing initializers, graph cycles, repeated producers,
// bad attributes, other opsets) and serialize it again.
#ifndef PARE_TESTS_FUZZ_PROTO_MUTATOR_H_
#define PARE_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <cstddef>
#include <cstdint>

namespace pare::fuzz {

// Mutates the model serialized in data[0, size) in place; returns its new
// size (at most max_size), or 0 when the bytes do not parse as a model or
// the result would not fit (the caller falls back to byte mutations).
size_t MutateModelProto(uint8_t* data, size_t size, size_t max_size, unsigned seed);

}  // namespace pare::fuzz

#endif  // PARE_TESTS_FUZZ_PROTO_MUTATOR_H_
