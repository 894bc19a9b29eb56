#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs several guest suites in one boot (booting the debug kernel under
# emulation takes about a minute):  all.sh BUILD_DIR SUITE...
#
# Each suite prints "# plan N" (the checks it will run) first; a suite that
# ran fewer fails here. After the last suite the kernel log is read once
# more, after a settle delay and a kmemleak scan (the one scan of the run:
# leaks of every suite are still unreferenced then), so that a fault of the
# module after its last unload (a work item or RCU callback left behind)
# fails the run too. Exits non-zero when anything failed; the host fails the
# VM tier on that status and on a missing "# vm done" line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
export NF_BUILD=$1
shift
status=0
# One kmemleak scan after the last suite, not one per suite (lib.sh).
export NF_KMEMLEAK_AT_END=1
kmemleak_no_autoscan

echo "# kernel $(uname -r), $(nproc) CPUs, cmdline: $(cat /proc/cmdline)"
for spec in "$@"; do
	# SUITE@VARIANT runs SUITE with the build BUILD_DIR-VARIANT (check.sh
	# gives foundation@all and l2@all: the build with every flow field).
	suite=${spec%@*}
	build=$NF_BUILD
	[ "$spec" = "$suite" ] || build=$NF_BUILD-${spec#*@}
	echo "# suite $spec"
	# parity needs the original C module, which check.sh builds (and gives
	# as NF_THEIRS_KO) only where it builds: on 6.12. Asked for without
	# it, the suite fails here rather than pass having compared nothing.
	if [ "$suite" = parity ] && [ -z "${NF_THEIRS_KO:-}" ]; then
		fail "parity: the original module is given (NF_THEIRS_KO)" "check.sh gives it on 6.12 only"
		status=1
		continue
	fi
	out=/tmp/suite-$suite.out
	first=0
	if [ "$spec" = "${1:-}" ]; then
		first=1
		plant kasan-early fault=oob # before the module is ever loaded
	fi
	started=$SECONDS
	NF_SUITE=$suite NF_FIRST_SUITE=$first "$here/$suite.sh" "$build" | tee "$out"
	rc=${PIPESTATUS[0]}
	echo "# suite $spec took $((SECONDS - started)) s"
	planned=$(sed -n 's/^# plan \([0-9][0-9]*\)$/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
	ran=$(grep -cE '^(not )?ok - ' "$out")
	failed=$(grep -c '^not ok - ' "$out")
	# Checks that print only when they fail ("... ran to the end") make a
	# failing suite run more than it planned; a passing one runs exactly
	# what it planned, so a plan that went stale is noticed.
	if [ "$planned" -eq 0 ]; then
		fail "$spec: states its plan" "no '# plan N' line"
	elif [ "$ran" -lt "$planned" ] || { [ "$failed" -eq 0 ] && [ "$ran" -ne "$planned" ]; }; then
		fail "$spec: ran the $planned checks it planned" "ran $ran (exit status $rc)"
	else
		pass "$spec: ran the $planned checks it planned"
	fi
	# A suite's own status counts its shell checks; the checks of the
	# Python scripts it runs count through their "not ok" lines.
	[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] || status=1
done

echo "# end of the run"
plant work-after-unload fault=work delay_ms=1000
sleep "${NF_SETTLE:-3}"
kmemleak_check
sanitizers_on
log_clean "after the last suite"
[ "$NF_FAILED" -eq 0 ] || status=1
echo "# vm done: status $status"
case " ${NF_PLANT:-} " in *" exit-nonzero "*) echo "# planting fault exit-nonzero"; exit 3 ;; esac
exit "$status"
