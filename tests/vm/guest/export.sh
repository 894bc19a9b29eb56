#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Export tests, run inside the VM:  export.sh BUILD_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: export.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 2
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
check "insmod with two destinations" insmod "$build/ipt_NETFLOW.ko" protocol=10 \
	destination=127.0.0.1:2055,127.0.0.1:2056 inactive_timeout=60
netns_setup
static_neighbours
check "FORWARD rule" ip netns exec nfr iptables-legacy -A FORWARD -j NETFLOW
python3 "$here/export.py" 2>&1 | tee /tmp/export.out
grep -q '^# export.py done' /tmp/export.out || fail "export.py ran to the end" "$(tail -n 20 /tmp/export.out)"
netns_teardown
lsmod | grep -q ipt_NETFLOW && rmmod ipt_NETFLOW
suite_end
