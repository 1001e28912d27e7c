#!/usr/bin/env bash
# Peak resident memory and time of opening a large external-data model:
# `pare inspect` vs python3-onnx (metadata only) vs ONNX Runtime session
# creation, in the same run on the same file. Results: docs/benchmarks.md.
#   scripts/bench/inspect_rss.sh [LAYERS] [DIM]   (default 8 4096: ~5.1 GiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
layers=${1:-8}
dim=${2:-4096}
dir=${PARE_BENCH_DIR:-/tmp/pare-bench}
ort_dir=${PARE_CACHE:-$HOME/.cache/pare}/ort
scripts/build.sh >/dev/null
mkdir -p "$dir"
model="$dir/lm-$layers-$dim.onnx"
if [ ! -f "$model" ]; then
  echo "generating $model (random weights)"
  build/tests/pare-make-model --out "$model" --vocab 32000 --dim "$dim" --layers "$layers"
fi
if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --silent onnxruntime-node)
fi
echo "model: $model.data $(du -h --apparent-size "$model.data" | cut -f1)"
measure() {  # label, command...
  local label=$1
  shift
  /usr/bin/time -f "%M %e" -o "$dir/time.txt" "$@" >/dev/null
  read -r kib secs <"$dir/time.txt"
  printf "%-34s peak RSS %8.1f MiB  %6.2f s\n" "$label" "$(echo "$kib/1024" | bc -l)" "$secs"
}
measure "pare inspect" build/cli/pare inspect "$model"
measure "pare inspect --json" build/cli/pare inspect --json "$model"
measure "python3-onnx load (no ext. data)" /usr/bin/python3 -c \
  "import onnx,sys; onnx.load(sys.argv[1], load_external_data=False)" "$model"
measure "pare load + save (streaming copy)" build/tests/pare-resave "$model" "$dir/copy.onnx"
rm -f "$dir/copy.onnx" "$dir/copy.onnx.data"
measure "onnxruntime-node session create" env NODE_PATH="$ort_dir/node_modules" \
  node scripts/bench/ort_load.js "$model"
