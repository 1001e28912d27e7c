#!/usr/bin/env bash
# The fit planner against uniform recipes on pare's trained byte-level LM
# (scripts/models/make_lm.sh): `pare sweep` builds every recipe through the
# real stages and measures KL divergence and perplexity on held-out text
# against the float model. fit@ budgets are set to the weight bytes of the
# uniform recipes, so each planner artifact is compared with a uniform one
# of equal or larger size. Sensitivity: 8 chunks of 128 calibration bytes.
# Prints the sweep's Markdown table; the HTML report is in WORK_DIR/report.
#   scripts/bench/fit_lm.sh [small|base] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-base}
work=${2:-$(mktemp -d)}
scripts/models/make_lm.sh "$kind" >/dev/null
name=$([ "$kind" = small ] && echo pare-lm-small || echo pare-lm)
lm=${PARE_CACHE:-$HOME/.cache/pare}/models/$name
data=(--calib-tokens "$lm/calib.tokens" --calib-samples 8 --eval-tokens "$lm/heldout.tokens"
      --eval-samples 32 --seq-len 128)
# Uniform recipes first, to learn their sizes.
build/cli/pare sweep "$lm/model.onnx" -o "$work/report" --recipes int8,int4-g32,int4-g128,2:4+int8 \
  "${data[@]}" >/dev/null 2>&1
sizes=$(/usr/bin/python3 - "$work/report/results.json" <<'PY'
import json, sys
r = {x["recipe"]: x["weight_bytes"] for x in json.load(open(sys.argv[1]))}
low = (r["int4-g128"] + r["int4-g32"]) // 2
high = (r["int8"] + r["int4-g32"]) // 2
print(",".join(f"fit@{b}B" for b in (r["int4-g128"], low, r["int4-g32"], high)))
PY
)
build/cli/pare sweep "$lm/model.onnx" -o "$work/report" \
  --recipes "int8,int4-g32,int4-g128,2:4+int8,$sizes" "${data[@]}" 2>/dev/null
