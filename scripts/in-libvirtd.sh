#!/usr/bin/env bash
# Runs a command inside the network and mount namespaces of a private libvirtd that this script
# starts (scripts/libvirtd.sh) in a fresh directory and stops by its PID on exit, whatever happens:
# there qemu:///system is that daemon and guests on its networks are routable, as boxfest sees a
# real libvirt host. The command gets BOXFEST_TEST_LIBVIRTD_PID and BOXFEST_TEST_LIBVIRTD_DIR.
#   bash scripts/in-libvirtd.sh COMMAND [ARG ...]
# Needs root. Daemons of earlier runs that were killed before they could clean up are reaped first.
# A daemon chosen by the caller's environment (LIBVIRT_DEFAULT_URI, VIRSH_DEFAULT_CONNECT_URI: the
# system daemon, another run's, a remote host) is never used: the command runs without them, so
# qemu:///system is this daemon; the tests' global setup refuses to start if one is set anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=in-libvirtd.sh
. scripts/libvirt-harness-prep.sh
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
for v in LIBVIRT_DEFAULT_URI VIRSH_DEFAULT_CONNECT_URI; do
  if [ -n "${!v:-}" ]; then echo "in-libvirtd.sh: ignoring $v=${!v}: the command talks only to libvirtd $LIBVIRTD_PID" >&2; fi
done
nsenter -t "$LIBVIRTD_PID" -m -n --wd="$PWD" -- env -u LIBVIRT_DEFAULT_URI -u VIRSH_DEFAULT_CONNECT_URI \
  BOXFEST_TEST_LIBVIRTD_PID="$LIBVIRTD_PID" BOXFEST_TEST_LIBVIRTD_DIR="$DIR" "$@"
