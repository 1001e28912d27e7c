#!/usr/bin/env bash
# pare's main job on an embedded default: set up, build, make a small
# language-model-shaped ONNX model with pare's own builder, and inspect it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
out=${PARE_DEMO_DIR:-out/demo}
mkdir -p "$out"
build/tests/pare-make-model --out "$out/model.onnx" --vocab 512 --dim 128 --layers 4
echo "== pare inspect $out/model.onnx"
build/cli/pare inspect "$out/model.onnx"
