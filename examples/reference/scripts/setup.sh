#!/bin/sh
set -eu
echo "setup $* ($APP_ENV)"
