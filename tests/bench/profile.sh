#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Where the target's instructions go, ours against the original:
#
#   tests/bench/profile.sh [KERNEL]      (default 6.12)
#   PROFILE_MODE=new tests/bench/profile.sh   packets that create their flow
#   PROFILE_MODE=scan tests/bench/profile.sh  the exporter's runs under churn
#   PROFILE_IMPLS=theirs ...                   one module only (default both)
#
# Boots the plain test kernel with qemu's gdb stub, keeps pktgen sending one
# flow through the benchmark's `-j NETFLOW` rule and, for each module in
# turn, single-steps three whole calls of its target function with gdb
# (tests/bench/gdb_trace.py). The report (tests/bench/trace_report.py)
# gives the instructions per call and their split over functions, callees
# included: the exact path a found-flow packet takes, which the emulator's
# instruction counts of `make bench` only show as a total. In scan mode the
# traced function is the exporter's work function, and the report divides
# by the records each run freed (its entries into kmem_cache_free): the
# scanner's instructions per exported flow.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/common.sh"
k=${1:-6.12}
out=$top/build/bench
mkdir -p "$out"
. "$here/lib.sh"

tree=$("$top/scripts/build-kernel.sh" "$k")
ours=$("$top/tests/vm/build-module.sh" "$k")
pktgen=$(pktgen_for "$k" "$tree")
theirs=$(theirs_for "$k" "$tree")
vmout=$top/build/vm-out/profile-$k
port=$((20000 + RANDOM % 20000))
rm -rf "$vmout"
mode=${PROFILE_MODE:-found}
limit=200000 per=
[[ $mode = scan ]] && limit=100000 per=kmem_cache_free
NF_VM_OUT=$vmout NF_VM_QEMU_OPTS="-gdb tcp::$port" NF_VM_TIMEOUT=1800 \
	"$top/tests/vm/run-vm.sh" "$k" env PROFILE_MODE="$mode" PROFILE_IMPLS="${PROFILE_IMPLS:-ours theirs}" "$here/guest/profile.sh" "$pktgen" "$vmout" "$ours" $theirs &
vm=$!
done_impls=()
while kill -0 "$vm" 2>/dev/null; do
	state=$(cat "$vmout/state" 2>/dev/null || true)
	case $state in
	trace\ *)
		read -r _ impl addr <<<"$state"
		if [[ " ${done_impls[*]} " != *" $impl "* ]]; then
			log "tracing $impl's target at $addr"
			TRACE_PORT=$port TRACE_ADDR=$addr TRACE_CALLS=${TRACE_CALLS:-3} TRACE_OUT=$out/$k.$mode.$impl.trace \
				TRACE_LIMIT=$limit \
				gdb -q -batch -nx -x "$here/gdb_trace.py" >"$out/$k.$mode.$impl.gdb.log" 2>&1 ||
				{ cat "$out/$k.$mode.$impl.gdb.log" >&2; die "gdb failed"; }
			cp "$vmout/$impl.kallsyms" "$out/$k.$impl.kallsyms"
			done_impls+=("$impl")
			touch "$vmout/$impl.done"
		fi
		;;
	fatal\ *) die "guest: $state" ;;
	esac
	sleep 1
done
wait "$vm"
for impl in "${done_impls[@]}"; do
	echo "== $impl on $k"
	# shellcheck disable=SC2086 # no argument when empty
	python3 "$here/trace_report.py" "$out/$k.$impl.kallsyms" "$out/$k.$mode.$impl.trace" $per
done | tee "$out/$k.$mode.profile.txt"
