#!/usr/bin/env bash
# Installs onnxruntime-node (CPU only) into the cache, outside the repo.
#   PARE_CACHE (default ~/.cache/pare) / ort / node_modules
set -euo pipefail
dir=${PARE_CACHE:-$HOME/.cache/pare}/ort
if [ -d "$dir/node_modules/onnxruntime-node" ]; then
  echo "ort: onnxruntime-node $(node -p "require('$dir/node_modules/onnxruntime-node/package.json').version") cached"
  exit 0
fi
mkdir -p "$dir"
(cd "$dir" && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --silent --no-audit --no-fund onnxruntime-node >/dev/null)
echo "ort: installed onnxruntime-node into $dir"
