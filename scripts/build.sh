#!/usr/bin/env bash
# Configures and builds pare (Release) into build/. Reuses ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache reuse objects across clones in different folders (CI clones fresh).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
