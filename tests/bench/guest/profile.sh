#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Instruction-trace profile, guest side (tests/bench/profile.sh drives it):
#
#   profile.sh PKTGEN_KO OUT_DIR OURS_BUILD_DIR [THEIRS_KO]
#
# For each module in turn: loads it, adds the benchmark's `-j NETFLOW` rule,
# writes the address of the module's target function and a copy of
# /proc/kallsyms to OUT_DIR (shared with the host), keeps pktgen sending one
# flow through the rule, and waits until the host, whose gdb single-steps
# a few calls of that function, creates OUT_DIR/IMPL.done.
#
# PROFILE_MODE=found (default): one flow that stays in the table, so every
# traced packet finds its flow. PROFILE_MODE=new: 65536 flows that time out
# after a second, so nearly every traced packet creates its flow.
# PROFILE_MODE=scan: churn like make bench's export row (65536 flows,
# timeouts of 1 s, NetFlow v5 to a sink on 127.0.0.1:2055) at a quarter of
# its rate, and the traced function is the exporter's work function
# instead of the target.
set -u
mode=${PROFILE_MODE:-found}
pktgen_ko=${1:?usage: profile.sh PKTGEN_KO OUT_DIR OURS_BUILD_DIR [THEIRS_KO]}
out=${2:?}
ours_dir=${3:?}
theirs_ko=${4:-}
export XTABLES_LIBDIR=$ours_dir/libxt:/usr/lib/x86_64-linux-gnu/xtables
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "# FATAL: $*"; echo "fatal $*" >"$out/state"; exit 1; }
nfb() { ip netns exec nfb "$@"; }
pg() { echo "$1" >/proc/net/pktgen/bg0 || die "pktgen: $1"; }

. "$here/topology.sh"
pg "count 0"
pg "clone_skb 0"
pg "pkt_size 60"
pg "delay 0"
pg "dst 10.9.0.2"
pg "dst_mac $mac"
pg "src_min 10.10.0.0"
if [ "$mode" = found ]; then pg "src_max 10.10.0.0"; else pg "src_max 10.10.255.255"; fi
# A scan at full rate takes out hundreds of flows, more than gdb can step
# through in reasonable time (about a hundred instructions a second): 5000
# packets a second (each a new flow) keep a run to a few dozen.
[ "$mode" = scan ] && pg "delay 200000"
pg "udp_src_min 10000"
pg "udp_src_max 10001"
pg "udp_dst_min 9"
pg "udp_dst_max 9"
echo 0 >/proc/sys/kernel/kptr_restrict

profile() {
	local impl=$1 ko=$2 symbol=$3 addr
	local timeouts="inactive_timeout=1000 active_timeout=1800" sink=
	[ "$mode" = found ] || timeouts="inactive_timeout=1 active_timeout=1 maxflows=2000000"
	if [ "$mode" = scan ]; then
		# The bench's sink, on the CPU pktgen leaves alone.
		rm -f /tmp/sink.ready
		taskset -c 1 python3 "$here/sink.py" 2055 /tmp/sink &
		sink=$!
		for _ in $(seq 1 100); do [ -e /tmp/sink.ready ] && break; sleep 0.1; done
	fi
	# shellcheck disable=SC2086 # several words
	insmod "$ko" hashsize=65536 $timeouts protocol=5 destination=127.0.0.1:2055 || die "insmod $ko"
	nfb iptables-legacy -t raw -A PREROUTING -j NETFLOW || die "NETFLOW rule ($impl)"
	cp /proc/kallsyms "$out/$impl.kallsyms"
	addr=$(awk -v s="$symbol" '$3 ~ s && $4 == "[ipt_NETFLOW]" { print $1; exit }' /proc/kallsyms)
	[ -n "$addr" ] || die "no symbol matching $symbol"
	# Warm up: the flow exists (or the table is in its steady state) before
	# the host starts tracing.
	(echo start >/proc/net/pktgen/pgctrl) &
	local pg_pid=$!
	sleep 3
	echo "trace $impl 0x$addr" >"$out/state"
	while [ ! -e "$out/$impl.done" ]; do sleep 0.5; done
	echo stop >/proc/net/pktgen/pgctrl
	wait "$pg_pid" 2>/dev/null
	nfb iptables-legacy -t raw -F PREROUTING
	rmmod ipt_NETFLOW || die "rmmod"
	if [ -n "$sink" ]; then
		kill -TERM "$sink"
		wait "$sink" 2>/dev/null
	fi
}

# PROFILE_IMPLS: which modules, of "ours theirs".
impls=${PROFILE_IMPLS:-ours theirs}
if [ "$mode" = scan ]; then
	ours_fn='run_work.*Scanner' theirs_fn='^netflow_work_fn$'
else
	# The IPv4 instance of sys::xtables::target_fn (V6 = false: "Kb0_").
	ours_fn='xtables9target_fn.*Kb0_' theirs_fn='^netflow_target$'
fi
[[ " $impls " = *" ours "* ]] && profile ours "$ours_dir/ipt_NETFLOW.ko" "$ours_fn"
[[ " $impls " = *" theirs "* ]] && [ -n "$theirs_ko" ] && profile theirs "$theirs_ko" "$theirs_fn"
echo "finished" >"$out/state"
