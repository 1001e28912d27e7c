#!/usr/bin/env bash
# Installs node-llama-cpp (llama.cpp for Node.js) with only this machine's
# prebuilt CPU binary into the cache, outside the repo: the reference client
# that checks pare's GGUF exports. Never a dependency of pare itself.
#   PARE_CACHE (default ~/.cache/pare) / llama / node_modules
set -euo pipefail
version=3.22.1
dir=${PARE_CACHE:-$HOME/.cache/pare}/llama
if [ -d "$dir/node_modules/node-llama-cpp" ] &&
   [ "$(node -p "require('$dir/node_modules/node-llama-cpp/package.json').version")" = "$version" ]; then
  echo "llama: node-llama-cpp $version cached"
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) binary=linux-x64 ;;
  Linux-aarch64) binary=linux-arm64 ;;
  Darwin-arm64) binary=mac-arm64-metal ;;
  Darwin-x86_64) binary=mac-x64 ;;
  *) echo "llama: no prebuilt node-llama-cpp binary for $(uname -sm)" >&2; exit 0 ;;
esac
mkdir -p "$dir"
# The other platforms' binaries (CUDA, Vulkan: hundreds of MB) are optional
# dependencies: leave them out, and add this platform's by name.
(cd "$dir" && npm install --silent --no-audit --no-fund --omit=optional --ignore-scripts \
   "node-llama-cpp@$version" "@node-llama-cpp/$binary@$version" >/dev/null)
echo "llama: installed node-llama-cpp $version ($binary) into $dir"
