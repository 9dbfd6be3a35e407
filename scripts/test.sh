#!/usr/bin/env bash
# The README's test command: installs whatever is missing (system packages, npm deps), then runs
# every test (`npm test`): unit tests, integration tests that boot real QEMU guests, and the
# VirtualBox tests, whose global setup starts a real vboxwebsrv with scripts/vboxweb.sh (needs
# root and the Debian mirror; BOXFEST_SKIP_VBOX=1 skips them, loudly), and the libvirt tests
# against a private libvirtd (scripts/test-libvirt.sh --ci; root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
npm test
