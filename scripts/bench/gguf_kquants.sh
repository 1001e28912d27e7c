#!/usr/bin/env bash
# pare's K-quant GGUF export against llama.cpp's own quantizer in the same
# run: a synthetic 0.5B Llama (float16, 2048 wide, 8 blocks, GQA 16/4,
# vocab 32000), exported by pare to F16 and to each K type, and pare's F16
# file quantized by llama_model_quantize (node-llama-cpp's libllama,
# scripts/gguf/llama_quantize.py). Prints wall time and peak RSS of each,
# and whether every tensor of the two files is byte-identical.
#   scripts/bench/gguf_kquants.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pare=${PARE:-$root/build/cli/pare}
work=${1:-/tmp/pare-gguf-kquants}
mkdir -p "$work"
if [ ! -f "$work/model/model.onnx" ]; then
  /usr/bin/python3 "$root/scripts/models/make_synthetic_llama.py" "$work/model" --vocab 32000 \
    --dim 2048 --layers 8 --heads 16 --kv-heads 4 --hidden 5632 --rope-base 10000 --context 2048 \
    >/dev/null
fi
"$pare" convert "$work/model/model.onnx" --format gguf --type f16 -o "$work/f16.gguf" \
  --placeholder-vocab --force >/dev/null
echo "type | who | wall s | peak RSS MB | bytes | tensors identical"
for pair in "q4_k_m 15" "q5_k_m 17" "q6_k 18" "q3_k_m 12"; do
  set -- $pair
  /usr/bin/time -f "%e %M" -o "$work/pare.time" "$pare" convert "$work/model/model.onnx" \
    --format gguf --type "$1" -o "$work/pare-$1.gguf" --placeholder-vocab --force >/dev/null
  /usr/bin/time -f "%e %M" -o "$work/llama.time" /usr/bin/python3 \
    "$root/scripts/gguf/llama_quantize.py" "$work/f16.gguf" "$work/llama-$1.gguf" "$2" \
    >/dev/null 2>&1
  same=$(/usr/bin/python3 - "$work/pare-$1.gguf" "$work/llama-$1.gguf" "$root/tests" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
from gguf_reader import Gguf
a, b = Gguf(sys.argv[1]), Gguf(sys.argv[2])
same = sum(a.type_of(n) == b.type_of(n) and a.raw(n) == b.raw(n) for n in b.tensors)
print(f"{same}/{len(b.tensors)}")
PY
)
  read -r pt pm < "$work/pare.time"
  read -r lt lm < "$work/llama.time"
  echo "$1 | pare | $pt | $((pm / 1024)) | $(stat -c %s "$work/pare-$1.gguf") | $same"
  echo "$1 | llama.cpp | $lt | $((lm / 1024)) | $(stat -c %s "$work/llama-$1.gguf") |"
done
