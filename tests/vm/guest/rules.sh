#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Flow sampling, aggregation and snmp-rules, run inside the VM:
#   rules.sh BUILD_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: rules.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 1 # and rules.py states its own
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
netns_setup
static_neighbours
# A second destination behind the router, for "one flow per destination".
mac=$(ip -n nfb -o link show nfb0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
ip -n nfr neigh add 10.2.0.98 lladdr "$mac" dev nfr1 nud permanent
python3 "$here/rules.py" "$build" 2>&1 | tee /tmp/rules.out
grep -q '^# rules.py done' /tmp/rules.out || fail "rules.py ran to the end" "$(tail -n 20 /tmp/rules.out)"
netns_teardown
check "rmmod" rmmod ipt_NETFLOW
suite_end
