#!/usr/bin/env bash
# A private, throw-away libvirtd (system mode, as root) for boxfest's libvirt tests and benches,
# everything inside one directory. Never a daemon it did not start: `start` refuses a DIR whose
# daemon still runs, and `stop` ends a PID only once it is proven to be the daemon of that DIR.
#
#   scripts/libvirtd.sh start DIR   start one; prints KEY=VALUE lines (pid, dir, netns, uri)
#   scripts/libvirtd.sh stop DIR    stop it and whatever runs in its network namespace, by PID;
#                                   PURGE=1 also deletes DIR
#   scripts/libvirtd.sh prove DIR   exit 0 when DIR's recorded PID is that daemon (see `proven`)
#   scripts/libvirtd.sh sshd DIR    add the remote path to DIR's running daemon (below); prints
#                                   its KEY=VALUE lines (again, when it runs already)
#   scripts/libvirtd.sh sshd-stop DIR  stop the remote path's listeners and its open connections'
#                                   sshd by PID (`stop` does too)
#   scripts/libvirtd.sh reap        stop the daemons of DIRs under /tmp whose owner process is gone
#                                   (a killed test run); only DIRs this script made (marker file)
#
# Containment (the design of ../shared/recipes/libvirt, adapted):
#  * its own network namespace, a file DIR/netns: its bridges, dnsmasq, iptables rules, taps and
#    guests live there, so it never meets the host's virbr0, 192.168.122.0/24 or another daemon;
#  * its own mount namespace: DIR/{etc,run,lib,cache,log}/libvirt are bind-mounted over the
#    compiled-in /etc/libvirt, /run/libvirt, /var/{lib,cache,log}/libvirt. A process that enters
#    both namespaces (`nsenter -t PID -m -n`) sees this daemon exactly as on a real libvirt host:
#    qemu:///system is /run/libvirt/libvirt-sock, guests on its networks are routable, serial logs
#    are under /var/log/libvirt/qemu, and /sys (mounted anew there) lists its own network
#    devices, so br0 below is a bridge to libvirt and to boxfest alike. The host's own /run/libvirt
#    is never touched;
#  * qemu.conf: QEMU runs as root with no cgroups, no per-domain /dev, no security driver and no
#    virtlogd (QEMU writes the serial log itself): one daemon process;
#  * a pool `default` (DIR/images) and a NAT network `default` (192.168.122.0/24) like a stock
#    Debian host, a bridge `br0` (10.99.0.1/24) and a veth `lan0` (not a bridge) for bridged NICs.
#  * SSHD=1 at `start` (or `sshd DIR` later): a remote path, for qemu+ssh tests. sshd in inetd
#    mode (`sshd -i`, its own config and keys under DIR/ssh) runs per connection inside the
#    daemon's network and mount namespaces, so over it /run/libvirt/libvirt-sock is this daemon
#    (no socket= needed) and the guests' addresses are reachable, as on a real remote host. It is
#    reached through a socat listener on 127.0.0.1:LIBVIRTD_SSH_PORT *in the daemon's network
#    namespace* (where in-libvirtd.sh runs the tests; SSHD_BIND=ADDR listens on another address
#    of that namespace instead, as in-two-hosts.sh does), and a second one whose sshd refuses
#    streamlocal forwarding (LIBVIRTD_SSH_PORT_NO_STREAMLOCAL: the exec fallback). Root may log
#    in there with LIBVIRTD_SSH_KEY only; the host key is LIBVIRTD_SSH_HOST_KEY. SSH_USER=USER (at
#    `start` with SSHD=1, or `sshd`) logs in as USER instead, a non-root member of group libvirt
#    with passwordless sudo (see login_user): LIBVIRTD_SSH_USER and the URI name it. `stop` ends the
#    socat listeners by PID (the sshd of an open connection goes with the namespace's processes).
# Owner: OWNER_PID (default: the caller's parent) is recorded; `reap` stops the daemons of dead owners.
set -euo pipefail

log() { echo "libvirtd.sh: $*" >&2; }
die() {
  echo "libvirtd.sh: error: $*" >&2
  exit 1
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
MARKER=.boxfest-libvirtd
LIBVIRTD=$(command -v libvirtd || echo /usr/sbin/libvirtd)

# The PID recorded for DIR, printed only when it is the libvirtd of DIR: its executable is
# libvirtd, its network namespace is DIR/netns, and its /run/libvirt is DIR/run/libvirt.
proven() {
  local d=$1 pid
  pid=$(cat "$d/run/libvirt/libvirtd.pid" 2>/dev/null) || return 1
  alive "$pid" || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$LIBVIRTD")" ] || return 1
  [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "$d/netns" 2>/dev/null)" ] || return 1
  [ "$(stat -L -c %d:%i "/proc/$pid/root/run/libvirt" 2>/dev/null)" = "$(stat -c %d:%i "$d/run/libvirt")" ] || return 1
  echo "$pid"
}

stop_pid() { # stop_pid PID WHAT: TERM, then KILL after 5 s
  local p=$1
  alive "$p" || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do
    alive "$p" || {
      log "stopped $2 (pid $p)"
      return 0
    }
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  log "killed $2 (pid $p)"
}

start() {
  local d=$1
  [ "$(id -u)" = 0 ] || die "needs root (a system-mode libvirtd in its own namespaces)"
  [ -x "$LIBVIRTD" ] || die "libvirtd is not installed: run \`bash scripts/install-deps.sh\` (libvirt-daemon, libvirt-daemon-driver-qemu)"
  local sock=$d/run/libvirt/libvirt-sock
  [ ${#sock} -lt 100 ] || die "DIR too long: the socket path $sock must stay under 108 bytes"
  if pid=$(proven "$d"); then die "a daemon already runs in $d (pid $pid): never reused, stop it first"; fi
  mkdir -p "$d"/etc/libvirt/{qemu/networks/autostart,storage/autostart,hooks,nwfilter,secrets} \
    "$d"/run/libvirt "$d"/lib/libvirt/{images,dnsmasq,qemu} "$d"/cache/libvirt "$d"/log/libvirt/qemu "$d"/images
  echo "$OWNER_PID $(cut -d' ' -f22 "/proc/$OWNER_PID/stat" 2>/dev/null || echo 0)" >"$d/$MARKER"
  cat >"$d/etc/libvirt/libvirtd.conf" <<'EOF'
# boxfest's private test daemon: unix sockets only, no polkit (no dbus here); clients are root
# and the members of group libvirt (the remote path's SSH_USER), as on a stock Debian host
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  cat >"$d/etc/libvirt/qemu.conf" <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
  : >"$d/etc/libvirt/libvirt.conf"
  # Bind-mount targets must exist on the host (empty directories; the mounts are only in our namespace).
  mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt

  if ! nsenter --net="$d/netns" true 2>/dev/null; then
    touch "$d/netns"
    unshare --net="$d/netns" true
  fi
  local ns="nsenter --net=$d/netns --"
  $ns ip link set lo up
  $ns ip link show br0 >/dev/null 2>&1 || {
    $ns ip link add br0 type bridge
    $ns ip addr add 10.99.0.1/24 dev br0
    $ns ip link set br0 up
  }
  $ns ip link show lan0 >/dev/null 2>&1 || {
    $ns ip link add lan0 type veth peer name lan0-peer
    $ns ip link set lan0 up
    $ns ip link set lan0-peer up
  }
  # Private /etc/passwd and /etc/group in the mount namespace: the QEMU driver looks up
  # `libvirt-qemu` at start even with user = "root", and hosts without libvirt-daemon-system lack it.
  # Root's shell there is /bin/sh: the remote path's sshd runs commands (the exec fallback) with
  # it, and bash would source root's ~/.bashrc (pyenv init on this host: 1-2 s per command).
  awk -F: -v OFS=: '$1=="root"{$7="/bin/sh"} {print}' /etc/passwd >"$d/etc/passwd"
  cp /etc/group "$d/etc/group"
  # sshd's privilege separation user (openssh-server makes it; a copy taken before that lacks it).
  grep -q '^sshd:' "$d/etc/passwd" || echo 'sshd:x:64056:65534::/run/sshd:/usr/sbin/nologin' >>"$d/etc/passwd"
  grep -q '^libvirt-qemu:' "$d/etc/passwd" ||
    echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$d/etc/passwd"
  grep -q '^libvirt-qemu:' "$d/etc/group" || echo 'libvirt-qemu:x:64055:libvirt-qemu' >>"$d/etc/group"
  # The socket's group (libvirtd.conf above), which must exist when the daemon starts; the remote
  # path's non-root login (SSH_USER) joins it. Kept when the host has one.
  grep -q '^libvirt:' "$d/etc/group" || echo 'libvirt:x:64101:' >>"$d/etc/group"
  rm -f "$d/run/libvirt/libvirtd.pid"
  # Inherited descriptors are closed first: a lock held by the caller (flock without -o) must not
  # live on in the daemon. Nor does a URI from the caller's environment: a client that names no URI
  # (`virsh uri`, `virsh list`) is given the daemon's own default, which LIBVIRT_DEFAULT_URI would
  # make another daemon (seen: `virsh uri` answered with a planted socket).
  # libvirtd runs under `tini -s`, a child subreaper: the QEMUs it double-forks are reaped the
  # moment they exit, as systemd (PID 1) does on a real host. Without it they were reparented to
  # this machine's PID 1, which reaps about once a second (measured: an orphan stayed a zombie
  # 1.07 s), and libvirtd waits for that before it marks a domain shut off: every halt, destroy
  # and crash took a second longer than on a real host.
  setsid $ns unshare --mount --propagation private /bin/bash -ec "
    for fd in /proc/\$\$/fd/*; do n=\${fd##*/}; [ \"\$n\" -gt 2 ] && { eval \"exec \$n>&-\" 2>/dev/null || true; }; done
    mount -t sysfs sysfs /sys
    mount --bind '$d/etc/passwd' /etc/passwd
    mount --bind '$d/etc/group' /etc/group
    mount --bind '$d/etc/libvirt' /etc/libvirt
    mount --bind '$d/run/libvirt' /run/libvirt
    mount --bind '$d/lib/libvirt' /var/lib/libvirt
    mount --bind '$d/cache/libvirt' /var/cache/libvirt
    mount --bind '$d/log/libvirt' /var/log/libvirt
    exec env -u LIBVIRT_DEFAULT_URI -u VIRSH_DEFAULT_CONNECT_URI tini -s -- '$LIBVIRTD' -p /run/libvirt/libvirtd.pid" </dev/null >/dev/null 2>&1 &
  local uri="qemu:///system?socket=$sock" v pid=""
  v="virsh -q -c $uri"
  for _ in $(seq 600); do
    $v version >/dev/null 2>&1 && break
    pid=$(cat "$d/run/libvirt/libvirtd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && ! alive "$pid"; then
      tail -5 "$d/log/libvirt/libvirtd.log" >&2 || true
      die "libvirtd died at start (its log: $d/log/libvirt/libvirtd.log)"
    fi
    sleep 0.1
  done
  pid=$(proven "$d") || die "libvirtd did not come up in $d (or is not provably ours); log: $d/log/libvirt/libvirtd.log"
  # The first QEMU capability probe takes seconds; it is cached in DIR/cache.
  # Under load the probe can fail (seen at load 5: no QEMU domains offered once; in a CI run with
  # the test guests beside it, three times over 4 s); it is retried, waiting longer each time
  # (2, 4, ... 10 s: 30 s in all).
  local try
  for try in 1 2 3 4 5 6; do
    $v capabilities | grep -q "domain type='qemu'" && break
    [ "$try" = 6 ] && {
      grep -i 'qemu' "$d/log/libvirt/libvirtd.log" | grep -i 'error' | tail -5 >&2 || true
      die "this libvirtd offers no QEMU domains (its log: $d/log/libvirt/libvirtd.log)"
    }
    log "no QEMU domains offered yet (probe $try of 6), asking again"
    sleep $((2 * try))
  done
  $v pool-info default >/dev/null 2>&1 || $v pool-define-as default dir --target "$d/images" >/dev/null
  [[ $($v pool-info default) == *running* ]] || $v pool-start default >/dev/null
  cat >"$d/default-net.xml" <<'EOF'
<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='off' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>
EOF
  $v net-info default >/dev/null 2>&1 || $v net-define "$d/default-net.xml" >/dev/null
  [[ $($v net-info default) =~ Active:\ *yes ]] || $v net-start default >/dev/null
  echo "LIBVIRTD_PID=$pid"
  echo "LIBVIRTD_DIR=$d"
  echo "LIBVIRTD_NETNS=$d/netns"
  echo "LIBVIRTD_URI=$uri"
  if [ "${SSHD:-0}" = 1 ]; then sshd_start "$d"; fi
}

# The socat listeners of DIR's remote path, each printed only when it is ours: a live socat whose
# command line names DIR/ssh/sshd_config.
sshd_proven() {
  local d=$1 p
  for p in $(cat "$d/ssh/socat.pids" 2>/dev/null); do
    alive "$p" || continue
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = socat ] || continue
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$d/ssh/sshd_config" || continue
    echo "$p"
  done
}

sshd_env() {
  local s=$1/ssh user=root
  [ -f "$s/user" ] && user=$(cat "$s/user")
  echo "LIBVIRTD_SSH_PORT=$(cat "$s/port")"
  echo "LIBVIRTD_SSH_PORT_NO_STREAMLOCAL=$(cat "$s/port-no-streamlocal")"
  echo "LIBVIRTD_SSH_KEY=$s/id_ed25519"
  echo "LIBVIRTD_SSH_HOST_KEY='$(cut -d' ' -f1,2 "$s/host_ed25519.pub")'"
  echo "LIBVIRTD_SSH_ADDRESS=$(cat "$s/bind")"
  echo "LIBVIRTD_SSH_USER=$user"
  echo "LIBVIRTD_REMOTE_URI='qemu+ssh://$user@$(cat "$s/bind"):$(cat "$s/port")/system?keyfile=$s/id_ed25519'"
}

# The remote path's non-root login USER (SSH_USER=USER), as on a typical real host: a user of
# its own (uid 64100, shell /bin/sh, home DIR/home/USER) in group libvirt, which may use the
# daemon's socket, with passwordless sudo (`USER ALL=(ALL) NOPASSWD: ALL`, or the commands
# SSH_SUDO lists: `/usr/sbin/ip, /usr/sbin/bridge`) for what boxfest runs as root on the host
# (VXLAN links, serial logs: `sudo -n`). All of it only in the daemon's mount
# namespace: USER is added to the private passwd and group (DIR/etc, bind-mounted there), and
# DIR/etc/sudoers (Debian's defaults, this rule, log DIR/sudo.log) is bind-mounted over
# /etc/sudoers there; the machine's own /etc is never changed (tests read DIR/sudo.log). Its passwd field is `*` (no shadow
# entry: key login only, and sudo's PAM account check passes without one). DIR becomes 0711 so
# that USER reaches its home and authorized_keys (sshd reads them as USER). Idempotent; after a
# `start` anew (fresh passwd, group, mount namespace) it puts everything back; a later `sshd`
# keeps the SSH_USER and SSH_SUDO it was given.
login_user() {
  local d=$1 user=$2 pid=$3 cmds=$4 home uid=64100 gid tmp
  [[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] && [ "$user" != root ] || die "SSH_USER=$user: not a plain non-root user name"
  [ -f /etc/sudoers ] && command -v sudo >/dev/null ||
    die "SSH_USER needs sudo (the host's /etc/sudoers is the mount target): run \`bash scripts/install-deps.sh\`"
  home=$d/home/$user
  gid=$(awk -F: '$1=="libvirt"{print $3}' "$d/etc/group")
  [ -n "$gid" ] || die "no group libvirt in $d/etc/group (made at \`start\`)"
  # In place (`cat >`): the bind mounts hold these files' inodes.
  tmp=$(awk -F: -v u="$user" '$1!=u' "$d/etc/passwd")
  printf '%s\n%s\n' "$tmp" "$user:*:$uid:$gid:boxfest test login:$home:/bin/sh" >"$d/etc/passwd"
  tmp=$(awk -F: -v OFS=: -v u="$user" '$1=="libvirt"{ if ($4 == "") $4 = u; else if (("," $4 ",") !~ ("," u ",")) $4 = $4 "," u } {print}' "$d/etc/group")
  printf '%s\n' "$tmp" >"$d/etc/group"
  chmod 711 "$d"
  mkdir -p "$home/.ssh"
  cp "$d/ssh/id_ed25519.pub" "$home/.ssh/authorized_keys"
  chown -R "$uid:$gid" "$home"
  chmod 700 "$home" "$home/.ssh"
  mkdir -p "$d/sudo"
  chmod 700 "$d/sudo"
  printf '%s\n' 'Defaults env_reset' 'Defaults mail_badpass' \
    'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' 'Defaults use_pty' \
    "Defaults timestampdir=$d/sudo/ts" "Defaults logfile=$d/sudo.log" 'Defaults loglinelen=0' 'Defaults !syslog' \
    'root ALL=(ALL:ALL) ALL' "$user ALL=(ALL) NOPASSWD: $cmds" >"$d/etc/sudoers"
  chown root:root "$d/etc/sudoers"
  chmod 440 "$d/etc/sudoers"
  visudo -c -q -f "$d/etc/sudoers" >/dev/null || die "$d/etc/sudoers does not parse"
  [ "$(stat -L -c %d:%i "/proc/$pid/root/etc/sudoers")" = "$(stat -c %d:%i "$d/etc/sudoers")" ] ||
    nsenter -t "$pid" -m -- mount --bind "$d/etc/sudoers" /etc/sudoers
  echo "$user" >"$d/ssh/user"
  echo "$cmds" >"$d/ssh/sudo"
}

sshd_start() {
  local d=$1 pid s port port2 n opts bind=${SSHD_BIND:-127.0.0.1}
  pid=$(proven "$d") || die "no daemon of this script runs in $d: \`start\` it first"
  s=$d/ssh
  # Test files running side by side each ask for the remote path: one starts it, the others
  # wait here and then find it running.
  exec 9>"$d/sshd.lock"
  flock 9
  if [ "$(sshd_proven "$d" | wc -l)" = 2 ]; then
    sshd_env "$d"
    return
  fi
  [ -x /usr/sbin/sshd ] && command -v socat >/dev/null ||
    die "the remote path needs sshd and socat: run \`bash scripts/install-deps.sh\` (openssh-server, socat)"
  mkdir -p "$s"
  chmod 700 "$s"
  [ -f "$s/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C boxfest-test-libvirt-host -f "$s/host_ed25519"
  [ -f "$s/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C boxfest-test-libvirt-client -f "$s/id_ed25519"
  cp "$s/id_ed25519.pub" "$s/authorized_keys"
  # The login: SSH_USER, else the one an earlier `sshd` was given (a restarted host keeps it), else root.
  local user=${SSH_USER:-$(cat "$s/user" 2>/dev/null || echo root)} match=()
  if [ "$user" = root ]; then
    rm -f "$s/user" "$s/sudo"
  else
    login_user "$d" "$user" "$pid" "${SSH_SUDO:-$(cat "$s/sudo" 2>/dev/null || echo ALL)}"
    match=("Match User $user" "  AuthorizedKeysFile $d/home/$user/.ssh/authorized_keys")
  fi
  printf '%s\n' "HostKey $s/host_ed25519" "AuthorizedKeysFile $s/authorized_keys" \
    'PermitRootLogin prohibit-password' 'PubkeyAuthentication yes' 'PasswordAuthentication no' \
    'KbdInteractiveAuthentication no' 'UsePAM no' 'StrictModes no' 'AllowTcpForwarding yes' \
    'AllowStreamLocalForwarding yes' 'PermitTunnel no' 'X11Forwarding no' 'PrintMotd no' \
    'PidFile none' 'LogLevel DEBUG1' "${match[@]}" >"$s/sshd_config"
  mkdir -p /run/sshd # privilege separation directory: sshd refuses to start without it
  /usr/sbin/sshd -t -f "$s/sshd_config"
  # Two free ports in the daemon's network namespace, where the listeners go; a restart (after
  # `sshd-stop`, a host that went down) keeps the ones it had, as a real host's sshd does.
  if [ -f "$s/port" ] && [ -f "$s/port-no-streamlocal" ]; then
    port=$(cat "$s/port")
    port2=$(cat "$s/port-no-streamlocal")
  else
    read -r port port2 < <(nsenter --net="$d/netns" -- node -e '
      const net = require("node:net");
      const a = net.createServer().listen(0, "127.0.0.1", () => {
        const b = net.createServer().listen(0, "127.0.0.1", () => {
          console.log(a.address().port, b.address().port);
          a.close();
          b.close();
        });
      });')
  fi
  echo "$port" >"$s/port"
  echo "$bind" >"$s/bind"
  echo "$port2" >"$s/port-no-streamlocal"
  : >"$s/socat.pids"
  # PORT|EXTRA: EXTRA starts with its space (socat would pass a trailing space as an empty argument).
  for opts in "$port|" "$port2| -o AllowStreamLocalForwarding=no"; do
    # setsid and nsenter exec (neither forks here), so $! is socat's PID.
    setsid nsenter --net="$d/netns" -- socat -lf "$s/socat.log" \
      TCP-LISTEN:"${opts%%|*}",bind="$bind",reuseaddr,fork \
      EXEC:"nsenter -t $pid -m -n -- /usr/sbin/sshd -i -f $s/sshd_config -E $s/sshd.log${opts#*|}" \
      </dev/null >/dev/null 2>&1 9>&- &
    echo $! >>"$s/socat.pids"
  done
  for n in $(seq 50); do
    [ "$(sshd_proven "$d" | wc -l)" = 2 ] &&
      nsenter --net="$d/netns" -- bash -c "exec 3<>/dev/tcp/$bind/$port 4<>/dev/tcp/$bind/$port2" 2>/dev/null &&
      break
    [ "$n" = 50 ] && die "the remote path's socat listeners did not come up (log: $s/socat.log)"
    sleep 0.1
  done
  log "remote path: sshd -i behind socat $(sshd_proven "$d" | tr '\n' ' ')on $bind:$port (:$port2 without streamlocal) in $d/netns"
  sshd_env "$d"
}

sshd_stop() {
  local d=$1 p
  for p in $(sshd_proven "$d"); do stop_pid "$p" "socat of the remote path"; done
  rm -f "$d/ssh/socat.pids"
  # The open connections' sshd too, as when the host goes down: every sshd in the daemon's
  # network namespace (only the remote path starts one there; their session children rename
  # themselves, so the namespace is what tells them apart).
  [ "$(stat -f -c %T "$d/netns" 2>/dev/null)" = nsfs ] || return 0
  local ino
  ino=$(stat -L -c %i "$d/netns")
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = sshd ] || continue
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "net:[$ino]" ] || continue
    kill -TERM "${p#/proc/}" 2>/dev/null && log "stopped sshd ${p#/proc/} of the remote path"
  done
  return 0
}

stop() {
  local d=$1 pid
  sshd_stop "$d"
  if pid=$(proven "$d"); then
    stop_pid "$pid" libvirtd
  elif [ -f "$d/run/libvirt/libvirtd.pid" ]; then
    log "the PID recorded in $d is not its libvirtd (gone already, or reused): left alone"
  fi
  # What is left in the private network namespace (QEMU, dnsmasq): only processes started there.
  if [ -e "$d/netns" ] && [ "$(stat -f -c %T "$d/netns" 2>/dev/null)" = nsfs ]; then
    local ino p
    ino=$(stat -L -c %i "$d/netns")
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/net" 2>/dev/null)" = "net:[$ino]" ] || continue
      [ "${p#/proc/}" = "$$" ] && continue
      stop_pid "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null) in the test netns"
    done
    umount "$d/netns" && rm -f "$d/netns"
  fi
  rm -f "$d/run/libvirt/libvirtd.pid"
  if [ "${PURGE:-0}" = 1 ] && [ -f "$d/$MARKER" ]; then rm -rf "$d"; fi
}

reap() {
  local d owner since now
  for d in /tmp/bflv.*; do
    [ -f "$d/$MARKER" ] || continue
    read -r owner since <"$d/$MARKER" || continue
    now=$(cut -d' ' -f22 "/proc/$owner/stat" 2>/dev/null || echo gone)
    [ "$now" = "$since" ] && continue # its owner still runs
    log "reaping $d (its owner $owner is gone)"
    PURGE=1 stop "$d"
  done
}

OWNER_PID=${OWNER_PID:-$PPID}
case "${1:-}" in
  start) start "$(realpath -m "${2:?usage: $0 start DIR}")" ;;
  stop) stop "$(realpath -m "${2:?usage: $0 stop DIR}")" ;;
  prove) proven "$(realpath -m "${2:?usage: $0 prove DIR}")" ;;
  sshd) sshd_start "$(realpath -m "${2:?usage: $0 sshd DIR}")" ;;
  sshd-stop) sshd_stop "$(realpath -m "${2:?usage: $0 sshd-stop DIR}")" ;;
  reap) reap ;;
  *)
    echo "usage: $0 start DIR | stop DIR | prove DIR | sshd DIR | sshd-stop DIR | reap" >&2
    exit 2
    ;;
esac
