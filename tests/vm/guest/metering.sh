#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Metering tests, run inside the VM:  metering.sh BUILD_DIR
# Loads the module (protocol 10, so ip6tables rules are allowed), builds the
# namespaces with static neighbours for the forwarded test traffic, adds
# FORWARD rules in nfr and runs metering.py; then unloads and checks the
# kernel log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: metering.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 4
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
check "insmod protocol=10 hashsize=1024" insmod "$build/ipt_NETFLOW.ko" protocol=10 hashsize=1024
netns_setup
static_neighbours
check "FORWARD rules" bash -c "ip netns exec nfr iptables-legacy -A FORWARD -j NETFLOW && ip netns exec nfr ip6tables-legacy -A FORWARD -j NETFLOW"
python3 "$here/metering.py" 2>&1 | tee /tmp/metering.out
grep -q '^# metering.py done' /tmp/metering.out || fail "metering.py ran to the end" "$(tail -n 20 /tmp/metering.out)"
check "the flow dump is readable while empty" bash -c "head -1 /proc/net/stat/ipt_netflow_flows | grep -q '^# hash'"
netns_teardown
check "rmmod" rmmod ipt_NETFLOW
suite_end
