#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Link-layer fields and promisc mode of the build with every flow field
# (configure --enable-macaddress --enable-vlan --enable-direction
# --enable-physdev --enable-physdev-override --enable-promisc
# --promisc-mpls), run inside the VM:  l2.sh BUILD_DIR
# BUILD_DIR must hold that build (check.sh gives build/KERNEL-all).
#
# Builds a router namespace l2r whose port r0 has VLAN devices (802.1Q,
# QinQ, one without REORDER_HDR) and a switch namespace l2s whose bridge
# (br_netfilter) joins two hosts; l2.py sends known frames through both and
# checks every flow's link-layer fields as tshark and nfdump decode them,
# for NetFlow v9 and IPFIX; then promisc.py meters mirrored, MPLS-labelled
# and malformed frames in promisc mode (IPFIX).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: l2.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

protos=0
for proto in ${NF_PROTOS:-9 10}; do case $proto in 9 | 10) protos=$((protos + 1)) ;; esac; done
plan $((2 * protos + 1)) # and l2.py states its own plan, once per protocol
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up

l2_teardown() {
	local ns
	for ns in l2a l2r l2b l2s l2c l2d; do ip netns del $ns 2>/dev/null || true; done
}

# Built with one ip batch per namespace and one restore per table: every
# process costs under emulation.
l2_setup() {
	l2_teardown
	local ns
	for ns in l2a l2r l2b l2s l2c l2d; do
		ip netns add $ns
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	# Router: a0 (sender) -- r0 [VLAN devices] l2r r1 -- b0 (receiver);
	# switch: c0 (host c) -- p1 [br0, br_netfilter] p2 -- d0 (host d).
	ip -b - <<-EOF
		link add a0 netns l2a address 02:00:00:00:0a:01 type veth peer name r0 netns l2r address 02:00:00:00:0a:02
		link add r1 netns l2r address 02:00:00:00:0b:02 type veth peer name b0 netns l2b address 02:00:00:00:0b:01
		link add c0 netns l2c address 02:00:00:00:0c:01 type veth peer name p1 netns l2s
		link add d0 netns l2d address 02:00:00:00:0d:01 type veth peer name p2 netns l2s
	EOF
	ip -n l2r -b - <<-EOF
		link set lo up
		link add link r0 name r0.10 type vlan id 10
		link add link r0 name r0.100 type vlan proto 802.1ad id 100
		link add link r0.100 name r0.100.200 type vlan id 200
		link add link r0 name r0.30 type vlan id 30 reorder_hdr off
		addr add 10.50.0.1/24 dev r0
		addr add fd50::1/64 dev r0 nodad
		addr add 10.10.0.1/24 dev r0.10
		addr add 10.20.0.1/24 dev r0.100.200
		addr add 10.30.0.1/24 dev r0.30
		addr add 10.40.0.1/24 dev r1
		link set r0 up
		link set r0.10 up
		link set r0.100 up
		link set r0.100.200 up
		link set r0.30 up
		link set r1 up
		neigh add 10.10.0.2 lladdr 02:00:00:00:0a:01 dev r0.10 nud permanent
		neigh add 10.40.0.2 lladdr 02:00:00:00:0b:01 dev r1 nud permanent
	EOF
	ip -n l2a -b - <<-EOF
		link set lo up
		link set a0 up
	EOF
	ip -n l2b -b - <<-EOF
		link set lo up
		addr add 10.40.0.2/24 dev b0
		link set b0 up
		route add default via 10.40.0.1
		neigh add 10.40.0.1 lladdr 02:00:00:00:0b:02 dev b0 nud permanent
	EOF
	ip -n l2s -b - <<-EOF
		link set lo up
		link add br0 type bridge
		link set p1 master br0
		link set p2 master br0
		link set p1 up
		link set p2 up
		link set br0 up
	EOF
	ip -n l2c -b - <<-EOF
		link set lo up
		addr add 10.60.0.1/24 dev c0
		link set c0 up
		neigh add 10.60.0.2 lladdr 02:00:00:00:0d:01 dev c0 nud permanent
	EOF
	ip -n l2d -b - <<-EOF
		link set lo up
		addr add 10.60.0.2/24 dev d0
		link set d0 up
	EOF
	# The router's replies and forwarded packets need no ARP, nor reverse
	# path checks on the VLAN devices.
	ip netns exec l2r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net/ipv4/conf/r0/rp_filter=0 net/ipv4/conf/r0.10/rp_filter=0 \
		net/ipv4/conf/r0.100.200/rp_filter=0 net/ipv4/conf/r0.30/rp_filter=0
	ip netns exec l2s sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
		net.bridge.bridge-nf-filter-vlan-tagged=1
	# Every hook of the router and the switch's FORWARD, both families.
	local rules='*filter
-A INPUT -j NETFLOW
-A OUTPUT -j NETFLOW
-A FORWARD -j NETFLOW
COMMIT'
	ip netns exec l2r iptables-legacy-restore <<<"$rules"
	ip netns exec l2r ip6tables-legacy-restore <<<"$rules"
	printf '*filter\n-A FORWARD -j NETFLOW\nCOMMIT\n' | ip netns exec l2s iptables-legacy-restore
}

# NF_PROTOS (check.sh gives the debug kernel 10 only): the protocols.
for proto in ${NF_PROTOS:-9 10}; do
	case $proto in 9 | 10) ;; *) continue ;; esac
	check "v$proto: insmod the all-flags build" insmod "$build/ipt_NETFLOW.ko" protocol=$proto \
		inactive_timeout=60 destination=127.0.0.1:2055,127.0.0.1:2056
	l2_setup
	python3 "$here/l2.py" "$proto" 2>&1 | tee /tmp/l2.out
	grep -q '^# l2.py done' /tmp/l2.out || fail "l2.py v$proto ran to the end" "$(tail -n 20 /tmp/l2.out)"
	l2_teardown
	if [ "$proto" = 10 ]; then
		python3 "$here/promisc.py" 2>&1 | tee /tmp/promisc.out
		grep -q '^# promisc.py done' /tmp/promisc.out ||
			fail "promisc.py ran to the end" "$(tail -n 20 /tmp/promisc.out)"
	fi
	check "v$proto: rmmod" rmmod ipt_NETFLOW
done
check "the module is unloaded" bash -c "! lsmod | grep -q ipt_NETFLOW"
suite_end
