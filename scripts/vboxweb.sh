#!/usr/bin/env bash
# A real VirtualBox web service (vboxwebsrv, SOAP) for boxfest's VirtualBox tests and benches.
#
#   scripts/vboxweb.sh setup   build (once) and start; prints KEY=VALUE lines (url, share, root, started)
#   scripts/vboxweb.sh stop    stop vboxwebsrv, let VBoxSVC exit by itself, unmount
#   scripts/vboxweb.sh check   exit 0 when the prerequisites (root, debootstrap or apt, mirror) are met
#   scripts/vboxweb.sh remote  (after setup) a second vboxwebsrv of the same VirtualBox, as another
#                              host would serve it: in a network namespace of its own at 10.78.0.2,
#                              reached over a veth pair from 10.78.0.1, with TLS (a self-signed
#                              certificate for that address, made here); prints its URL and the
#                              certificate to trust (BOXFEST_VBOX_CA); with
#                              BOXFEST_VBOXWEB_REMOTE_USER/_PASSWORD it checks credentials
#                              (VBoxAuthSimple) while the first server keeps `null` (below)
#   scripts/vboxweb.sh remote-stop   stop it by PID, remove its namespace and veth pair
#
# VirtualBox is not in Debian 12; Debian sid's contrib has 7.2.x, so it runs in a debootstrap chroot
# under /srv/boxfest-vboxweb/<hash of the chroot recipe> (reused when present, ~1 min to build).
# There is no kernel driver: everything but launching VMs and creating host-only interfaces works.
# The share directory is bind-mounted at the same path inside the chroot, so media paths that the
# client sends are valid on the server: put BOXFEST_HOME and projects under it.
# The server listens on a free port chosen at start (printed in BOXFEST_VBOX_URL), and is used only
# once it is proven to be the one this script started: the listener on that port is its PID, whose
# executable and root are this chroot's. Whatever else listens anywhere (a user's own vboxwebsrv on
# 18083) is never talked to.
# Environment: BOXFEST_VBOXWEB_PORT (default: a free one; if set and taken, setup fails),
# BOXFEST_VBOXWEB_SHARE (/tmp/boxfest-vboxweb-share), BOXFEST_VBOXWEB_MIRROR (default: the host's
# apt mirror).
set -euo pipefail

SUITE=sid
# Changing the recipe changes the hash, hence a fresh chroot; the old one can be deleted by hand.
RECIPE="suite=$SUITE components=main,contrib variant=minbase packages=virtualbox dummy=virtualbox-modules v1"
HASH=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
BASE=/srv/boxfest-vboxweb
ROOT=$BASE/$HASH
STATE=$BASE/$HASH.state # pid and logs: outside the chroot, next to it
PORT=""
SHARE=${BOXFEST_VBOXWEB_SHARE:-/tmp/boxfest-vboxweb-share}
WEBSRV=/usr/lib/virtualbox/vboxwebsrv

log() { echo "vboxweb: $*" >&2; }
die() {
  echo "vboxweb: error: $*" >&2
  exit 1
}

mirror() {
  if [ -n "${BOXFEST_VBOXWEB_MIRROR:-}" ]; then
    echo "$BOXFEST_VBOXWEB_MIRROR"
    return
  fi
  # The host's own Debian mirror (first non-security URI), so no hostname is hard-coded.
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -z "$m" ] && [ -f /etc/apt/sources.list ] &&
    m=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  echo "${m:-http://deb.debian.org/debian}"
}

check() {
  [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and bind mounts); run as root or set BOXFEST_SKIP_VBOX=1 to skip the VirtualBox tests"
  command -v apt-get >/dev/null || command -v debootstrap >/dev/null ||
    die "needs debootstrap (Debian/Ubuntu: apt-get install debootstrap), or set BOXFEST_SKIP_VBOX=1"
}

in_chroot() { chroot "$ROOT" env HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

build_chroot() {
  [ -e "$ROOT/.boxfest-ready" ] && return 0
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mkdir -p "$BASE" "$STATE"
  # A half-built chroot (interrupted run) is discarded: nothing in it is worth keeping.
  if [ -d "$ROOT" ] && [ ! -e "$ROOT/.boxfest-bootstrapped" ]; then
    unmount_all
    rm -rf --one-file-system "$ROOT"
  fi
  if [ ! -e "$ROOT/.boxfest-bootstrapped" ]; then
    log "debootstrap $SUITE into $ROOT (about a minute)"
    debootstrap --variant=minbase --components=main,contrib "$SUITE" "$ROOT" "$(mirror)" >"$STATE/debootstrap.log" 2>&1 ||
      die "debootstrap failed, see $STATE/debootstrap.log"
    touch "$ROOT/.boxfest-bootstrapped"
  fi
  # The mirror's sid may be a frozen snapshot past Valid-Until; recommends would pull the Qt GUI.
  printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' >"$ROOT/etc/apt/apt.conf.d/99boxfest"
  # No services start inside the chroot on install.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod +x "$ROOT/usr/sbin/policy-rc.d"
  mount_all
  log "installing virtualbox in the chroot"
  in_chroot apt-get update -qq >"$STATE/apt.log" 2>&1 || die "apt-get update in the chroot failed, see $STATE/apt.log"
  # virtualbox depends on a kernel-module package; there is no kernel driver here anyway, so a dummy
  # package providing `virtualbox-modules` satisfies it (virtualbox-dkms would need gcc + headers).
  local dummy=$ROOT/root/boxfest-dummy
  rm -rf "$dummy"
  mkdir -p "$dummy/DEBIAN"
  cat >"$dummy/DEBIAN/control" <<'EOF'
Package: boxfest-virtualbox-modules-dummy
Version: 1.0
Architecture: all
Maintainer: boxfest <root@localhost>
Provides: virtualbox-modules
Description: satisfies virtualbox's kernel-module dependency (no /dev/vboxdrv in this chroot)
EOF
  in_chroot dpkg-deb --build /root/boxfest-dummy /root/boxfest-dummy.deb >/dev/null
  in_chroot dpkg -i /root/boxfest-dummy.deb >/dev/null
  in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtualbox >>"$STATE/apt.log" 2>&1 ||
    die "installing virtualbox in the chroot failed, see $STATE/apt.log"
  in_chroot apt-get clean
  touch "$ROOT/.boxfest-ready"
}

mount_one() { # source, target inside the chroot, mount options...
  local target=$ROOT$2
  mountpoint -q "$target" && return 0
  mkdir -p "$target"
  mount "${@:3}" "$1" "$target"
}

mount_all() {
  mkdir -p "$SHARE"
  mount_one proc /proc -t proc
  mount_one /sys /sys --bind
  mount_one /dev /dev --bind
  mount_one /dev/pts /dev/pts --bind
  mount_one "$SHARE" "$SHARE" --bind
}

unmount_all() {
  local m
  for m in "$SHARE" /dev/pts /dev /sys /proc; do
    if mountpoint -q "$ROOT$m" 2>/dev/null; then umount "$ROOT$m"; fi
  done
}

is_ours() { # pid: true when it is this chroot's vboxwebsrv (its executable and its root)
  [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$ROOT$WEBSRV" ] &&
    [ "$(readlink "/proc/$1/root" 2>/dev/null)" = "$ROOT" ]
}

websrv_pid() { # prints the recorded pid when it is really our vboxwebsrv
  local pid
  pid=$(cat "$STATE/vboxwebsrv.pid" 2>/dev/null) || return 1
  is_ours "$pid" && echo "$pid"
}

listeners() { # port: the PIDs of the processes listening on it (TCP, any address), one per line
  ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
  return 0
}

port_taken() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

free_port() { # a TCP port nothing listens on, away from well-known ones
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    port_taken "$p" || {
      echo "$p"
      return 0
    }
  done
  die "found no free port"
}

serves_only() { # pid port: true when pid, and nothing else, listens on the port
  [ "$(listeners "$2")" = "$1" ]
}

start() {
  local pid
  command -v ss >/dev/null || die "needs ss (apt-get install iproute2) to prove which process listens on the port"
  if pid=$(websrv_pid) && PORT=$(cat "$STATE/vboxwebsrv.port" 2>/dev/null) && serves_only "$pid" "$PORT"; then
    log "vboxwebsrv already running (pid $pid, port $PORT)"
    STARTED=0
    return 0
  fi
  if [ -n "${BOXFEST_VBOXWEB_PORT:-}" ]; then
    PORT=$BOXFEST_VBOXWEB_PORT
    port_taken "$PORT" && die "port $PORT is taken (by pid $(listeners "$PORT" | tr '\n' ' ')); this script starts its own server and never uses another; unset BOXFEST_VBOXWEB_PORT to take a free port"
  else
    PORT=$(free_port)
  fi
  STARTED=1
  # Null authentication: every logon succeeds. Fine on 127.0.0.1 for tests; see the README for PAM.
  in_chroot VBoxManage setproperty websrvauthlibrary null >/dev/null 2>&1 ||
    die "VBoxManage setproperty websrvauthlibrary null failed"
  # -t 0: no websession timeout (boxfest logs off itself); bound to loopback only.
  setsid chroot "$ROOT" env HOME=/root LANG=C.UTF-8 "$WEBSRV" --host 127.0.0.1 --port "$PORT" --timeout 0 \
    >"$STATE/vboxwebsrv.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/vboxwebsrv.pid"
  echo "$PORT" >"$STATE/vboxwebsrv.port"
  local i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || die "vboxwebsrv exited: $(tail -5 "$STATE/vboxwebsrv.log")"
    # Ours, alone on the port, and answering: only then is its URL handed out.
    if serves_only "$pid" "$PORT"; then
      is_ours "$pid" || die "pid $pid is not this chroot's vboxwebsrv"
      curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/" && return 0
    elif [ -n "$(listeners "$PORT" | grep -vx "$pid")" ]; then
      die "another process (pid $(listeners "$PORT" | grep -vx "$pid" | tr '\n' ' ')) listens on port $PORT; not using it"
    fi
    sleep 0.1
  done
  die "vboxwebsrv did not answer on port $PORT within 30 s"
}

# --- the "remote" server: same chroot and VBoxSVC (its IPC socket is a file in the chroot's /tmp,
# which a network namespace does not separate), its own address, port and TLS.
RNS=bfvbox-$HASH # network namespace (ip netns): a name of this chroot's
RVETH=bfvbox-${HASH:0:6}
RHOST_IP=10.78.0.1
RIP=10.78.0.2
RTLS=/etc/boxfest-remote-tls # inside the chroot: the key and certificate vboxwebsrv reads

remote_pid() { # the recorded pid when it is our chroot's vboxwebsrv in our namespace
  local pid
  pid=$(cat "$STATE/remote.pid" 2>/dev/null) || return 1
  is_ours "$pid" || return 1
  [ "$(readlink "/proc/$pid/ns/net")" = "$(stat -L -c 'net:[%i]' "/run/netns/$RNS" 2>/dev/null)" ] || return 1
  echo "$pid"
}

# One SOAP call with curl: `logon URL USER PASSWORD [CURL ARGS]` prints the IVirtualBox reference
# (empty when refused); `logoff URL REF [CURL ARGS]` ends that websession.
soap() { # url body curl-args...
  local url=$1 body=$2
  shift 2
  curl -s -m 10 "$@" -H 'Content-Type: text/xml; charset=utf-8' --data-binary @- "$url" <<EOF_SOAP
<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:vbox="http://www.virtualbox.org/"><SOAP-ENV:Body>$body</SOAP-ENV:Body></SOAP-ENV:Envelope>
EOF_SOAP
}
xml_text() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
logon() {
  local url=$1 u p
  u=$(printf '%s' "$2" | xml_text)
  p=$(printf '%s' "$3" | xml_text)
  shift 3
  soap "$url" "<vbox:IWebsessionManager_logon><username>$u</username><password>$p</password></vbox:IWebsessionManager_logon>" "$@" |
    sed -n 's:.*<returnval>\([^<]*\)</returnval>.*:\1:p'
}
logoff() {
  local url=$1 ref=$2
  shift 2
  soap "$url" "<vbox:IWebsessionManager_logoff><refIVirtualBox>$ref</refIVirtualBox></vbox:IWebsessionManager_logoff>" "$@" >/dev/null
}

# vboxwebsrv reads the auth library property once, at its first logon, and keeps it for its life
# (a static in WebServiceSession::authenticate). So the first server logs on once now (keeping
# `null`), the property is VBoxAuthSimple while the remote server logs on for the first time, and
# `null` again after: the remote one checks credentials, the first one still lets the tests in.
remote_auth() { # url user password
  local main ref
  main="http://127.0.0.1:$(cat "$STATE/vboxwebsrv.port")/"
  ref=$(logon "$main" "" "") && [ -n "$ref" ] || die "the first server refused a logon"
  logoff "$main" "$ref"
  local hash
  hash=$(in_chroot VBoxManage internalcommands passwordhash "$3" | sed -n 's/^Password hash: //p')
  [ -n "$hash" ] || die "VBoxManage could not hash the password"
  in_chroot VBoxManage setextradata global "VBoxAuthSimple/users/$2" "$hash" >/dev/null
  in_chroot VBoxManage setproperty websrvauthlibrary VBoxAuthSimple >/dev/null
  ref=$(logon "$1" "$2" "$3" --cacert "$STATE/remote-ca.pem") || true
  in_chroot VBoxManage setproperty websrvauthlibrary null >/dev/null
  [ -n "$ref" ] || die "the remote server refused its own user (see $STATE/remote.log)"
  logoff "$1" "$ref" --cacert "$STATE/remote-ca.pem"
  [ -z "$(logon "$1" "$2" "not-$3" --cacert "$STATE/remote-ca.pem")" ] || die "the remote server let a wrong password in"
  echo "$2" >"$STATE/remote.user"
}

remote_start() {
  [ -n "$(websrv_pid)" ] || die "run \`$0 setup\` first: the remote server shares its chroot and VBoxSVC"
  remote_stop
  # Recorded before it exists: remote-stop removes the namespace and veth only when this run
  # (or an interrupted one of this chroot) made them, never an interface it finds by name alone.
  echo "$RNS $RVETH" >"$STATE/remote.net"
  ip netns add "$RNS"
  ip link add "$RVETH" type veth peer name "$RVETH-r"
  ip link set "$RVETH-r" netns "$RNS"
  ip addr add "$RHOST_IP/30" dev "$RVETH"
  ip link set "$RVETH" up
  ip -n "$RNS" addr add "$RIP/30" dev "$RVETH-r"
  ip -n "$RNS" link set "$RVETH-r" up
  ip -n "$RNS" link set lo up
  # A certificate for the server's address, self-signed (its own CA): the client trusts exactly it.
  mkdir -p "$ROOT$RTLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=boxfest test vboxwebsrv $RIP" \
    -addext "subjectAltName=IP:$RIP" -keyout "$ROOT$RTLS/key.pem" -out "$STATE/remote-ca.pem" 2>/dev/null ||
    die "openssl could not make the certificate"
  cat "$ROOT$RTLS/key.pem" "$STATE/remote-ca.pem" >"$ROOT$RTLS/server.pem"
  chmod 600 "$ROOT$RTLS/key.pem" "$ROOT$RTLS/server.pem"
  local port pid i
  port=$((20000 + RANDOM % 40000)) # the namespace is new: nothing else listens there
  setsid nsenter --net="/run/netns/$RNS" chroot "$ROOT" env HOME=/root LANG=C.UTF-8 "$WEBSRV" \
    --host "$RIP" --port "$port" --timeout 0 --ssl --keyfile "$RTLS/server.pem" \
    >"$STATE/remote.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/remote.pid"
  echo "$port" >"$STATE/remote.port"
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || die "the remote vboxwebsrv exited: $(tail -5 "$STATE/remote.log")"
    if curl -s -o /dev/null -m 2 --cacert "$STATE/remote-ca.pem" "https://$RIP:$port/"; then
      remote_pid >/dev/null || die "pid $pid is not this chroot's vboxwebsrv in $RNS"
      if [ -n "${BOXFEST_VBOXWEB_REMOTE_USER:-}" ]; then
        remote_auth "https://$RIP:$port/" "$BOXFEST_VBOXWEB_REMOTE_USER" "${BOXFEST_VBOXWEB_REMOTE_PASSWORD:?}"
      fi
      echo "BOXFEST_VBOX_REMOTE_URL=https://$RIP:$port/"
      echo "BOXFEST_VBOX_REMOTE_CA=$STATE/remote-ca.pem"
      echo "BOXFEST_VBOX_REMOTE_PID=$pid"
      return 0
    fi
    sleep 0.1
  done
  die "the remote vboxwebsrv did not answer on https://$RIP:$port/ within 30 s"
}

remote_stop() {
  local pid
  if pid=$(remote_pid); then stop_pid "$pid"; fi
  rm -f "$STATE/remote.pid" "$STATE/remote.port"
  if [ -f "$STATE/remote.user" ]; then
    in_chroot VBoxManage setextradata global "VBoxAuthSimple/users/$(cat "$STATE/remote.user")" >/dev/null 2>&1 || true
    rm -f "$STATE/remote.user"
  fi
  if [ "$(cat "$STATE/remote.net" 2>/dev/null)" = "$RNS $RVETH" ]; then
    ip link del "$RVETH" 2>/dev/null || true
    ip netns del "$RNS" 2>/dev/null || true
    rm -f "$STATE/remote.net"
  fi
  rm -rf "${ROOT:?}$RTLS"
}

chroot_pids() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(readlink "$d/root" 2>/dev/null)" = "$ROOT" ] && echo "${d#/proc/}"
  done
  return 0
}

stop_pid() { # pid: TERM, then KILL after 10 s
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p"
  for i in $(seq 1 100); do
    kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $p still alive after 10 s: SIGKILL"
  kill -KILL "$p" 2>/dev/null || true
}

stop() {
  [ -d "$ROOT" ] || return 0
  local pid p i
  # vboxwebsrv first: stopping VBoxSVC while a client is connected hangs.
  remote_stop
  if pid=$(websrv_pid); then stop_pid "$pid"; fi
  rm -f "$STATE/vboxwebsrv.pid" "$STATE/vboxwebsrv.port"
  # Then other clients (VBoxHeadless, VBoxManage) that this chroot started, by PID.
  for p in $(chroot_pids); do
    case "$(basename "$(readlink "/proc/$p/exe" 2>/dev/null)")" in
      VBoxSVC | VBoxXPCOMIPCD) ;;
      *) stop_pid "$p" ;;
    esac
  done
  # VBoxSVC shuts down by itself a few seconds after its last client; give it that chance.
  for i in $(seq 1 150); do
    [ -z "$(chroot_pids)" ] && break
    sleep 0.1
  done
  for p in $(chroot_pids); do stop_pid "$p"; done
  unmount_all
}

case "${1:-}" in
  check) check ;;
  setup)
    check
    build_chroot
    mount_all
    start
    echo "BOXFEST_VBOX_URL=http://127.0.0.1:$PORT/"
    echo "BOXFEST_VBOXWEB_PID=$(websrv_pid)"
    echo "BOXFEST_VBOXWEB_SHARE=$SHARE"
    echo "BOXFEST_VBOXWEB_ROOT=$ROOT"
    echo "BOXFEST_VBOXWEB_LOG=$STATE/vboxwebsrv.log"
    # 0 when it was already running: whoever started it stops it.
    echo "BOXFEST_VBOXWEB_STARTED=$STARTED"
    ;;
  stop) stop ;;
  remote) remote_start ;;
  remote-stop) remote_stop ;;
  *) die "usage: $0 setup|stop|check|remote|remote-stop" ;;
esac
