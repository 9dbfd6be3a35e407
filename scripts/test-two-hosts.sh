#!/usr/bin/env bash
# The two-hosts tests (vitest project `integration-two-hosts`): boxfest on a "laptop" against two
# remote libvirt hosts on one LAN (scripts/in-two-hosts.sh), one environment across both.
#   bash scripts/test-two-hosts.sh [vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/in-two-hosts.sh npx vitest run --project integration-two-hosts "$@"
