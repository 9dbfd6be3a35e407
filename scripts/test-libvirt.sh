#!/usr/bin/env bash
# The libvirt integration tests (vitest project `integration-libvirt`) against a private libvirtd
# started for this run and stopped by its PID on exit (scripts/in-libvirtd.sh): vitest runs inside
# the daemon's network and mount namespaces, as boxfest would on a real libvirt host.
#   bash scripts/test-libvirt.sh [vitest args, e.g. test/integration/libvirt/lifecycle.integration.ts]
#   bash scripts/test-libvirt.sh --ci   the files `npm test` (and so CI) runs, within its 5 min budget
# --ci leaves out the long scenarios, whose QEMU versions CI runs: the three-machine network
# (networks, ≈5 min), the kill after every step (crash, ≈4–5 min) and suspend/snapshots
# (suspend-snapshot, 70–82 s: the set takes 5m04 without it, measured 2026-12-04), and the same on
# the remote path (remote-snapshots, 86 s); `npm run test:libvirt` runs all. cloud-init is in it: ONE
# Debian machine booted twice (≈140 s alone, started first by test/heaviest-first.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --ci ]; then
  shift
  set -- test/integration/libvirt/{lifecycle,ownership,drift,provision-sync,box-versions,live-shares,box-volume,remote,remote-lifecycle,cloud-init}.integration.ts "$@"
fi
exec bash scripts/in-libvirtd.sh npx vitest run --project integration-libvirt "$@"
