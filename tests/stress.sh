#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make stress: the stress suite (tests/vm/guest/stress.py) at length, on the
# 7.3 debug kernel and on 6.12, then every fuzz target for a stated time.
# make check runs the same suite bounded (its defaults). On the debug
# kernel every other suite that runs there runs too: make check runs only
# its bounded tier there (tests/check.sh, debug_check_suites).
#
# Parameters (environment), with their make stress defaults:
#   NF_STRESS_SECS=30       seconds per phase (floods, storms, faults)
#   NF_STRESS_REPS=6        unload-under-load repetitions
#   NF_STRESS_FLOWS=50000   flows of the flood
#   NF_STRESS_HOSTILE=500   frames per malformed class
#   NF_STRESS_VANISH="% @"  the collector's interface, then its address
#   NF_STRESS_PHASES        the phases to run (stress.py's names; all)
#   NF_STRESS_FUZZ_SECONDS=600  per fuzz target (0: no fuzzing)
#   NF_KERNELS="7.3-debug 6.12"
#   NF_DEBUG_SUITES="foundation metering export rcuconfig rules natevents stress l2"
#                           the debug kernel's suites (6.12 runs stress)
# The fuzzers' findings stay in fuzz/corpus; make stress then minimises
# each target's corpus into fuzz/kept/TARGET, which is committed and read
# by every later fuzz run (make check's too).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/common.sh"
cd "$top"

export NF_STRESS_SECS=${NF_STRESS_SECS:-30}
export NF_STRESS_REPS=${NF_STRESS_REPS:-6}
export NF_STRESS_FLOWS=${NF_STRESS_FLOWS:-50000}
export NF_STRESS_HOSTILE=${NF_STRESS_HOSTILE:-500}
export NF_STRESS_VANISH=${NF_STRESS_VANISH:-% @}
fuzz_secs=${NF_STRESS_FUZZ_SECONDS:-600}
status=0
start=$SECONDS
debug_suites=${NF_DEBUG_SUITES:-foundation metering export rcuconfig rules natevents stress l2}
for k in ${NF_KERNELS:-7.3-debug 6.12}; do
	suites=stress
	[ "$k" = 7.3-debug ] && suites=$debug_suites
	NF_KERNELS=$k NF_TIERS="build vm" NF_SUITES="$suites" \
		NF_VM_TIMEOUT=${NF_VM_TIMEOUT:-14400} "$here/check.sh" || status=1
done
log "stress suite: $((SECONDS - start)) s (figures: grep '# figure' build/logs/vm_*.log)"
if [ "$fuzz_secs" -gt 0 ]; then
	start=$SECONDS
	NF_FUZZ_SECONDS=$fuzz_secs NF_FUZZ_KEEP=1 "$here/fuzz.sh" || status=1
	log "fuzzing: $((SECONDS - start)) s"
fi
exit $status
