#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The SNMP agent, run inside the VM:  snmp.sh BUILD_DIR
# snmp.py runs Debian's snmpd with the agent (BUILD_DIR/../snmp, built by
# check.sh) and checks what net-snmp's tools read and write through it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: snmp.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 1 # and snmp.py states its own
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
python3 "$here/snmp.py" "$build" 2>&1 | tee /tmp/snmp.out
grep -q '^# snmp.py done' /tmp/snmp.out || fail "snmp.py ran to the end" "$(tail -n 20 /tmp/snmp.out)"
check "the module is unloaded at the end" sh -c '! lsmod | grep -q "^ipt_NETFLOW "'
suite_end
