#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Exports decoded by real collectors (tshark, nfdump's nfcapd), for NetFlow
# v5, v9 and IPFIX in turn; run inside the VM:  collectors.sh BUILD_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: collectors.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 0 # collectors.py states its own plan, once per protocol
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
# Interfaces of the initial namespace, for the interface-name options
# records: a veth pair, one end with an alias.
ip link del nfx0 2>/dev/null
ip link add nfx0 type veth peer name nfx1
ip link set nfx0 alias "uplink to nowhere"
ip link set nfx0 up
ip link set nfx1 up
for proto in ${NF_PROTOS:-5 9 10}; do
	netns_setup
	static_neighbours
	python3 "$here/collectors.py" "$proto" "$build" 2>&1 | tee /tmp/collectors.out
	grep -q '^# collectors.py done' /tmp/collectors.out ||
		fail "collectors.py v$proto ran to the end" "$(tail -n 20 /tmp/collectors.out)"
	lsmod | grep -q ipt_NETFLOW && rmmod ipt_NETFLOW
	netns_teardown
done
ip link del nfx0
suite_end
