#!/usr/bin/env bash
# Trains pare's own Llama-style byte-level language models into the cache
# (scripts/models/train_lm.py, Debian's python3-torch, text of Debian's
# fortunes package) unless they are cached already from the same script and
# settings.
#   scripts/models/make_lm.sh small   # tests: 2 layers, dim 128, 400 steps (about a minute)
#   scripts/models/make_lm.sh base    # benchmarks: 4 layers, dim 256, 3.1M parameters, 1200 steps (about 25 min on 2 cores)
# -> ${PARE_CACHE:-~/.cache/pare}/models/pare-lm-small or pare-lm/
#    {model.onnx, heldout.tokens, calib.tokens, train.json}
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-small}
case "$kind" in
  small) name=pare-lm-small; args=(--dim 128 --layers 2 --heads 4 --kv-heads 2 --hidden 352 --steps 400) ;;
  base) name=pare-lm; args=(--steps 1200) ;;
  *) echo "usage: $0 small|base" >&2; exit 2 ;;
esac
dest=${PARE_CACHE:-$HOME/.cache/pare}/models/$name
stamp=$( (cat scripts/models/train_lm.py; echo "${args[*]}") | sha256sum | cut -c1-16)
if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$stamp" ] && [ -f "$dest/model.onnx" ]; then
  echo "models: $name cached in $dest"
  exit 0
fi
echo "models: training $name (${args[*]}) into $dest"
work="$dest.tmp"
rm -rf "$work"
/usr/bin/python3 scripts/models/train_lm.py "$work" "${args[@]}" | tail -3
rm -rf "$dest"
mv "$work" "$dest"
echo "$stamp" >"$dest/.version"
