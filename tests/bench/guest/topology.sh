# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the benchmark's guest scripts (bench.sh, profile.sh): loads
# pktgen and builds the topology both measure. pktgen on bg0 sends 60-byte
# UDP packets through a veth pair to bb0 in namespace nfb, whose raw
# PREROUTING chain drops them. Needs: $pktgen_ko, die(), nfb().
# shellcheck shell=bash
insmod "$pktgen_ko" 2>/dev/null || lsmod | grep -q '^pktgen' || die "cannot load $pktgen_ko"
ip link set lo up
ip netns del nfb 2>/dev/null
ip netns add nfb
ip link add bg0 type veth peer name bb0 netns nfb
sysctl -qw net.ipv6.conf.bg0.disable_ipv6=1
nfb sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip addr add 10.9.0.1/24 dev bg0
nfb ip addr add 10.9.0.2/24 dev bb0
ip link set bg0 up
nfb ip link set lo up
nfb ip link set bb0 up
mac=$(nfb cat /sys/class/net/bb0/address)
nfb iptables-legacy -t raw -P PREROUTING DROP || die "raw table"
sysctl -qw net.core.rmem_max=67108864

pg() { echo "$1" >/proc/net/pktgen/bg0 || die "pktgen: $1"; }
echo "rem_device_all" >/proc/net/pktgen/kpktgend_0
echo "add_device bg0" >/proc/net/pktgen/kpktgend_0 || die "pktgen add_device"

# Source ranges with exactly FLOWS distinct (saddr, sport) pairs. pktgen steps
# both fields on every packet (sport in [min, max), saddr in [min, max]), so
# two ranges of coprime lengths A and P cycle through A*P pairs.
pktgen_flows() {
	local n=$1 a=1 p=1
	case $n in
	1) ;;
	1000) p=1000 ;;
	65536) a=65536 ;;
	1000000) a=64 p=15625 ;;
	*) die "no source ranges for $n flows" ;;
	esac
	local last=$((a - 1))
	pg "src_min 10.10.0.0"
	pg "src_max 10.10.$((last >> 8)).$((last & 255))"
	pg "udp_src_min 10000"
	pg "udp_src_max $((10000 + p))"
}

pg "count 0"
pg "clone_skb 0"
pg "pkt_size 60"
pg "delay 0"
pg "burst 1"
pg "dst 10.9.0.2"
pg "dst_mac $mac"
pg "udp_dst_min 9"
pg "udp_dst_max 9"

