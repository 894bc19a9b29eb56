#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds the operator's command and stages it with its unit as `make
# install-command` installs them (SBINDIR=/usr/sbin), for the guests that
# install it: build/command/{ipt_netflow,ipt_netflow.service}. Prints the
# directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/common.sh"
cd "$top"
out=$top/build/command
rm -rf "$out"
make -s install-command DESTDIR="$out/stage" SBINDIR=/usr/sbin >&2
cp "$out/stage/usr/sbin/ipt_netflow" "$out/stage/lib/systemd/system/ipt_netflow.service" "$out/"
echo "$out"
