#!/usr/bin/env bash
# Weight-only int4 RTN of the 7.1B-parameter synthetic float16 model: see
# stream_scale.sh.   scripts/bench/int4_scale.sh [WORK_DIR]
exec "$(dirname "$0")/stream_scale.sh" quantize "${1:-/tmp/pare-int4-scale}" 34
