#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: builds what it needs (first run: about 15 minutes, mostly the
# kernel), boots the 7.3 test kernel in a VM, loads ipt_NETFLOW, adds
# iptables and ip6tables rules, sends traffic between namespaces and shows
# /proc/net/stat/ipt_netflow moving.
#
# NF_DEMO_KERNEL=6.12 picks another test kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/common.sh"
cd "$top"

kernel=${NF_DEMO_KERNEL:-7.3-debug}
scripts/install-deps.sh
log "building the $kernel kernel (cached after the first run) and the module"
build=$(tests/vm/build-module.sh "$kernel")
log "booting $kernel under qemu (TCG; the debug kernel takes about a minute)"
tests/vm/run-vm.sh "$kernel" "$top/tests/vm/guest/demo.sh" "$build"
