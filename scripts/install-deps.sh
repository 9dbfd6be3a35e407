#!/usr/bin/env bash
# Installs what boxfest and its tests need on Debian/Ubuntu: QEMU, rsync, OpenSSH client, vde2
# (private networks' switches), and for the tests the packages the test boxes are built from
# (debootstrap for the Debian cloud-init box) plus iproute2 and dnsmasq-base (a DHCP server inside
# the bridged-network test's own namespace), openssl (the box tests' TLS certificates), curl
# (bench:box-add), strace (the lock race test delays one process's syscalls with it), and a libvirt
# daemon, its QEMU driver, virsh and iptables (the libvirt tests run a private libvirtd; its remote
# path for qemu+ssh runs sshd behind socat, with netcat for the exec fallback; tini reaps its
# QEMUs at once, as systemd does on a real host; sudo: the two-hosts harness logs in to one host as a
# non-root user with passwordless sudo, configured only inside that host's namespace), zsh and
# fish (the completion tests load `boxfest completion zsh|fish` into the real shells). boxfest
# itself needs no ISO tool: it writes the cloud-init seed image on its own. git: bench:folders
# commits its trees with it and runs the host's git in the guest.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
PKGS=(qemu-system-x86 qemu-utils rsync openssh-client vde2 iproute2 dnsmasq-base openssl curl strace
      libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients iptables openssh-server socat netcat-openbsd tini sudo
      busybox-static dropbear-bin syslinux syslinux-common mtools dosfstools fdisk kmod e2fsprogs cpio
      debootstrap ansible zsh fish git)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
