#!/usr/bin/env bash
# Pruning pare's trained byte-level Llama-style LM (scripts/models/make_lm.sh):
# magnitude, Wanda and SparseGPT at 50% unstructured and at 2:4, plus 2:4
# SparseGPT followed by GPTQ int4 (block 32), each measured by
# `pare evaluate --task lm` on held-out text against the float model
# (perplexity, KL divergence, top-1 agreement). Calibration (Wanda,
# SparseGPT, GPTQ): 32 chunks of 128 training bytes. The output head stays
# dense, as in the papers. Prints a markdown table.
#   scripts/bench/prune_lm.sh [small|base] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-base}
work=${2:-$(mktemp -d)}
scripts/models/make_lm.sh "$kind" >/dev/null
name=$([ "$kind" = small ] && echo pare-lm-small || echo pare-lm)
lm=${PARE_CACHE:-$HOME/.cache/pare}/models/$name
mkdir -p "$work"
calib=(--calib-tokens "$lm/calib.tokens" --seq-len 128 --max-calib 32)
measure() {  # label pattern model seconds
  build/cli/pare evaluate "$3" --reference "$lm/model.onnx" --task lm --tokens "$lm/heldout.tokens" \
    --seq-len 128 --quiet --json "$work/e.json" >/dev/null 2>&1 || true
  /usr/bin/python3 - "$work" "$1" "$2" "$4" <<'PY'
import json, sys
work, label, pattern, seconds = sys.argv[1:]
lm = json.load(open(f"{work}/e.json"))["candidates"][0]["lm"]
ref, cand = lm["reference_ppl"], lm["candidate_ppl"]
print(f"| {label} | {pattern} | {cand:.4f} (float {ref:.4f}) | {100 * (cand / ref - 1):+.2f}% | "
      f"{lm['kl']['mean']:.4f} | {100 * lm['top1_agreement']:.2f}% | {float(seconds):.1f} s |")
PY
}
echo "| method | pattern | perplexity | increase | mean KL | top-1 agreement | prune time |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for pattern in unstructured 2:4; do
  for method in magnitude wanda sparsegpt; do
    start=$(date +%s.%N)
    build/cli/pare prune "$lm/model.onnx" -o "$work/p.onnx" --method "$method" --pattern "$pattern" \
      --sparsity 0.5 "${calib[@]}" --report "$work/p.json" --force >/dev/null 2>&1
    measure "$method" "$pattern" "$work/p.onnx" "$(echo "$(date +%s.%N) - $start" | bc)"
  done
done
start=$(date +%s.%N)
build/cli/pare prune "$lm/model.onnx" -o "$work/s.onnx" --method sparsegpt --pattern 2:4 "${calib[@]}" \
  --force >/dev/null 2>&1
build/cli/pare quantize "$work/s.onnx" -o "$work/sq.onnx" --mode weights --algorithm gptq "${calib[@]}" \
  --force >/dev/null 2>&1
measure "sparsegpt, then gptq int4 g32" "2:4" "$work/sq.onnx" "$(echo "$(date +%s.%N) - $start" | bc)"
