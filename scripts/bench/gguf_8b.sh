#!/usr/bin/env bash
# GGUF export at 8B scale: a synthetic Llama-3-8B-shaped decoder (as
# scripts/bench/fit_scale.sh's: vocabulary 128256, 32 blocks, GQA 32/8,
# SwiGLU 14336; 16.06 GB of float16 external data; with rotary tables of
# base 500000 for 8192 positions and a causal mask) exported by pare to each type
# given (default: q4_k_m q6_k). Prints wall time, peak RSS and file size,
# beside `cp` of the external data in the same run (warm cache).
#   scripts/bench/gguf_8b.sh [WORK_DIR] [TYPE ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pare=${PARE:-$root/build/cli/pare}
work=${1:-/tmp/pare-scale}
shift || true
types=("${@:-q4_k_m q6_k}")
model="$work/llama-8b-rope"
if [ ! -f "$model/model.onnx" ]; then
  /usr/bin/python3 "$root/scripts/models/make_synthetic_llama.py" "$model" --vocab 128256 \
    --layers 32 --kv-heads 8 --hidden 14336 --rope-base 500000 --context 8192 | tail -1
fi
/usr/bin/time -f "%e %M" -o "$work/cp.time" cp "$model/model.onnx.data" "$work/copy.data"
read -r ct cm < "$work/cp.time"
rm -f "$work/copy.data"
echo "cp of the external data: $ct s"
echo "type | wall s | peak RSS MB | bytes"
for t in ${types[*]}; do
  /usr/bin/time -f "%e %M" -o "$work/pare.time" "$pare" convert "$model/model.onnx" --format gguf \
    --type "$t" -o "$work/pare-$t.gguf" --placeholder-vocab --force >/dev/null
  read -r pt pm < "$work/pare.time"
  echo "$t | $pt | $((pm / 1024)) | $(stat -c %s "$work/pare-$t.gguf")"
  rm -f "$work/pare-$t.gguf"
done
