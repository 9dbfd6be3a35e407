#!/usr/bin/env bash
# Re-records the SOAP envelopes that the VirtualBox adapter unit tests replay
# (test/fixtures/vbox/7_2/) from a real vboxwebsrv started by scripts/vboxweb.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
BOXFEST_RECORD_VBOX_FIXTURES=1 npx vitest run --project integration-vbox test/integration/vbox/fixtures.integration.ts
git status --short test/fixtures/vbox
