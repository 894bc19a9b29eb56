#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo, inside the VM: the operator's path. ipt_netflow installs the
# configuration and enables export on a machine that routes between two
# network namespaces; traffic goes through; show before and after; nfdump
# decodes what its collector received.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$1
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

show() { echo; echo "\$ $*"; "$@"; }

echo "# kernel $(uname -r), $(nproc) CPUs; this VM routes between two namespaces:"
echo "#   nfa (10.1.0.2, fd01::2) -- [this machine] -- nfb (10.2.0.2, fd02::2)"
load_kmods
ip link set lo up
install_command "$build"
install_for_modprobe "$build"
for ns in nfa nfb; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add r0 type veth peer name a0 netns nfa
ip link add r1 type veth peer name b0 netns nfb
ip addr add 10.1.0.1/24 dev r0 && ip addr add fd01::1/64 dev r0 nodad
ip addr add 10.2.0.1/24 dev r1 && ip addr add fd02::1/64 dev r1 nodad
ip -n nfa addr add 10.1.0.2/24 dev a0 && ip -n nfa addr add fd01::2/64 dev a0 nodad
ip -n nfb addr add 10.2.0.2/24 dev b0 && ip -n nfb addr add fd02::2/64 dev b0 nodad
for l in r0 r1; do ip link set $l up; done
ip -n nfa link set a0 up && ip -n nfb link set b0 up
ip -n nfa route add default via 10.1.0.1 && ip -n nfa -6 route add default via fd01::1
ip -n nfb route add default via 10.2.0.1 && ip -n nfb -6 route add default via fd02::1
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

echo
echo "# a collector: nfdump's nfcapd on 127.0.0.1:2055"
rm -rf /tmp/demo-flows && mkdir -p /tmp/demo-flows
nfcapd -w /tmp/demo-flows -b 127.0.0.1 -p 2055 -t 3600 >/tmp/demo-nfcapd.log 2>&1 &
nfcapd_pid=$!
sleep 1

show ipt_netflow -m install -d 127.0.0.1:2055 --active-timeout 60
show cat /etc/modprobe.d/ipt_netflow.conf
echo
echo "# a router meters what it forwards: only FORWARD, in /etc/default/ipt_netflow"
sed -i 's/^CHAINS=.*/CHAINS="FORWARD"/' /etc/default/ipt_netflow
show grep -v '^#' /etc/default/ipt_netflow
show ipt_netflow -m enable
show ipt_netflow -m status -v
show ipt_netflow -m show

echo
echo "# sending 1000 IPv4 and 1000 IPv6 UDP datagrams from nfa to nfb, through this machine"
ip netns exec nfa python3 "$here/udp_burst.py" send 10.2.0.2 5004 64,512,1200 334 >/dev/null
ip netns exec nfa python3 "$here/udp_burst.py" send fd02::2 5006 64,512,1200 334 >/dev/null
sleep 1
show ipt_netflow -m show --top 4

echo
echo "# export every flow now and let the collector write them"
show sysctl -w net.netflow.flush=1
sleep 2
kill -TERM "$nfcapd_pid"
wait "$nfcapd_pid" || true
echo
echo "# the flows as nfdump decodes them from the IPFIX export"
show nfdump -R /tmp/demo-flows -N -o 'fmt:%ts %pr %sap -> %dap %in %out %pkt %byt' 'proto udp'
show ipt_netflow -m disable
show ipt_netflow -m remove
