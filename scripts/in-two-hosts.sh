#!/usr/bin/env bash
# Runs a command as a laptop does against two remote libvirt hosts on one LAN (#16's harness):
# two private libvirtds (scripts/libvirtd.sh), each in its own network and mount namespaces with
# its own sshd, and a third network namespace, the laptop's, holding the LAN: a bridge `lan`
# (10.77.0.0/24) with one veth to each host (host A 10.77.0.1, host B 10.77.0.2) and the laptop
# itself on 10.77.0.100. The command runs in the laptop's network namespace and the machine's own
# mount namespace: no libvirt socket, no guest network is reachable from there except through
# the hosts' sshd, as from a real laptop. Hosts reach each other over the LAN only (VXLAN, UDP
# 4789). Everything is stopped by PID and removed on exit, whatever happens.
#   bash scripts/in-two-hosts.sh COMMAND [ARG ...]
# The command gets BOXFEST_TEST_HOST_{A,B}_{URI,DIR,ADDRESS} and BOXFEST_TEST_LAPTOP_NETNS.
# The laptop logs in to host A as root and to host B as `ops`, a non-root user in group libvirt
# with passwordless sudo, as on a real host (libvirtd.sh's SSH_USER): B's URI is
# qemu+ssh://ops@..., and what boxfest runs on B as root (its VXLAN link, serial log) goes
# through `sudo -n`. The one test covers both logins. ops may sudo only the commands the README
# asks for (`ip`, `bridge`, `tail`; SSH_SUDO), wherever this machine has them: the least a real
# host grants, so NOPASSWD: ALL works as well.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=in-two-hosts.sh
. scripts/libvirt-harness-prep.sh
A=$(mktemp -d /tmp/bflv.XXXXXX)
B=$(mktemp -d /tmp/bflv.XXXXXX)
LAPTOP=$(mktemp -d /tmp/bflaptop.XXXXXX)
cleanup() {
  PURGE=1 bash scripts/libvirtd.sh stop "$A" || true
  PURGE=1 bash scripts/libvirtd.sh stop "$B" || true
  if [ "$(stat -f -c %T "$LAPTOP/netns" 2>/dev/null)" = nsfs ]; then
    umount "$LAPTOP/netns" || true
  fi
  rm -rf "$LAPTOP" "$A.env" "$B.env"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

touch "$LAPTOP/netns"
unshare --net="$LAPTOP/netns" true
lap="nsenter --net=$LAPTOP/netns --"
$lap ip link set lo up
$lap ip link add lan type bridge
$lap ip addr add 10.77.0.100/24 dev lan
$lap ip link set lan up

t0=$(date +%s)
host() { # host DIR ADDRESS NAME USER: a daemon whose sshd listens on ADDRESS for USER, its veth on the LAN
  local d=$1 addr=$2 name=$3 user=$4
  OWNER_PID=$$ SSHD=0 bash scripts/libvirtd.sh start "$d" >/dev/null
  # The host's end stays in its namespace as `uplink`; the LAN's end goes to the laptop's bridge.
  nsenter --net="$d/netns" -- ip link add uplink type veth peer name "lan-$name"
  nsenter --net="$d/netns" -- ip link set "lan-$name" netns "$LAPTOP/netns"
  nsenter --net="$d/netns" -- ip addr add "$addr/24" dev uplink
  nsenter --net="$d/netns" -- ip link set uplink up
  $lap ip link set "lan-$name" master lan up
  OWNER_PID=$$ SSHD_BIND=$addr SSH_USER=$user bash scripts/libvirtd.sh sshd "$d" >"$d.env"
}
SSH_SUDO=$(for c in ip bridge tail; do for p in /usr/sbin /usr/bin /sbin /bin; do
  [ -x "$p/$c" ] && echo "$p/$c"; done; done | paste -sd, | sed 's/,/, /g')
export SSH_SUDO
host "$A" 10.77.0.1 a root &
pa=$!
host "$B" 10.77.0.2 b ops &
pb=$!
wait "$pa"
wait "$pb"
uri() { sed -n "s/^LIBVIRTD_REMOTE_URI='\(.*\)'$/\1/p" "$1.env"; }
echo "two hosts up in $(($(date +%s) - t0)) s: A $A, B $B, laptop netns $LAPTOP/netns" >&2
$lap env -u LIBVIRT_DEFAULT_URI -u VIRSH_DEFAULT_CONNECT_URI \
  BOXFEST_TEST_HOST_A_URI="$(uri "$A")" BOXFEST_TEST_HOST_A_DIR="$A" BOXFEST_TEST_HOST_A_ADDRESS=10.77.0.1 \
  BOXFEST_TEST_HOST_B_URI="$(uri "$B")" BOXFEST_TEST_HOST_B_DIR="$B" BOXFEST_TEST_HOST_B_ADDRESS=10.77.0.2 \
  BOXFEST_TEST_LAPTOP_NETNS="$LAPTOP/netns" "$@"
