#!/usr/bin/env bash
# pare's main job on an embedded default: set up, build, make a small
# language-model-shaped ONNX model with pare's own builder (float, and the
# same weights as 4-bit MatMulNBits), inspect it, and measure what the 4-bit
# version loses and where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
out=${PARE_DEMO_DIR:-out/demo}
mkdir -p "$out"
args=(--kind transformer --vocab 512 --dim 128 --layers 4 --heads 4)
build/tests/pare-make-model --out "$out/model.onnx" "${args[@]}"
build/tests/pare-make-model --out "$out/model.int4.onnx" "${args[@]}" --int4-block 32
echo "== pare inspect $out/model.int4.onnx"
build/cli/pare inspect "$out/model.int4.onnx"
echo
echo "== pare evaluate $out/model.int4.onnx --reference $out/model.onnx"
build/cli/pare evaluate "$out/model.int4.onnx" --reference "$out/model.onnx" \
  --random 8 --dim N=1 --dim d1=32 --per-layer --top-layers 5 \
  --html "$out/report.html" --json "$out/report.json"
echo "reports: $out/report.html, $out/report.json"
