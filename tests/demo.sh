#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: a newcomer's first minutes. Builds what it needs, boots the
# plain 6.12 test kernel (the quickest) in a VM and shows the operator's
# path there: ipt_netflow installs and enables export on a machine that
# routes between two namespaces, traffic goes through, ipt_netflow -m show
# before and after, and nfdump decodes the flows its collector received.
#
# NF_DEMO_KERNEL=7.3-debug (or 7.3-stock) picks another kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/common.sh"
cd "$top"

kernel=${NF_DEMO_KERNEL:-6.12}
start=$SECONDS
# What it will take, said first: the kernel build dominates a first run.
if compgen -G "$NF_CACHE/kernels/$kernel-????????????/.nf-built" >/dev/null; then
	log "make demo: under a minute (the $kernel kernel is built already)"
else
	log "make demo: about 8 minutes this first time (the tools, then the $kernel test kernel, built once and cached); under a minute after that"
fi
scripts/install-deps.sh demo
log "building the $kernel kernel (cached after the first run), the module and ipt_netflow"
build=$(tests/vm/build-module.sh "$kernel")
tests/vm/build-command.sh >/dev/null
log "booting $kernel under qemu"
tests/vm/run-vm.sh "$kernel" "$top/tests/vm/guest/demo.sh" "$build"
log "make demo took $((SECONDS - start)) s"
