#!/usr/bin/env bash
# The memory account and the fit planner at scale: a synthetic Llama-3-8B-shaped
# decoder (scripts/models/make_synthetic_llama.py: vocabulary 128256, 32 blocks,
# 32 query and 8 key/value heads, SwiGLU 14336; 8.03B parameters, 16.1 GB of
# float16) accounted on DEVICE at an 8192-token context, then made to fit by
# `pare fit` (no data: each weight's own error), verified, and accounted again.
# Prints the accounts, the plan, wall time and peak RSS.
#   scripts/bench/fit_scale.sh [DEVICE] [WORK_DIR]     # DEVICE default m4-24gb
# Needs about 35 GB free in WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
device=${1:-m4-24gb}
work=${2:-/tmp/pare-scale}
model="$work/llama-8b"
if [ ! -f "$model/model.onnx" ]; then
  /usr/bin/python3 scripts/models/make_synthetic_llama.py "$model" --vocab 128256 --layers 32 \
    --kv-heads 8 --hidden 14336 | tail -1
fi
echo "== account of the float16 model"
build/cli/pare convert "$model/model.onnx" --device "$device" --context 8192 || true
out="$work/llama-8b-$device"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/fit.rss" build/cli/pare fit "$model/model.onnx" -o "$out" \
  --device "$device" --context 8192 --force 2>/dev/null
echo "pare fit: $(echo "$(date +%s.%N) - $start" | bc) s, peak RSS $(($(cat "$work/fit.rss") / 1024)) MiB"
start=$(date +%s.%N)
build/cli/pare convert --verify "$out"
echo "pare convert --verify: $(echo "$(date +%s.%N) - $start" | bc) s"
echo "== account of the artifact"
build/cli/pare convert "$out/model.onnx" --device "$device" --context 8192
