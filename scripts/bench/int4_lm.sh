#!/usr/bin/env bash
# Weight-only int4 on pare's trained byte-level Llama-style LM
# (scripts/models/make_lm.sh): RTN, HQQ, GPTQ and AWQ at block 32 and 128,
# each measured by `pare evaluate --task lm` on held-out text against the
# float model (perplexity, KL divergence, top-1 agreement). Calibration (GPTQ,
# AWQ): 32 chunks of 128 training bytes. Prints a markdown table.
#   scripts/bench/int4_lm.sh [small|base] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-base}
work=${2:-$(mktemp -d)}
scripts/models/make_lm.sh "$kind" >/dev/null
name=$([ "$kind" = small ] && echo pare-lm-small || echo pare-lm)
lm=${PARE_CACHE:-$HOME/.cache/pare}/models/$name
mkdir -p "$work"
echo "| block | algorithm | bits/weight | perplexity | increase | mean KL | p99 KL | top-1 agreement | quantize |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for block in 32 128; do
  for algo in rtn hqq gptq awq; do
    start=$(date +%s.%N)
    build/cli/pare quantize "$lm/model.onnx" -o "$work/q.onnx" --mode weights --algorithm "$algo" \
      --block-size "$block" --calib-tokens "$lm/calib.tokens" --seq-len 128 --max-calib 32 \
      --report "$work/q.json" --force >/dev/null 2>&1
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    build/cli/pare evaluate "$work/q.onnx" --reference "$lm/model.onnx" --task lm \
      --tokens "$lm/heldout.tokens" --seq-len 128 --quiet --json "$work/e.json" >/dev/null 2>&1 || true
    /usr/bin/python3 - "$work" "$block" "$algo" "$seconds" <<'PY'
import json, sys
work, block, algo, seconds = sys.argv[1:]
q = json.load(open(f"{work}/q.json")); e = json.load(open(f"{work}/e.json"))
lm = e["candidates"][0]["lm"]
ref, cand = lm["reference_ppl"], lm["candidate_ppl"]
print(f"| {block} | {algo} | {q['bits_per_weight']:.2f} | {cand:.4f} (float {ref:.4f}) | "
      f"{100 * (cand / ref - 1):+.2f}% | {lm['kl']['mean']:.5f} | {lm['kl']['p99']:.4f} | "
      f"{100 * lm['top1_agreement']:.2f}% | {float(seconds):.1f} s |")
PY
  done
done
