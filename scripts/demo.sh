#!/usr/bin/env bash
# The quickstart, end to end, from a fresh Debian 12 machine: install what is needed, build the
# tiny test box from Debian packages, add it, `boxfest up`, use the machine, destroy it.
# Uses its own BOXFEST_HOME (.cache/demo-home) so it never touches your ~/.boxfest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
bash test/fixtures/build-tiny-box.sh "$ROOT/.cache/tiny-box" >/dev/null
export BOXFEST_HOME=${BOXFEST_HOME:-$ROOT/.cache/demo-home}
# The sandbox this was built in allows no traffic off the host: keep the guest's NAT closed.
export BOXFEST_QEMU_RESTRICT_NAT=${BOXFEST_QEMU_RESTRICT_NAT:-1}
boxfest() { node "$ROOT/bin/boxfest.js" "$@"; }
boxfest box list | grep -q '^tiny ' ||
  boxfest box add tiny "$ROOT/.cache/tiny-box/box.qcow2" --ssh-key "$ROOT/.cache/tiny-box/insecure_key" --disk-interface nvme
cd examples/quickstart
trap 'echo "== boxfest destroy --force"; boxfest destroy --force' EXIT
set -x
boxfest up
boxfest status
boxfest ssh web -c 'cat /srv/app/hello.txt'
boxfest up
boxfest halt
boxfest up
boxfest provision
