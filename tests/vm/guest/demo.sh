#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo, inside the VM: load, add rules, send traffic, show the counters.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$1
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

show() { echo; echo "\$ $*"; "$@"; }

echo "# kernel $(uname -r), $(nproc) CPUs"
load_kmods
ip link set lo up
echo "# a collector: nfdump's nfcapd on 127.0.0.1:2055"
rm -rf /tmp/demo-flows && mkdir -p /tmp/demo-flows
nfcapd -w /tmp/demo-flows -b 127.0.0.1 -p 2055 -t 3600 >/tmp/demo-nfcapd.log 2>&1 &
nfcapd_pid=$!
sleep 2
show insmod "$build/ipt_NETFLOW.ko" protocol=10 destination=127.0.0.1:2055
netns_setup
for t in iptables ip6tables; do
	ip netns exec nfr $t -I FORWARD -j NETFLOW
done
show ip netns exec nfr iptables -L FORWARD -v -n
show cat /proc/net/stat/ipt_netflow
echo
echo "# sending 1000 IPv4 and 1000 IPv6 UDP datagrams from nfa through nfr (FORWARD) to nfb"
ip netns exec nfa python3 "$here/udp_burst.py" send 10.2.0.2 5004 64,512,1200 334 >/dev/null
ip netns exec nfa python3 "$here/udp_burst.py" send fd02::2 5006 64,512,1200 334 >/dev/null
sleep 1
show cat /proc/net/stat/ipt_netflow
show cat /proc/net/stat/ipt_netflow_snmp
echo
echo "# export every flow now and let the collector write them"
show sysctl -w net.netflow.flush=1
sleep 2
kill -TERM "$nfcapd_pid"
wait "$nfcapd_pid" || true
echo
echo "# the flows as nfdump decodes them from the IPFIX export"
show nfdump -R /tmp/demo-flows -N -o 'fmt:%ts %pr %sap -> %dap %in %out %pkt %byt' 'proto udp'
for t in iptables ip6tables; do
	ip netns exec nfr $t -D FORWARD -j NETFLOW
done
netns_teardown
show rmmod ipt_NETFLOW
show sh -c "dmesg | grep ipt_NETFLOW:"
