#!/usr/bin/env bash
# Accuracy of `pare quantize` on the PP-OCR models, variant by variant:
# calibrated on 32 ImageMagick text images (seed 1), measured with
# `pare evaluate` on 32 held-out ones (seed 2) and, for the final recipes, on
# 32 fresh ones (seed 4) that no choice was made on. Prints a markdown table.
# Mixed precision (--target-sqnr) validates on the held-out set and is
# reported on the fresh one.
# (For det, whose output is a one-channel probability map, the argmax column
# means nothing; read its SQNR.)
#   scripts/bench/int8_ppocr.sh [WORK_DIR]   (needs imagemagick; after build and fetch_models)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d)}
models=${PARE_CACHE:-$HOME/.cache/pare}/models/ppocr
declare -A file=([det]=ch_PP-OCRv4_det_infer [rec]=ch_PP-OCRv4_rec_infer [cls]=ch_ppocr_mobile_v2.0_cls_infer)
declare -A recipe=([det]="--smoothquant 0.7" [rec]="--smoothquant 0.3" [cls]="")
for k in det rec cls; do
  for set in calib:1 eval:2 fresh:4; do
    [ -d "$work/$k/${set%%:*}" ] || /usr/bin/python3 scripts/bench/ocr_samples.py "$k" 32 "${set##*:}" "$work/$k/${set%%:*}" >/dev/null
  done
done
measure() {  # kind label data quantize-options...
  local k=$1 label=$2 data=$3; shift 3
  rm -f "$work/$k/q.json"
  build/cli/pare quantize "$models/${file[$k]}.onnx" -o "$work/$k/q.onnx" --calib "$work/$k/calib" --force \
    --report "$work/$k/q.json" "$@" >/dev/null 2>&1
  build/cli/pare evaluate "$work/$k/q.onnx" --reference "$models/${file[$k]}.onnx" --data "$work/$k/$data" \
    --task classify --quiet --json "$work/$k/e.json" 2>/dev/null || true
  /usr/bin/python3 -c "
import json, sys
j = json.load(open('$work/$k/e.json')); c = j['candidates'][0]; o = c['outputs'][0]
q = json.load(open('$work/$k/q.json')); n = len(q['quantized_nodes'])
wide = len(q['mixed_precision']['promoted']) if 'mixed_precision' in q else (n if '16' in '$*' else 0)
print('| %s | %s | %s | %.1f dB | %.2f%% | %d of %d | %.2f MiB |' % ('$k', '$label', '$data', o['error']['sqnr_db'],
      100 * o['classification']['top1_agreement'], n - wide, n, c['size']['file_bytes'] / 2**20))"
}
echo "| model | variant | inputs | output SQNR | argmax agreement | layers with 8-bit activations | file |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for k in det rec cls; do
  measure "$k" "minmax" eval
  measure "$k" "mse" eval --method mse
  measure "$k" "entropy" eval --method entropy
  measure "$k" "percentile 99.999" eval --method percentile
  measure "$k" "smoothquant 0.5" eval --smoothquant 0.5
  measure "$k" "bias correction" eval --bias-correction
  measure "$k" "qoperator" eval --format qoperator
  measure "$k" "A16W8" eval --activation-type uint16
  measure "$k" "A16W8 + bias correction" eval --activation-type uint16 --bias-correction
  if [ -n "${recipe[$k]}" ]; then
    measure "$k" "A16W8 + bias correction ${recipe[$k]}" eval --activation-type uint16 --bias-correction ${recipe[$k]}
  fi
  measure "$k" "A16W8 + bias correction ${recipe[$k]}" fresh --activation-type uint16 --bias-correction ${recipe[$k]}
  # Mixed precision: the fewest layers promoted to 16-bit activations for
  # 28 dB on the held-out set, reported on the fresh one.
  measure "$k" "mixed, --target-sqnr 28 on eval, bias correction ${recipe[$k]}" fresh \
    --bias-correction ${recipe[$k]} --target-sqnr 28 --validate "$work/$k/eval"
done
