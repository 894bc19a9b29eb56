#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: per-packet cost, memory per flow and export throughput of our
# module and of the original C module (Debian's iptables-netflow-dkms 2.6,
# built here at bench time, never committed), in the same VM.
#
#   tests/bench/bench.sh                 both kernels (plain 6.12 and 7.3)
#   BENCH_KERNELS=6.12 tests/bench/bench.sh
#
# Per kernel: builds the plain (non-debug) test kernel if it is not cached,
# our module against it, pktgen (the tree's own net/core/pktgen.ko, or
# pktgen.c built out of tree when the tree has none) and the original
# module, then boots the kernel and runs tests/bench/guest/bench.sh, whose
# raw lines go to build/bench/KERNEL.raw. tests/bench/report.py turns all
# raw files into build/bench/report.md (also printed), tests/bench/plot.py into
# the SVG figures in docs/bench/.
#
# BENCH_BUILD=all measures the build with every flow field of configure
# (NF_ALL_FLAGS in scripts/common.sh) as "ours", for the cost of those
# fields; its raw lines go to build/bench/KERNEL-all.raw.
#
# Guest knobs are passed through: BENCH_FLOWS, BENCH_REPS, BENCH_REPS_BIG,
# BENCH_WINDOW, BENCH_EXPORT_REPS, BENCH_EXPORT_SECS, BENCH_NAT_REPS,
# BENCH_NAT_SECS, BENCH_NAT_WARM, BENCH_NAT_PROTOCOL (see the guest scripts).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/common.sh"

kernels=${BENCH_KERNELS:-6.12 7.3}
out=$top/build/bench
mkdir -p "$out"
"$top/scripts/install-deps.sh" >&2

. "$here/lib.sh"

for k in $kernels; do
	tree=$("$top/scripts/build-kernel.sh" "$k")
	ours=$("$top/tests/vm/build-module.sh" "$k" ${BENCH_BUILD:+"$BENCH_BUILD"})
	pktgen=$(pktgen_for "$k" "$tree")
	theirs=$(theirs_for "$k" "$tree")
	log "bench on $k (original module: ${theirs:-does not build})"
	{
		qemu_opts=${BENCH_QEMU_OPTS--icount shift=3}
		echo "# kernel-flavor $k${BENCH_BUILD:+ (our build: $BENCH_BUILD flow fields)}"
		echo "# qemu-opts $qemu_opts"
		# The reason, not the errors of configure's feature probes (expected).
		[ -z "$theirs" ] && grep -E '^Error: |^test\.c:[0-9]+:[0-9]+: error|ipt_NETFLOW\.c:[0-9]+:[0-9]+: error' "$out/$k/theirs/theirs.log" |
			head -n 6 | sed 's/^/# theirs-build-error /'
		envs=()
		for v in BENCH_FLOWS BENCH_REPS BENCH_REPS_BIG BENCH_WINDOW BENCH_EXPORT_REPS BENCH_EXPORT_SECS \
			BENCH_NAT_REPS BENCH_NAT_SECS BENCH_NAT_WARM BENCH_NAT_PROTOCOL BENCH_DEBUG; do
			[ -n "${!v:-}" ] && envs+=("$v=${!v}")
		done
		NF_VM_MEMORY=${NF_VM_MEMORY:-3G} NF_VM_TIMEOUT=${NF_VM_TIMEOUT:-5400} \
			NF_VM_QEMU_OPTS=$qemu_opts \
			"$top/tests/vm/run-vm.sh" "$k" env "${envs[@]}" "$here/guest/bench.sh" "$pktgen" "$ours" $theirs
	} | tee "$out/$k${BENCH_BUILD:+-$BENCH_BUILD}.raw"
done
raws=()
for k in $kernels; do raws+=("$out/$k${BENCH_BUILD:+-$BENCH_BUILD}.raw"); done
python3 "$here/report.py" "${raws[@]}" | tee "$out/report.md"
# The figures beside BENCHMARKS.md's tables.
python3 "$here/plot.py" "$top/docs/bench" "${raws[@]}"
