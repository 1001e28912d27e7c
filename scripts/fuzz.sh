#!/usr/bin/env bash
# Builds a fuzzer with clang (libFuzzer + ASan + UBSan) and runs it for a
# bounded time on a seed corpus of real models.
#   scripts/fuzz.sh [SECONDS] [TARGET]
#     SECONDS  default 60
#     TARGET   load_model_fuzzer (default; parse and convert),
#              run_model_fuzzer (also plans and executes on random inputs) or
#              stages_fuzzer (quantizes and prunes every way, then plans and
#              saves each result; seeded with the model zoo's small models
#              as well, mutated at the protobuf level)
#   PARE_FUZZ_RUNS=N: instead of a time budget, exactly N executions from
#   seed 1, the same mutations on every machine for the same code (what CI
#   runs for the run fuzzer, so its outcome does not depend on machine speed).
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache reuse objects across clones in different folders (CI clones fresh).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
seconds=${1:-60}
target=${2:-load_model_fuzzer}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPARE_BUILD_TESTS=OFF -DPARE_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" --target "$target" | tail -n 1

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
# Seeds: small conformance models with Constant nodes, subgraphs, all dtypes.
n=0
while read -r f; do
  cp "$f" "$corpus/seed$n.onnx"
  n=$((n + 1))
  [ "$n" -lt 400 ] || break
done < <(find /usr/share/libonnx-testdata/data/node -name model.onnx -size -8k 2>/dev/null | sort)
max_len=65536
if [ "$target" = stages_fuzzer ]; then
  # Real exports (scripts/models/make_zoo.sh), inline weights only: the
  # stages' code paths need whole models, not single-operator graphs.
  zoo=${PARE_CACHE:-$HOME/.cache/pare}/models/zoo
  while read -r f; do
    [ -e "$f.data" ] && continue
    cp "$f" "$corpus/zoo$n.onnx"
    n=$((n + 1))
  done < <(find "$zoo" -name model.onnx -size -300k 2>/dev/null | sort)
  max_len=$((300 * 1024))
fi
echo "fuzzing with $target from $n seed models"
log=$(mktemp)
# Undefined behaviour is a failure too, with a stack to find it by.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
trap 'rm -rf "$corpus" "$log"' EXIT
# Crashing inputs are kept in build-fuzz/artifacts/ (outside the source tree).
artifacts="$build/artifacts"
mkdir -p "$artifacts"
budget=(-max_total_time="$seconds")
if [ -n "${PARE_FUZZ_RUNS:-}" ]; then
  budget=(-runs="$PARE_FUZZ_RUNS" -seed=1)
  echo "(deterministic: $PARE_FUZZ_RUNS executions from seed 1)"
fi
if ! "$build/tests/fuzz/$target" "$corpus" "${budget[@]}" -max_len="$max_len" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "fuzz: FAILED (crash or sanitizer report above; input saved in $artifacts/)"
  exit 1
fi
grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
echo "fuzz: no crash"
