#!/usr/bin/env bash
# The libvirt integration tests (vitest project `integration-libvirt`) against a private libvirtd
# this script starts (scripts/libvirtd.sh) in a fresh directory and stops by its PID on exit,
# whatever happens. vitest runs inside the daemon's network and mount namespaces, as boxfest would
# on a real libvirt host: qemu:///system is that daemon, guests on its networks are routable.
#   bash scripts/test-libvirt.sh [vitest args, e.g. test/integration/libvirt/lifecycle.integration.ts]
# Needs root. Daemons of earlier runs that were killed before they could clean up are reaped first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || {
  echo "test-libvirt.sh: needs root (a system-mode libvirtd in its own namespaces)" >&2
  exit 1
}
[ -f dist/cli.js ] || {
  echo "test-libvirt.sh: dist/ is missing: run \`npm run build\` first" >&2
  exit 1
}
bash scripts/libvirtd.sh reap
DIR=$(mktemp -d /tmp/bflv.XXXXXX)
cleanup() {
  PURGE=1 bash scripts/libvirtd.sh stop "$DIR" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)
OWNER_PID=$$ bash scripts/libvirtd.sh start "$DIR" >"$DIR.env"
. "$DIR.env"
rm -f "$DIR.env"
echo "libvirtd pid $LIBVIRTD_PID in $DIR, up in $(($(date +%s) - t0)) s" >&2
nsenter -t "$LIBVIRTD_PID" -m -n --wd="$PWD" -- env \
  BOXFEST_TEST_LIBVIRTD_PID="$LIBVIRTD_PID" BOXFEST_TEST_LIBVIRTD_DIR="$DIR" \
  npx vitest run --project integration-libvirt "$@"
