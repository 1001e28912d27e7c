#!/usr/bin/env bash
# Weight-only int4 RTN of a synthetic Llama-shaped float16 model with 7.1
# billion parameters (scripts/models/make_synthetic_llama.py, 14.3 GB of
# external data): peak RSS and wall time of `pare quantize --mode weights`,
# next to the time `cp` takes to copy the same files, in the same run.
#   scripts/bench/int4_scale.sh [WORK_DIR]   (needs about 40 GB free there)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/pare-int4-scale}
mkdir -p "$work"
if [ ! -f "$work/synth/model.onnx" ]; then
  /usr/bin/python3 scripts/models/make_synthetic_llama.py "$work/synth" | tail -1
fi
rm -rf "$work/copy" "$work/q"
mkdir -p "$work/copy" "$work/q"
sync
start=$(date +%s.%N)
cp "$work/synth/model.onnx" "$work/synth/model.onnx.data" "$work/copy/"
sync
cp_seconds=$(echo "$(date +%s.%N) - $start" | bc)
rm -rf "$work/copy"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rss" build/cli/pare quantize "$work/synth/model.onnx" \
  -o "$work/q/model.int4.onnx" --mode weights --report "$work/q/report.json" 2>/dev/null | tail -2
sync
pare_seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "cp of the float16 model: ${cp_seconds} s"
echo "pare quantize --mode weights (int4 RTN, block 32): ${pare_seconds} s, peak RSS $(($(cat "$work/rss") / 1024)) MiB"
du -sh "$work/synth" "$work/q"
