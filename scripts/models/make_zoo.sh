#!/usr/bin/env bash
# Builds the model zoo (scripts/models/zoo.py) into the cache; models whose
# build stamp is unchanged are kept. Needs pare-lm-small (make_lm.sh small)
# for the Hugging Face-style Llama that carries the trained weights.
#   -> ${PARE_CACHE:-~/.cache/pare}/models/zoo/NAME/model.onnx, zoo.json
set -euo pipefail
cd "$(dirname "$0")/../.."
models=${PARE_CACHE:-$HOME/.cache/pare}/models
/usr/bin/python3 scripts/models/zoo.py "$models/zoo" \
  --lm-weights "$models/pare-lm-small/weights.pt" 2>&1 | grep '^zoo' | tail -1
