#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Foundation tests, run inside the VM:
#   foundation.sh BUILD_DIR
# Loads the module, checks the rule checks (nat table, IPv6 under v5),
# then with iptables-legacy and iptables-nft rules in OUTPUT, FORWARD and
# INPUT sends known IPv4 and IPv6 traffic across three namespaces and checks
# the exact packet and byte counts; unloads and checks the kernel log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:?usage: foundation.sh BUILD_DIR}
ko=$build/ipt_NETFLOW.ko
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables
stat=/proc/net/stat/ipt_netflow
version=$(cat "$build/VERSION")
burst=$here/udp_burst.py

# `make install` put the module into the kernel's module tree (the Debian
# stock kernel flavor does; the command suite does on the others): modprobe
# must find it and pull in x_tables, where x_tables is a module of its own
# (the test kernels build it in).
installed=$(modinfo -n ipt_NETFLOW 2>/dev/null || true)
xt_modular=0
grep -q '/x_tables\.ko' "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null || xt_modular=1
modprobe_checks=0
[ -n "$installed" ] && [ "$xt_modular" = 1 ] && [ ! -e /sys/module/x_tables ] && modprobe_checks=3
# Per backend: 10 checks, and one more that compares the per-CPU lines where
# there are several CPUs.
per_backend=$((10 + ($(nproc) > 1 ? 1 : 0)))
plan $((modprobe_checks + 21 + 2 * per_backend + 4))

echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset

if [ "$modprobe_checks" -gt 0 ]; then
	check "modprobe ipt_NETFLOW finds the installed module ($installed)" modprobe ipt_NETFLOW
	check "modprobe loaded x_tables first" test -e /sys/module/x_tables
	check "rmmod the installed module" rmmod ipt_NETFLOW
fi
load_kmods

# The module's kernel log lines since mark $1 (a line count of `dmesg -t`):
# those with its prefixes, less the kernel's own about loading an unsigned
# out-of-tree module (other subsystems print meanwhile, e.g. "hrtimer:
# interrupt took" under emulation), with the hash size and srcversion
# masked: what operators grep for must read as the original's lines, in
# its order.
log_mark() { dmesg -t | wc -l; }
log_since() {
	dmesg -t | tail -n +$(($1 + 1)) | grep -E '^(ipt_NETFLOW|netflow:)' |
		grep -Ev 'loading out-of-tree module taints kernel|module verification failed' |
		sed -E 's/hashsize [0-9]+ \([0-9]+K\)/hashsize N (NK)/; s/srcversion [0-9A-F]+$/srcversion S/'
}

# --- Loading, identity, parameter validation ------------------------------
check "insmod refuses protocol=7" bash -c "! insmod $ko protocol=7"
mark=$(log_mark)
check "insmod with defaults" insmod "$ko"
check_eq "kernel log at load" "ipt_NETFLOW version $version, srcversion S
ipt_NETFLOW: hashsize N (NK)
netflow: registering: /proc/net/stat/ipt_netflow
netflow: registered: /proc/net/stat/ipt_netflow
netflow: registering: /proc/net/stat/ipt_netflow_snmp
netflow: registered: /proc/net/stat/ipt_netflow_snmp
netflow: registering: /proc/net/stat/ipt_netflow_flows
netflow: registered: /proc/net/stat/ipt_netflow_flows
netflow: registered: sysctl net.netflow
ipt_NETFLOW: added destination 127.0.0.1:2055
ipt_NETFLOW protocol version 5 (NetFlow) enabled.
ipt_NETFLOW is loaded." "$(log_since "$mark")"
# The tags: the run-time features always, the compiled-in features of the
# build (configure's --enable-direction, -macaddress, -promisc,
# --promisc-mpls, --enable-vlan) in the original's order.
features=" $(sed -n 's/^NF_FEATURES := //p' "$build/config.mk" 2>/dev/null) "
tags=aggr
case $features in *" direction "*) tags="$tags dir" ;; esac
case $features in *" mac "*) tags="$tags mac" ;; esac
tags="$tags nel"
case $features in
*" promisc-mpls "*) tags="$tags promisc\\+mpls" ;; # a regular expression
*" promisc "*) tags="$tags promisc" ;;
esac
tags="$tags samp-h snmp"
case $features in *" vlan "*) tags="$tags vlan" ;; esac
check "version line" grep -Eq "^ipt_NETFLOW $version, srcversion [0-9A-F]+; $tags\$" $stat
check_eq "protocol line for v5" "Protocol version 5 (netflow)" "$(sed -n 2p $stat)"
check "per-CPU table header" grep -qxF \
	"cpu#     pps; <search found new [metric], trunc frag alloc maxflows>, traffic: <pkt, bytes>, drop: <pkt, bytes>" $stat
check "snmp file lists inPackets" grep -q '^inPackets    0$' /proc/net/stat/ipt_netflow_snmp
check "modinfo version" bash -c "[ \"\$(cat /sys/module/ipt_NETFLOW/version)\" = '$version' ]"

netns_setup
check "iptables -j NETFLOW -h prints the target's help" bash -c "iptables-legacy -j NETFLOW -h | grep -q 'NETFLOW target'"
check "ip6tables rule refused while protocol is 5" bash -c "! ip netns exec nfr ip6tables-legacy -A FORWARD -j NETFLOW"
check "kernel log says why (v5)" bash -c "dmesg | grep -q 'ip6tables NETFLOW target is meaningful for protocol 9 or 10 only.'"
check "nat table rule refused" bash -c "! ip netns exec nfr iptables-legacy -t nat -A POSTROUTING -j NETFLOW"
check "kernel log says why (nat)" bash -c "dmesg | grep -q 'NETFLOW target: is not valid in nat table'"
# iptables-nft can fail for reasons of its own (no nat support in the
# kernel, a missing chain): the refusal must be the module's, seen by its
# message, and the same rule must be accepted in another table.
nat_msgs() { dmesg | grep -c 'NETFLOW target: is not valid in nat table'; }
n0=$(nat_msgs)
check "nft nat table rule refused" bash -c "! ip netns exec nfr iptables-nft -t nat -A POSTROUTING -j NETFLOW"
check_eq "kernel log says why (nft nat)" $((n0 + 1)) "$(nat_msgs)"
check "nft accepts the same rule in mangle" bash -c "ip netns exec nfr iptables-nft -t mangle -A POSTROUTING -j NETFLOW &&
	ip netns exec nfr iptables-nft -t mangle -D POSTROUTING -j NETFLOW"
mark=$(log_mark)
check "rmmod" rmmod ipt_NETFLOW
# The original's lines, and ours after the last flush: the totals since
# load (nothing was metered since this load).
check_eq "kernel log at unload" "ipt_NETFLOW unloading..
ipt_NETFLOW: since load: exported 0 flows of 0 packets, lost 0 flows of 0 packets
ipt_NETFLOW: removed destination 127.0.0.1:2055
ipt_NETFLOW unloaded." "$(log_since "$mark")"

mark=$(log_mark)
check "insmod protocol=10" insmod "$ko" protocol=10
check "kernel log names IPFIX as the original" bash -c "dmesg -t | tail -n +$((mark + 1)) | grep -qxF 'ipt_NETFLOW protocol version 10 (IPFIX) enabled.'"
# The templates count is 0 or 3: the system-information and interface
# options records (and their templates) go out with the first scan.
check "protocol line for IPFIX" bash -c "sed -n 2p $stat | grep -Eqx \
	'Protocol version 10 \(ipfix\), refresh-rate 20, timeout-rate 30, \(templates ([0-9]+), active \1\)\.'"

# --- Exact counting through real rules -------------------------------------
rules() { # rules legacy|nft -A|-D
	local t
	for t in iptables ip6tables; do
		ip netns exec nfa $t-$1 $2 OUTPUT -p udp --dport 5000:5999 -j NETFLOW &&
			ip netns exec nfr $t-$1 $2 FORWARD -p udp --dport 5000:5999 -j NETFLOW &&
			ip netns exec nfb $t-$1 $2 INPUT -p udp --dport 5000:5999 -j NETFLOW || return 1
	done
}

# exchange DST PORT SIZES REPEAT: sends from nfa to nfb; prints "PACKETS BYTES RECEIVED"
exchange() {
	local dst=$1 port=$2 sizes=$3 repeat=$4 n bytes got
	n=$(($(echo "$sizes" | tr , '\n' | wc -l) * repeat))
	ip netns exec nfb python3 "$burst" recv "$dst" "$port" "$n" >/tmp/recv.$port &
	# Python starts slowly on the debug kernel under emulation: wait up to 60 s.
	for _ in $(seq 600); do grep -q ready /tmp/recv.$port 2>/dev/null && break; sleep 0.1; done
	bytes=$(ip netns exec nfa python3 "$burst" send "$dst" "$port" "$sizes" "$repeat")
	wait
	got=$(tail -n1 /tmp/recv.$port)
	echo "$n $bytes $got"
}

sizes=0,1,100,1000,1400
for backend in legacy nft; do
	check "$backend: add IPv4 and IPv6 rules in OUTPUT, FORWARD, INPUT" rules $backend -A
	check "$backend: iptables -L shows NETFLOW" bash -c \
		"ip netns exec nfr iptables-$backend -L FORWARD -n | grep -q '^NETFLOW '"
	check "$backend: iptables-save prints -j NETFLOW" bash -c \
		"ip netns exec nfr iptables-$backend-save | grep -q -- '--dport 5000:5999 -j NETFLOW\$'"
	p0=$(snmp inPackets) b0=$(snmp inBytes)
	read -r n4 bytes4 got4 < <(exchange 10.2.0.2 5004 $sizes 20)
	read -r n6 bytes6 got6 < <(exchange fd02::2 5006 $sizes 20)
	check_eq "$backend: all IPv4 datagrams arrived" "$n4" "$got4"
	check_eq "$backend: all IPv6 datagrams arrived" "$n6" "$got6"
	p1=$(snmp inPackets) b1=$(snmp inBytes)
	# Every datagram crosses three rules: OUTPUT in nfa, FORWARD in nfr, INPUT in nfb.
	check_eq "$backend: packets counted once per rule" $((3 * (n4 + n6))) $((p1 - p0))
	check_eq "$backend: bytes (IP length) counted once per rule" $((3 * (bytes4 + bytes6))) $((b1 - b0))
	total_pkts=$(awk '$1 == "Total" { gsub(",", "", $12); print $12 }' $stat)
	check_eq "$backend: Total line agrees with the snmp file" "$p1" "$total_pkts"
	cpu_sum=$(awk '$1 ~ /^cpu[0-9]/ && $1 != "cpu#" { gsub(",", "", $12); s += $12 } END { print s + 0 }' $stat)
	if [ "$(nproc)" -gt 1 ]; then
		check_eq "$backend: per-CPU lines add up to Total" "$p1" "$cpu_sum"
	fi
	check_eq "$backend: nothing dropped or truncated" "0 0" "$(snmp dropPackets) $(awk '$1 ~ /^cpu/ { t += $9 } END { print t + 0 }' /proc/net/stat/ipt_netflow_snmp)"
	check "$backend: delete the rules" rules $backend -D
done

p0=$(snmp inPackets)
exchange 10.2.0.2 5004 100 5 >/dev/null
check_eq "no rules, nothing counted" "$p0" "$(snmp inPackets)"

netns_teardown
check "rmmod" rmmod ipt_NETFLOW
check "/proc files are gone" bash -c "[ ! -e $stat ] && [ ! -e /proc/net/stat/ipt_netflow_snmp ]"
check "reload after unload" bash -c "insmod $ko && rmmod ipt_NETFLOW"
suite_end
