#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmark run inside the VM:
#
#   bench.sh PKTGEN_KO OURS_BUILD_DIR [THEIRS_KO]
#
# pktgen (kernel thread on CPU 0) sends 60-byte UDP packets from bg0 (root
# namespace) through a veth pair to bb0 in namespace nfb, whose raw
# PREROUTING chain has policy DROP: packets are dropped right after the raw
# table, so conntrack, routing and sockets are never measured. Variants of
# that chain:
#   none     no rule at all (the policy only)
#   noop     one rule with no match and no target ("-A PREROUTING"): the
#            same rule traversal and counter update as a NETFLOW rule, minus
#            the target call
#   ours     "-j NETFLOW" with our module loaded
#   theirs   "-j NETFLOW" with the original C module loaded
#   ours+hash4   ours with sampler=hash:4 (packets of three flows in four
#            are not metered)
#   ours+aggr16  ours with 16 aggregation rules that match none of the
#            packets (each is compared with every rule)
#
# Method: veth has no queue of its own and its peer receives through
# netif_rx() on the sending CPU; pktgen transmits with bottom halves
# disabled and its local_bh_enable() runs the NET_RX softirq right away, so
# each packet is received (through the whole PREROUTING path) before
# pktgen builds the next. Sender and receiver are serialised on CPU 0: the
# time per packet is t_gen + t_rx, and the difference of 1/pps between two
# variants is exactly the cost of what differs (the rule, the target). The
# rate is counted on the receive side: packets delivered to bb0 (bg0's
# tx_packets, the same counter veth reports as bb0's rx_packets) per second
# of wall time, over a window after a warm-up that has touched every flow.
# Drops (veth tx_dropped) are reported; with this serialisation there are
# none.
#
# Output: one "R ..." line per measurement, "M ..." memory lines, "X ..."
# export lines, "N ..." NAT events lines (nat.sh), "#" comments. The host
# script turns them into tables.
#
# Knobs (environment): BENCH_FLOWS, BENCH_REPS, BENCH_REPS_BIG (flow counts
# above 100000), BENCH_WINDOW (s), BENCH_EXPORT_REPS, BENCH_EXPORT_SECS;
# BENCH_NAT_REPS (0: no NAT events workload), BENCH_NAT_SECS,
# BENCH_NAT_WARM, BENCH_NAT_PROTOCOL (see nat.sh).
set -u
pktgen_ko=${1:?usage: bench.sh PKTGEN_KO OURS_BUILD_DIR [THEIRS_KO]}
ours_dir=${2:?}
theirs_ko=${3:-}
export XTABLES_LIBDIR=$ours_dir/libxt:/usr/lib/x86_64-linux-gnu/xtables
flows_list=${BENCH_FLOWS:-1 1000 65536 1000000}
reps=${BENCH_REPS:-5}
reps_big=${BENCH_REPS_BIG:-2}
window=${BENCH_WINDOW:-2}
export_reps=${BENCH_EXPORT_REPS:-2}
export_secs=${BENCH_EXPORT_SECS:-4}
here=$(cd "$(dirname "$0")" && pwd)

impls=(ours)
[ -n "$theirs_ko" ] && impls+=(theirs)
ko_of() { if [ "$1" = ours ]; then echo "$ours_dir/ipt_NETFLOW.ko"; else echo "$theirs_ko"; fi; }

echo "# kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
echo "# flows: $flows_list; reps $reps (big $reps_big); window ${window}s; impls: ${impls[*]}"
# The shell and its sampling run on CPU 1; pktgen's thread is bound to CPU 0.
side=()
if [ "$(nproc)" -gt 1 ]; then
	taskset -pc 1 $$ >/dev/null
	side=(taskset -c 1)
fi

die() { echo "# FATAL: $*"; exit 1; }
now() { echo "${EPOCHREALTIME/[.,]/}"; }   # microseconds, no fork
ctr() { local v; read -r v </sys/class/net/bg0/statistics/"$1"; echo "$v"; }
snmp() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/stat/ipt_netflow_snmp; }
slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }
nfb() { ip netns exec nfb "$@"; }

. "$here/topology.sh"

pg_pid=
pg_start() {
	(echo start >/proc/net/pktgen/pgctrl) &
	pg_pid=$!
}
pg_stop() {
	echo stop >/proc/net/pktgen/pgctrl
	wait "$pg_pid" 2>/dev/null
}

# measure VARIANT FLOWS REP WARM_PKTS: runs pktgen, waits for at least 1 s and
# WARM_PKTS packets, then counts for $window s.
measure() {
	local variant=$1 flows=$2 rep=$3 warm=$4 t0 t1 c0 c1 d0 d1 start deadline
	pktgen_flows "$flows"
	nfb iptables-legacy -t raw -Z
	start=$(ctr tx_packets)
	d0=$(ctr tx_dropped)
	pg_start
	sleep 0.5
	deadline=$(($(now) + 600000000))
	while [ $(($(ctr tx_packets) - start)) -lt "$warm" ] && [ "$(now)" -lt $deadline ]; do sleep 0.2; done
	t0=$(now)
	c0=$(ctr tx_packets)
	sleep "$window"
	c1=$(ctr tx_packets)
	t1=$(now)
	pg_stop
	d1=$(ctr tx_dropped)
	local seen delivered=$(($(ctr tx_packets) - start))
	seen=$(policy_pkts)
	[ "$seen" = "$delivered" ] ||
		echo "# WARNING: $variant/$flows: veth delivered $delivered packets, the raw table saw $seen"
	local pps=$(((c1 - c0) * 1000000 / (t1 - t0)))
	echo "R variant=$variant flows=$flows rep=$rep pps=$pps pkts=$((c1 - c0)) us=$((t1 - t0)) warm=$((c0 - start)) dropped=$((d1 - d0))"
}

# Kernel-wide drops and the chain's policy counter: every packet veth
# delivered must have reached the raw table.
policy_pkts() { nfb iptables-legacy -t raw -L PREROUTING -v -x -n | awk 'NR == 1 { gsub(/[^0-9 ]/, " "); print $1 }'; }

load() {
	local impl=$1
	shift
	insmod "$(ko_of "$impl")" "$@" || die "insmod $impl $*"
}
unload() { rmmod ipt_NETFLOW || die "rmmod"; }

meter_params() {
	# Flows stay in the table for the whole run (no export while metering);
	# the table is sized for the largest flow count.
	echo "hashsize=1048576 maxflows=2000000 inactive_timeout=1000 active_timeout=1800 protocol=5 destination=127.0.0.1:2055"
}

mem_line() {
	local impl=$1 flows=$2 slab0=$3 slab1 active hm osz ssz link
	slab1=$(slab_kb)
	active=$(snmp hashFlows)
	hm=$(snmp hashMemory)
	link=$(readlink -f /sys/kernel/slab/ipt_netflow 2>/dev/null)
	osz=$(cat "$link/object_size" 2>/dev/null || echo -)
	ssz=$(cat "$link/slab_size" 2>/dev/null || echo -)
	local drops
	# cpu lines: cpuN rate notfound pkt traf metric pkt_drop traf_drop trunc frags alloc_err maxflows_err
	drops=$(awk '/^cpu/ { d += $7; a += $11; m += $12 } END { printf "pkt_drop=%d alloc_err=%d maxflows_err=%d", d, a, m }' /proc/net/stat/ipt_netflow_snmp)
	local hash_kb
	hash_kb=$(sed -n 's/^Hash: size [0-9]* (mem \([0-9]*\)K).*/\1/p' /proc/net/stat/ipt_netflow)
	echo "M impl=$impl flows=$flows active=$active hash_memory=$hm hash_bytes=$((hash_kb * 1024)) slab_kb_delta=$((slab1 - slab0)) object_size=$osz slab_size=$ssz slab=$(basename "${link:-none}") $drops"
}

# netflow_run IMPL FLOWS REP [VARIANT [PARAMETER...]]: one measurement of
# IMPL's target, reported as VARIANT (default IMPL), loaded with the
# metering parameters and PARAMETERs.
netflow_run() {
	local impl=$1 flows=$2 rep=$3 variant=${4:-$1} slab0
	shift $(($# < 4 ? $# : 4))
	# shellcheck disable=SC2046
	load "$impl" $(meter_params) "$@"
	slab0=$(slab_kb)
	nfb iptables-legacy -t raw -A PREROUTING -j NETFLOW || die "NETFLOW rule ($variant)"
	measure "$variant" "$flows" "$rep" $((flows + flows / 10))
	[ -n "${BENCH_DEBUG:-}" ] && nfb iptables-legacy -t raw -L PREROUTING -v -x -n | sed 's/^/# dbg /'
	mem_line "$variant" "$flows" "$slab0"
	[ "$rep" = 1 ] && [ "$flows" = 1 ] && sed 's/^/# /' /proc/net/stat/ipt_netflow | head -n 12
	nfb iptables-legacy -t raw -F PREROUTING
	unload
}

# 8 net and 8 port rules; the traffic comes from 10.10.0.0/16, UDP ports
# 10000-25625 to port 9: no rule matches.
aggr16=$(for i in 1 2 3 4 5 6 7 8; do printf '192.168.%d.0/24=16,30%d00-30%d99=30%d00,' $i $i $i $i; done)
aggr16=${aggr16%,}

t_start=$(now)
echo "# raw chain header: $(nfb iptables-legacy -t raw -L PREROUTING -v -x -n | head -n 1)"
for flows in $flows_list; do
	n=$reps
	[ "$flows" -gt 100000 ] && n=$reps_big
	for rep in $(seq 1 "$n"); do
		measure none "$flows" "$rep" 0
		nfb iptables-legacy -t raw -A PREROUTING
		measure noop "$flows" "$rep" 0
		nfb iptables-legacy -t raw -F PREROUTING
		# Alternate which module goes first.
		order=("${impls[@]}")
		[ $((rep % 2)) = 0 ] && [ ${#impls[@]} = 2 ] && order=(theirs ours)
		for impl in "${order[@]}"; do netflow_run "$impl" "$flows" "$rep"; done
		netflow_run ours "$flows" "$rep" ours+hash4 sampler=hash:4
		netflow_run ours "$flows" "$rep" ours+aggr16 "aggregation=$aggr16"
	done
	echo "# flows $flows done at $((($(now) - t_start) / 1000000)) s"
done

# Export under churn: 65536 flows, active and inactive timeouts of 1 s, so
# every flow is exported about once a second while pktgen keeps hitting it;
# NetFlow v5 to a UDP sink on 127.0.0.1:2055 that counts the records.
# Busy jiffies (USER_HZ) per CPU, space separated.
cpu_busy() { awk '/^cpu[0-9]/ { printf "%s%d", (n++ ? " " : ""), $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

export_run() {
	local impl=$1 rep=$2 o0 o1 t0 t1 c0 c1 u0 u1 lost err out active sink_out
	sink_out=/tmp/sink.$impl.$rep
	u0=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
	rm -f "$sink_out" "$sink_out.ready"
	"${side[@]}" python3 "$here/sink.py" 2055 "$sink_out" &
	local sink=$!
	for _ in $(seq 1 100); do [ -e "$sink_out.ready" ] && break; sleep 0.1; done
	load "$impl" hashsize=65536 maxflows=2000000 inactive_timeout=1 active_timeout=1 protocol=5 destination=127.0.0.1:2055
	nfb iptables-legacy -t raw -A PREROUTING -j NETFLOW || die "NETFLOW rule ($impl)"
	pktgen_flows 65536
	pg_start
	sleep 3
	local b0 b1 w0 w1 wo0 wo1
	# The exporters' CPU time is the workqueue threads' (kworker_ns.py); the
	# flows it exported are read right after each reading, so that both
	# windows lag the readings alike.
	w0=$(python3 "$here/kworker_ns.py"); wo0=$(snmp outFlows)
	t0=$(now); o0=$(snmp outFlows); c0=$(ctr tx_packets); b0=$(cpu_busy)
	sleep "$export_secs"
	t1=$(now); o1=$(snmp outFlows); c1=$(ctr tx_packets); b1=$(cpu_busy)
	w1=$(python3 "$here/kworker_ns.py"); wo1=$(snmp outFlows)
	active=$(snmp hashFlows)
	pg_stop
	# Let every flow time out and leave before the totals are read.
	for _ in $(seq 1 30); do [ "$(snmp hashFlows)" = 0 ] && break; sleep 0.5; done
	sleep 1
	out=$(snmp outFlows)
	lost=$(snmp lostFlows)
	err=$(snmp errTotal)
	local left
	left=$(snmp hashFlows)
	local drops
	drops=$(awk '/^cpu/ { d += $7; a += $11; m += $12 } END { printf "pkt_drop=%d alloc_err=%d maxflows_err=%d", d, a, m }' /proc/net/stat/ipt_netflow_snmp)
	[ "$rep" = 1 ] && sed 's/^/# /' /proc/net/stat/ipt_netflow | grep -E 'Flows:|Export:|sock'
	nfb iptables-legacy -t raw -F PREROUTING
	sleep 1
	kill -TERM "$sink"
	wait "$sink" 2>/dev/null
	u1=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
	unload
	local busy
	busy=$(paste -d' ' <(echo "$b0" | tr ' ' '\n') <(echo "$b1" | tr ' ' '\n') |
		awk -v us=$((t1 - t0)) '{ printf "%s%d", (NR > 1 ? "," : ""), ($2 - $1) * 10 * 1000000 / us }')
	echo "X impl=$impl rep=$rep busy_permille_per_cpu=$busy flows_per_s=$(((o1 - o0) * 1000000 / (t1 - t0))) pps=$(((c1 - c0) * 1000000 / (t1 - t0))) kworker_flows=$((wo1 - wo0)) kworker_ns=$((w1 - w0)) active=$active exported=$out left=$left lost=$lost err=$err sink=$(cat "$sink_out") udp_rcvbuf_errors=$((u1 - u0)) $drops"
}

for rep in $(seq 1 "$export_reps"); do
	order=("${impls[@]}")
	[ $((rep % 2)) = 0 ] && [ ${#impls[@]} = 2 ] && order=(theirs ours)
	for impl in "${order[@]}"; do export_run "$impl" "$rep"; done
done

# NAT events: ours with natevents=0 and =1 under a flood of new NATed
# connections (see nat.sh).
[ "${BENCH_NAT_REPS:-2}" -gt 0 ] && . "$here/nat.sh"

echo "rem_device_all" >/proc/net/pktgen/kpktgend_0
ip netns del nfb
rmmod pktgen
echo "# bench done in $((($(now) - t_start) / 1000000)) s"
