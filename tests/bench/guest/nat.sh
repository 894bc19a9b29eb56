# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/bench/guest/bench.sh at its end: the NAT events workload
# (our module only). Needs bench.sh's load, unload, snmp, die, pg_start,
# pg_stop and side.
#
# Topology: pktgen on bg1 (root namespace, 10.6.0.1) sends 60-byte UDP
# packets through a veth pair to bn0 in namespace nfn, a router that
# forwards them to 10.7.0.2 on a dummy device dn0 (whose transmit frees
# them) and masquerades what leaves through dn0. Source port (15625 values)
# and destination port (64) step on every packet, so the traffic cycles
# through a million distinct connections: every packet is a new conntrack
# entry, NATed (its port kept: one source address, no clash) and confirmed,
# which is when conntrack reports it to its listeners. UDP conntrack
# timeouts are 1 s in nfn, so the entries of earlier packets die (conntrack
# reports that too) and the table stays near the rate x 2 s; the
# conntrack limit is raised far above that.
#
# pktgen sends back to back (no delay), as in the per-packet measurements,
# so CPU 0 is never idle. Under -icount guest time is the sum of the
# instructions both vCPUs execute (qemu runs them in turn; checked: a
# fixed job on CPU 1 took exactly as much longer, with pktgen flooding on
# CPU 0, as the packets sent meanwhile cost alone), so 1/rate is the
# virtual time (and, / 8 ns, the instructions) the whole machine spends per
# new connection, wherever it is spent: pktgen, conntrack and NAT, the
# events, the scanner that drains and exports them, conntrack's garbage
# collector. Variants, in alternating order per repetition, each with our
# module freshly loaded and exporting to sink.py in --hold mode (it reads
# nothing until the end, so the collector's CPU does not count; the kernel's
# loopback delivery to its socket does); no NETFLOW rule, so the only
# records are NAT events:
#   off       natevents=0
#   listener  natevents=0 and ctlisten.py subscribed to the same conntrack
#             events without reading them: conntrack's own cost of the
#             events (built, sent and dropped), which any listener pays
#   on        natevents=1
#
# Output per run: one "N ..." line: the window's figures, then the totals
# of the run (the capture switched off after the traffic).
#
# Knobs: BENCH_NAT_REPS (2), BENCH_NAT_SECS (window, 4 s), BENCH_NAT_WARM
# (3 s), BENCH_NAT_PROTOCOL (10: IPFIX; 9 or 5).
# shellcheck shell=bash

nat_reps=${BENCH_NAT_REPS:-2}
nat_secs=${BENCH_NAT_SECS:-4}
nat_warm=${BENCH_NAT_WARM:-3}
nat_proto=${BENCH_NAT_PROTOCOL:-10}
nfn() { ip netns exec nfn "$@"; }

ip netns del nfn 2>/dev/null
ip netns add nfn
ip link add bg1 type veth peer name bn0 netns nfn
sysctl -qw net.ipv6.conf.bg1.disable_ipv6=1
nfn sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip addr add 10.6.0.1/24 dev bg1
ip link set bg1 up
nfn ip link set lo up
nfn ip addr add 10.6.0.2/24 dev bn0
nfn ip link set bn0 up
nfn ip link add dn0 type dummy || die "dummy device"
nfn ip addr add 10.7.0.1/24 dev dn0
nfn ip link set dn0 up
nfn sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.bn0.rp_filter=0
nfn iptables-legacy -t nat -A POSTROUTING -o dn0 -j MASQUERADE || die "MASQUERADE rule"
sysctl -qw net.netfilter.nf_conntrack_max=1048576 || die "nf_conntrack_max"
nfn sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 net.netfilter.nf_conntrack_udp_timeout_stream=1 ||
	die "UDP conntrack timeouts"
# A process in nfn, so that its /proc/PID/net shows nfn's devices and
# netlink sockets to the shell's builtins (no fork while measuring).
"${side[@]}" ip netns exec nfn sleep 100000 &
nat_holder=$!

pgn() { echo "$1" >/proc/net/pktgen/bg1 || die "pktgen: $1"; }
echo "rem_device_all" >/proc/net/pktgen/kpktgend_0
echo "add_device bg1" >/proc/net/pktgen/kpktgend_0 || die "pktgen add_device bg1"
pgn "count 0"
pgn "clone_skb 0"
pgn "pkt_size 60"
pgn "delay 0"
pgn "burst 1"
pgn "dst 10.7.0.2"
pgn "dst_mac $(nfn cat /sys/class/net/bn0/address)"
pgn "udp_src_min 10000"
pgn "udp_src_max 25625"
pgn "udp_dst_min 1000"
pgn "udp_dst_max 1064"

# nat_snap NAME: the counters read at the edges of the window, into the
# associative array NAME, with shell builtins only (no fork, whose CPU
# would count): time (us), packets delivered to bn0, packets forwarded
# through dn0 (NATed and confirmed: new conntrack entries, as each packet
# is a new connection), per-CPU busy jiffies (user, nice, system, irq and
# softirq, as the churn workload counts them), the drops of conntrack
# event sockets and the module's NAT event counts.
# shellcheck disable=SC2154 # NAME's keys, not variables
nat_snap() {
	local -n s=$1
	local line name u n sy irq sirq rest f cpu=0
	s[t]=${EPOCHREALTIME/[.,]/}
	read -r line </sys/class/net/bg1/statistics/tx_packets
	s[tx]=$line
	while read -r line; do
		line=${line/:/ }
		read -r -a f <<<"$line"
		[ "${f[0]}" = dn0 ] && s[fwd]=${f[10]}
	done </proc/"$nat_holder"/net/dev
	while read -r name u n sy _ _ irq sirq rest; do
		case $name in
		cpu[0-9]*)
			s[busy$cpu]=$((u + n + sy + irq + sirq))
			cpu=$((cpu + 1))
			;;
		esac
	done </proc/stat
	s[cpus]=$cpu
	# Events dropped by full conntrack event sockets in nfn (ctnetlink's
	# groups 1 and 3: ctlisten.py's, whose drops are the events sent to it).
	s[nl_drops]=0
	while read -r -a f; do
		[ "${f[1]}" = 12 ] && [ "${f[3]}" = 00000005 ] && s[nl_drops]=$((s[nl_drops] + f[8]))
	done </proc/"$nat_holder"/net/netlink
	s[start]=0 s[stop]=0 s[lost]=0
	while read -r line; do
		if [[ $line =~ ^Natevents.*start\ ([0-9]+),\ stop\ ([0-9]+),\ lost\ ([0-9]+) ]]; then
			s[start]=${BASH_REMATCH[1]} s[stop]=${BASH_REMATCH[2]} s[lost]=${BASH_REMATCH[3]}
		fi
	done </proc/net/stat/ipt_netflow
}

# nat_ct NAME: nfn's conntrack entries and its failure counters (summed
# over CPUs) into NAME; forks conntrack, so only outside the window.
# shellcheck disable=SC2154
nat_ct() {
	local -n s=$1
	local w
	s[entries]=$(nfn conntrack -C 2>/dev/null)
	s[invalid]=0 s[insert_failed]=0 s[drop]=0 s[early_drop]=0
	for w in $(nfn conntrack -S 2>/dev/null); do
		case $w in
		invalid=* | insert_failed=* | drop=* | early_drop=*)
			s[${w%%=*}]=$((s[${w%%=*}] + ${w#*=})) ;;
		esac
	done
}

# nat_run VARIANT REP: VARIANT is off (natevents=0), listener (natevents=0
# and ctlisten.py subscribed in nfn: conntrack's own cost of the events)
# or on (natevents=1).
nat_run() {
	local variant=$1 rep=$2 ev=0 sink sink_out u0 u1 i k busy='' err listener=
	local -A z a b c ca cb
	[ "$variant" = on ] && ev=1
	sink_out=/tmp/sink.nat-$variant.$rep
	u0=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
	rm -f "$sink_out" "$sink_out.ready"
	"${side[@]}" python3 "$here/sink.py" 2055 "$sink_out" --hold &
	sink=$!
	for _ in $(seq 1 100); do [ -e "$sink_out.ready" ] && break; sleep 0.1; done
	# A clean table: no event of the run before, no entry to reuse.
	nfn conntrack -F 2>/dev/null
	load ours protocol="$nat_proto" destination=127.0.0.1:2055 natevents="$ev"
	if [ "$variant" = listener ]; then
		rm -f /tmp/ctlisten.ready
		"${side[@]}" ip netns exec nfn python3 "$here/ctlisten.py" /tmp/ctlisten.ready &
		listener=$!
		for _ in $(seq 1 100); do [ -e /tmp/ctlisten.ready ] && break; sleep 0.1; done
		[ -e /tmp/ctlisten.ready ] || die "ctlisten.py did not start"
	fi
	nat_ct ca
	nat_snap z
	pg_start
	sleep "$nat_warm"
	nat_snap a
	sleep "$nat_secs"
	nat_snap b
	nat_ct cb
	pg_stop
	if [ -n "$listener" ]; then
		kill -TERM "$listener"
		wait "$listener" 2>/dev/null
	fi
	# The entries left die later, when conntrack's garbage collector gets
	# to them (its interval adapts, up to a minute): rather than wait, the
	# capture is switched off a second after the traffic, so that the
	# events it took are a closed set; the scanner sends them (a partly
	# filled packet waits at most a second) and the sink must receive
	# every one.
	sleep 1
	[ "$ev" = 1 ] && sysctl -qw net.netflow.natevents=0
	sleep 2
	nat_snap c
	nat_ct c
	err=$(snmp errTotal)
	unload
	sleep 0.5
	kill -TERM "$sink"
	wait "$sink" 2>/dev/null
	u1=$(awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
	local us=$((b[t] - a[t]))
	for ((i = 0; i < a[cpus]; i++)); do
		k=busy$i
		busy+=${busy:+,}$(((b[$k] - a[$k]) * 10 * 1000000 / us))
	done
	echo "N variant=$variant natevents=$ev rep=$rep proto=$nat_proto us=$us pkts=$((b[tx] - a[tx])) pps=$(((b[tx] - a[tx]) * 1000000 / us))" \
		"conns=$((b[fwd] - a[fwd])) conns_per_s=$(((b[fwd] - a[fwd]) * 1000000 / us))" \
		"busy_permille_per_cpu=$busy entries=${cb[entries]}" \
		"ev_start=$((b[start] - a[start])) ev_stop=$((b[stop] - a[stop])) listener_events=$((b[nl_drops] - a[nl_drops]))" \
		"invalid=$((c[invalid] - ca[invalid])) insert_failed=$((c[insert_failed] - ca[insert_failed]))" \
		"ct_drop=$((c[drop] - ca[drop])) early_drop=$((c[early_drop] - ca[early_drop]))" \
		"total_conns=$((c[fwd] - z[fwd])) start=${c[start]} stop=${c[stop]} lost=${c[lost]} err=$err" \
		"sink=$(cat "$sink_out" 2>/dev/null || echo -) udp_rcvbuf_errors=$((u1 - u0))"
}

t_nat=$(now)
for rep in $(seq 1 "$nat_reps"); do
	order=(off listener on)
	[ $((rep % 2)) = 0 ] && order=(on listener off)
	for v in "${order[@]}"; do nat_run "$v" "$rep"; done
done
kill "$nat_holder" 2>/dev/null
wait "$nat_holder" 2>/dev/null
echo "rem_device_all" >/proc/net/pktgen/kpktgend_0
ip netns del nfn
echo "# NAT events workload done in $((($(now) - t_nat) / 1000000)) s"
