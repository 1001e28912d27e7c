#!/usr/bin/env bash
# Renders a `pare evaluate --html` report to a PNG with headless Chromium
# (Debian's `chromium` package; not needed to build or test pare).
#   scripts/report_screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
html=$(realpath "$1")
png=$(realpath -m "$2")
size=${3:-1200x1600}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report_screenshot: chromium is not installed (apt-get install chromium)" >&2
  exit 77
fi
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$png" "file://$html" >/dev/null 2>&1
test -s "$png"
echo "wrote $png"
