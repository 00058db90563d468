#!/usr/bin/env bash
# The browser tests: builds web/dist (web/build.sh), installs the test tools from npm
# (playwright-core, pngjs; no browser download), and drives Debian's Chromium headless on
# SwiftShader's WebGPU. Needs `apt-get install chromium` (or STEPWISE_CHROMIUM=/path/to/chromium).
set -euo pipefail
cd "$(dirname "$0")"

chromium="${STEPWISE_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "error: no Chromium at $chromium: apt-get install chromium, or set STEPWISE_CHROMIUM" >&2
  exit 1
fi

./build.sh
npm ci --no-audit --no-fund --silent
npm test
