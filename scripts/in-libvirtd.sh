#!/usr/bin/env bash
# Runs a command inside the network and mount namespaces of a private libvirtd that this script
# starts (scripts/libvirtd.sh) in a fresh directory and stops by its PID on exit, whatever happens:
# there qemu:///system is that daemon and guests on its networks are routable, as boxfest sees a
# real libvirt host. The command gets BOXFEST_TEST_LIBVIRTD_PID and BOXFEST_TEST_LIBVIRTD_DIR.
#   bash scripts/in-libvirtd.sh COMMAND [ARG ...]
# Needs root. Daemons of earlier runs that were killed before they could clean up are reaped first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || {
  echo "in-libvirtd.sh: needs root (a system-mode libvirtd in its own namespaces)" >&2
  exit 1
}
[ -f dist/cli.js ] || {
  echo "in-libvirtd.sh: dist/ is missing: run \`npm run build\` first" >&2
  exit 1
}
bash scripts/libvirtd.sh reap
# The tiny test box is built (or found cached) out here: inside the daemon's network namespace the
# Debian mirror it is built from cannot be reached.
bash test/fixtures/build-tiny-box.sh "${BOXFEST_TEST_BOX_DIR:-$PWD/.cache/tiny-box}" >/dev/null
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
  BOXFEST_TEST_LIBVIRTD_PID="$LIBVIRTD_PID" BOXFEST_TEST_LIBVIRTD_DIR="$DIR" "$@"
