#!/usr/bin/env bash
# The README's test command: installs whatever is missing (system packages, npm deps), then runs
# every test: unit tests and integration tests that boot real QEMU guests (`npm test`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
npm test
