#!/usr/bin/env bash
# Streaming at scale: a synthetic Llama-shaped float16 model
# (scripts/models/make_synthetic_llama.py; 34 blocks = 7.1 billion
# parameters, 14.3 GB of external data) run through one stage, with peak RSS
# and wall time next to the time `cp` takes to copy the same files, in the
# same run.
#   scripts/bench/stream_scale.sh quantize|prune [WORK_DIR] [BLOCKS]
# quantize: weight-only int4 RTN, block 32. prune: magnitude 2:4.
# Needs about 3x the model's size free in WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=${1:?usage: $0 quantize|prune [WORK_DIR] [BLOCKS]}
work=${2:-/tmp/pare-scale}
blocks=${3:-34}
synth="$work/synth-$blocks"
mkdir -p "$work"
if [ ! -f "$synth/model.onnx" ]; then
  /usr/bin/python3 scripts/models/make_synthetic_llama.py "$synth" --layers "$blocks" | tail -1
fi
rm -rf "$work/copy" "$work/out"
mkdir -p "$work/copy" "$work/out"
sync
start=$(date +%s.%N)
cp "$synth/model.onnx" "$synth/model.onnx.data" "$work/copy/"
sync
cp_seconds=$(echo "$(date +%s.%N) - $start" | bc)
rm -rf "$work/copy"
case "$stage" in
  quantize) command=(quantize --mode weights) what="pare quantize --mode weights (int4 RTN, block 32)" ;;
  prune) command=(prune --pattern 2:4) what="pare prune --pattern 2:4 (magnitude)" ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
esac
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rss" build/cli/pare "${command[@]}" "$synth/model.onnx" \
  -o "$work/out/model.onnx" --report "$work/out/report.json" 2>/dev/null | tail -2
sync
pare_seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "cp of the float16 model: ${cp_seconds} s"
echo "$what: ${pare_seconds} s, peak RSS $(($(cat "$work/rss") / 1024)) MiB"
du -sh "$synth" "$work/out"
