#!/bin/sh
# Example provisioning script: prints its arguments and environment.
set -eu
echo "setup $* in ${MODE} mode, app in ${APP_DIR}"
