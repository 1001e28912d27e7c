#!/usr/bin/env bash
# pare's main job on an embedded default: set up, build, train pare's small
# byte-level Llama-style LM (about a minute on 2 cores), account for its
# memory on a 24 GB M4, then sweep compression recipes through the real
# stages (int8, int4 at two block sizes, 2:4 pruning + int8, and the fit
# planner at budgets between the uniform sizes) and write the
# accuracy-vs-size report, with an artifact (and manifest) per recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
out=${PARE_DEMO_DIR:-out/demo}
mkdir -p "$out"
scripts/models/make_lm.sh small
lm=${PARE_CACHE:-$HOME/.cache/pare}/models/pare-lm-small
echo
echo "== pare convert $lm/model.onnx --device m4-24gb --context 8192"
build/cli/pare convert "$lm/model.onnx" --device m4-24gb --context 8192
echo
echo "== pare sweep (fit@ budgets between the uniform recipes' sizes)"
scripts/bench/fit_lm.sh small "$out"
fit=$(ls -d "$out"/report/artifacts/fit_* | head -1)
echo
echo "== pare convert --verify $fit"
build/cli/pare convert --verify "$fit"
echo "report: $out/report/report.html (Pareto chart), $out/report/report.md; artifacts in $out/report/artifacts/"
