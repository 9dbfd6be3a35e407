#!/usr/bin/env bash
# The libvirt integration tests (vitest project `integration-libvirt`) against a private libvirtd
# started for this run and stopped by its PID on exit (scripts/in-libvirtd.sh): vitest runs inside
# the daemon's network and mount namespaces, as boxfest would on a real libvirt host.
#   bash scripts/test-libvirt.sh [vitest args, e.g. test/integration/libvirt/lifecycle.integration.ts]
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/in-libvirtd.sh npx vitest run --project integration-libvirt "$@"
