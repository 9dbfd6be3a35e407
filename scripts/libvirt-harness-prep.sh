# Sourced by the libvirt test harnesses (in-libvirtd.sh, in-two-hosts.sh) before they start their
# daemons: needs root and a built dist/, reaps the daemons of killed runs, and builds (or finds
# cached) the tiny test boxes out here, since the daemons' namespaces reach no Debian mirror.
# HARNESS names the caller in messages.
[ "$(id -u)" = 0 ] || {
  echo "$HARNESS: needs root (private system-mode libvirtds in their own namespaces)" >&2
  exit 1
}
[ -f dist/cli.js ] || {
  echo "$HARNESS: dist/ is missing: run \`npm run build\` first" >&2
  exit 1
}
bash scripts/libvirtd.sh reap
BOX_KERNEL=cloud bash test/fixtures/build-tiny-box.sh "${BOXFEST_TEST_BOX_DIR:-$PWD/.cache/tiny-box}" >/dev/null
BOX_KERNEL=generic bash test/fixtures/build-tiny-box.sh \
  "${BOXFEST_TEST_GENERIC_BOX_DIR:-$PWD/.cache/tiny-box-generic}" >/dev/null
