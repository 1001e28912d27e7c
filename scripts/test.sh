#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: install packages,
# fetch test models, train the small test language model, build the model
# zoo, build, run every ctest test (the zoo matrix included), then fuzz the
# loader (for a time), the runtime and the quantize and prune stages (each a
# fixed, seeded number of executions, so the outcome does not depend on the
# machine's speed).
#   scripts/test.sh   (defaults: PARE_FUZZ_SECONDS=60, PARE_RUN_FUZZ_RUNS=300000,
#                      PARE_STAGES_FUZZ_RUNS=20000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch_models.sh
scripts/models/make_lm.sh small
scripts/models/make_zoo.sh
scripts/ort/fetch.sh
scripts/gguf/fetch.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)")
scripts/fuzz.sh "${PARE_FUZZ_SECONDS:-60}"
PARE_FUZZ_RUNS="${PARE_RUN_FUZZ_RUNS:-300000}" scripts/fuzz.sh 0 run_model_fuzzer
PARE_FUZZ_RUNS="${PARE_STAGES_FUZZ_RUNS:-20000}" scripts/fuzz.sh 0 stages_fuzzer
