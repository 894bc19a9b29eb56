#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make check`: every test tier, on a fresh Debian 12 machine or a used one.
#   1. host: cargo fmt, clippy, cargo test (pure logic), smilint on the MIB;
#   2. the module builds without warnings against every test kernel;
#   3. VM tests on every test kernel (6.12, 7.3 debug, and Debian's own 7.3
#      kernel: 7.3-stock, see tests/vm/stock-kernel.sh).
# Ends with the plain summary line "N passed, M failed".
#
# NF_KERNELS="6.12 7.3-debug 7.3-stock" selects the kernels; for a
# developer's partial run, NF_TIERS="host build vm" the tiers and
# NF_SUITES="foundation metering export collectors rcuconfig rules natevents snmp command parity l2 stress"
# the VM suites (a run that leaves any out says so in its last line). l2
# runs with the build that has every flow field of the original's
# configure (build/KERNEL-all, see NF_ALL_FLAGS), on 6.12 and 7.3-debug,
# where foundation runs with that build too. On 7.3-debug make check runs
# only the suites of debug_check_suites (below), and a run that names its
# suites (NF_SUITES, as make stress does) every suite it names. snmp
# (the SNMP agent with snmpd) and command (the operator's ipt_netflow) run
# on 6.12 and 7.3-stock. parity
# compares our module with the original C module (Debian's
# iptables-netflow-dkms 2.6, built here at test time, never committed),
# which builds against 6.12 only: it runs there, and the run says so for
# the other kernels.
# NF_PLANT (test-only, see tests/vm/plant/nf_plant.c) plants faults that
# must turn the run red.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/common.sh"
cd "$top"

kernels=${NF_KERNELS:-6.12 7.3-debug 7.3-stock}
tiers=${NF_TIERS:-host build vm}
all_suites="foundation metering export collectors rcuconfig rules natevents snmp command parity l2 stress"
read -r -a suites <<<"${NF_SUITES:-$all_suites}"
partial=
[ "$tiers" = "host build vm" ] && [ "${suites[*]}" = "$all_suites" ] ||
	partial=" (partial run: tiers $tiers; suites ${suites[*]})"
has_tier() { case " $tiers " in *" $1 "*) return 0 ;; esac; return 1; }
passed=0
failed=0
failures=()
logs=$top/build/logs
mkdir -p "$logs"

# tier_log NAME: the log file of the run's check NAME.
tier_log() { echo "$logs/$(echo "$1" | tr ' /' '__').log"; }
# count NAME STATUS DETAIL: counts check NAME as passed (STATUS 0) or
# failed (then shows the end of its log).
count() {
	local name=$1 rc=$2 detail=$3
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		log "ok   $name ($detail)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		log "FAIL $name ($detail), log: $(tier_log "$name")"
		tail -n 40 "$(tier_log "$name")" | sed 's/^/    /' >&2
		return 1
	fi
}
# tier NAME COMMAND...: one check of the run; output goes to its log file.
tier() {
	local name=$1 start=$SECONDS rc=0
	shift
	"$@" >"$(tier_log "$name")" 2>&1 || rc=$?
	count "$name" "$rc" "$((SECONDS - start)) s"
}

# The original module for the parity suite, on the kernel it builds
# against: tests/bench/lib.sh's theirs_for builds it under $out; it is
# copied to build/parity/KERNEL/ipt_NETFLOW.ko for the VM tier.
parity_kernel=6.12
out=$top/build/parity
# shellcheck source=tests/bench/lib.sh
. "$top/tests/bench/lib.sh"
has_suite() { case " ${suites[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
# The kernels the build with every flow field is tested on (the stock
# kernel gets the default build, as Debian's DKMS would build it).
has_all_flags() { has_suite l2 && [ "$1" != 7.3-stock ]; }
theirs_ko() { echo "$out/$1/ipt_NETFLOW.ko"; }
build_theirs() {
	local k=$1 ko
	rm -f "$(theirs_ko "$k")"
	ko=$(theirs_for "$k" "$(scripts/build-kernel.sh "$k")")
	[ -n "$ko" ] && cp "$ko" "$(theirs_ko "$k")"
}

# The SNMP agent for the snmp suite, with the MIBs net-snmp's tools read
# there (the base MIBs from scripts/base-mibs.sh): build/snmp.
build_snmp() {
	local mibs
	cargo build --release --locked -p ipt-netflow-snmp-agent || return 1
	mibs=$(scripts/base-mibs.sh) || return 1
	rm -rf build/snmp
	mkdir -p build/snmp/mibs
	cp target/release/ipt-netflow-snmp-agent build/snmp/ &&
		cp "$mibs/SNMPv2-SMI.mib" "$mibs/SNMPv2-TC.mib" "$mibs/SNMPv2-CONF.mib" IPT-NETFLOW-MIB.my build/snmp/mibs/
}

# The units as `make install-snmp` and `make install-command` write them,
# staged, with the staged binaries as their ExecStart and the staged pages
# as their Documentation (verify checks that both exist); and the manual
# pages, through man's own checks.
verify_units() {
	local stage rc
	stage=$(mktemp -d)
	make -s install-snmp install-command DESTDIR= SBINDIR="$stage/sbin" MIBDIR="$stage/mibs" \
		UNITDIR="$stage/unit" MANDIR="$stage/man" &&
		MANPATH="$stage/man" systemd-analyze verify "$stage/unit/ipt-netflow-snmp-agent.service" \
			"$stage/unit/ipt_netflow.service" &&
		check_man "$stage"/man/man8/*.8
	rc=$?
	rm -rf "$stage"
	return $rc
}
check_man() {
	local page warn
	for page in "$@"; do
		warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$warn" ] || { echo "$page: $warn"; return 1; }
	done
}

log "installing what the tests need"
scripts/install-deps.sh || die "could not install the dependencies"

# What takes long to make and is needed only later (the test kernels, the
# trixie chroot, and the stock kernel's configure and DKMS checks) is made
# by one background chain at idle priority, while the host tier and the
# VMs of the earlier kernels run: a VM under emulation leaves the two cores
# about half idle (its guest sleeps through timeouts), and a kernel built
# from nothing takes 12 (6.12) and 28 (7.3 debug) minutes of both. The
# build tier of each kernel then finds its kernel built (build_kernel
# waits for a build in progress) and reports the chain's checks as its own.
bg=$logs/background
rm -rf "$bg" "$logs"/*.rc
mkdir -p "$bg"
# bg_step NAME COMMAND...: one check the chain runs, its status and time
# next to its log (LOG.rc); bg_tier reports it.
bg_step() {
	local name=$1 start=$SECONDS
	shift
	"$@" >"$(tier_log "$name")" 2>&1
	echo "$? $((SECONDS - start))" >"$(tier_log "$name").rc"
}
# bg_tier NAME: waits for the chain's check NAME and counts it as tier does.
bg_tier() {
	local name=$1 f rc secs
	f=$(tier_log "$name").rc
	while [ ! -f "$f" ] && kill -0 "$bg_pid" 2>/dev/null; do sleep 2; done
	read -r rc secs <"$f" 2>/dev/null ||
		{ rc=1 secs=0; echo "the background chain ended before this check" >>"$(tier_log "$name")"; }
	count "$name" "$rc" "$secs s, in the background"
}
has_kernel() { case " $kernels " in *" $1 "*) return 0 ;; esac; return 1; }
stock_chroot="build: trixie chroot with Debian's 7.3 kernel packages"
stock_wrong_rustc="build: configure refuses rustup's rustc for Debian's 7.3"
stock_dkms="build: DKMS add, build, install, autoinstall, remove against Debian's 7.3"
# build_kernel KERNEL: one build of a kernel tree at a time; the tier waits
# here for the chain's build instead of starting a second one in the same
# directory.
build_kernel() {
	mkdir -p "$NF_CACHE/kernels"
	flock "$NF_CACHE/kernels/$1.lock" scripts/build-kernel.sh "$1"
}
bg_pid=
if has_tier build; then
	# Its own process group (set -m), so that it can be stopped whole.
	set -m
	(
		# SCHED_IDLE: the chain gets only what the foreground leaves.
		chrt --idle -p 0 "$BASHPID" >/dev/null
		renice -n 19 -p "$BASHPID" >/dev/null
		# The chroot is mostly downloads: alongside the kernel builds.
		chroot_pid=
		if has_kernel 7.3-stock; then
			bg_step "$stock_chroot" tests/vm/stock-kernel.sh chroot &
			chroot_pid=$!
		fi
		for k in $kernels; do
			[ "$k" = 7.3-stock ] || build_kernel "$k" >"$bg/kernel-$k.log" 2>&1
		done
		if [ -n "$chroot_pid" ]; then
			wait "$chroot_pid"
			bg_step "$stock_wrong_rustc" tests/vm/stock-kernel.sh wrong-rustc
			has_suite command && bg_step "$stock_dkms" tests/vm/stock-kernel.sh dkms
		fi
	) &
	bg_pid=$!
	set +m
	# Nothing of it outlives the run (make check interrupted or failed early).
	trap 'kill -TERM -- "-$bg_pid" 2>/dev/null' EXIT
fi

if has_tier host; then
tier "host: cargo fmt --check" cargo fmt --check
tier "host: cargo clippy" cargo clippy --all-targets -- -D warnings
tier "host: cargo clippy --all-features" cargo clippy --all-targets --all-features -- -D warnings
# cargo_test NAME ARGS...: every test counts as a check of the run.
cargo_test() {
	local name=$1 host_log n
	shift
	host_log=$logs/host_$(echo "$name" | tr ' /' '__').log
	if cargo test "$@" >"$host_log" 2>&1; then
		n=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' "$host_log")
		passed=$((passed + n))
		log "ok   host: $name ($n tests)"
	else
		n=$(awk '/^test result:/ { s += $6 } END { print s + 0 }' "$host_log")
		failed=$((failed + (n > 0 ? n : 1)))
		failures+=("host: $name")
		log "FAIL host: $name, log: $host_log"
		grep -E '^test .* FAILED|panicked' "$host_log" | head -n 20 >&2
	fi
}
# Each build option alone compiles (its compile-time checks hold): what
# make matrix builds as modules, cheaply, for the pure crate.
check_each_feature() {
	local f
	for f in mac vlan mpls direction physdev physdev-override rand-tpl-id promisc promisc-mpls; do
		cargo check -q -p ipt_netflow --features "$f" || { echo "feature $f alone does not build"; return 1; }
	done
}
tier "host: the pure crate builds with each build option alone" check_each_feature
cargo_test "cargo test"
# The pure logic as the build with every flow field compiles it.
cargo_test "cargo test of the all-flags build" -p ipt_netflow --all-features

tier "host: configure refuses unusable kernel trees" tests/configure.sh
tier "host: smilint IPT-NETFLOW-MIB.my" scripts/lint-mib.sh
tier "host: systemd-analyze verify of both units, man --warnings of the pages" verify_units
tier "host: layers (imports only downwards; a planted upward one fails)" tests/layers.sh
tier "host: the stack gate (passes frames within its limits, fails a big frame and a deep chain)" tests/stack-frames.sh
tier "host: fuzz the parsers (${NF_FUZZ_SECONDS:-10} s each)" tests/fuzz.sh
fi

has_tier build && has_suite snmp && tier "build: the SNMP agent (release) and the MIBs for its suite" build_snmp
has_tier build && has_suite command && tier "build: the operator's command (release) and its unit" tests/vm/build-command.sh
# build_for KERNEL: the build tier of one kernel.
build_for() {
	local k=$1
	if [ "$k" = 7.3-stock ]; then
		# Debian's kernel is not built: a trixie chroot with its headers and
		# source stands for a Debian operator's machine; configure there
		# rebuilds the Rust artefacts and must refuse another rustc.
		# (All three made by the background chain.)
		bg_tier "$stock_chroot"
		bg_tier "$stock_wrong_rustc"
		# The command suite loads the module DKMS built there.
		has_suite command && bg_tier "$stock_dkms"
	else
		tier "build: kernel $k" build_kernel "$k"
	fi
	# A module that failed its build (a compiler or lint warning, a stack
	# frame over the limit) is not tested in the VM either.
	tier "build: module against $k" tests/vm/build-module.sh "$k" || rm -f "build/$k/ipt_NETFLOW.ko"
	if has_all_flags "$k"; then
		tier "build: module with every flow field against $k" tests/vm/build-module.sh "$k" all ||
			rm -f "build/$k-all/ipt_NETFLOW.ko"
	fi
	if [ "$k" = "$parity_kernel" ] && has_suite parity; then
		tier "build: the original C module against $k (for the parity suite)" build_theirs "$k"
	fi
}

# The debug kernel's suites in make check. Under emulation with KASAN,
# lockdep and kmemleak a process start there costs about a second and a
# Python start 3 to 5 (measured: 9 to 12 times 6.12's), so every suite
# would take its VM to about an hour. make check runs the stress suite
# bounded (load and unload under a flood, vanishing devices, configuration
# storms, memory bounds, hostile packets, exporter faults: the paths where
# a memory or locking bug would hide) and the metering suite (every
# protocol and header the parser reads); make stress runs every suite here.
debug_check_suites="metering stress"
debug_check_suite() { case " $debug_check_suites " in *" $1 "*) return 0 ;; esac; return 1; }

# VM suites: all of them in one boot per kernel; each prints "ok - ..." /
# "not ok - ..." lines that we count, and "# guest done" when it finished;
# all.sh ends with "# vm done" and the guest's exit status.
# vm_for KERNEL: the VM tier of one kernel, every suite in one boot.
vm_for() {
	local k=$1 s ksuites with_l2 log start envs v rc ok bad done_suites
	# parity: where the original builds, with it (all.sh fails the suite
	# when it is missing there); elsewhere left out, and said so.
	ksuites=()
	with_l2=0
	for s in "${suites[@]}"; do
		if [ "$s" = parity ] && [ "$k" != "$parity_kernel" ]; then
			log "vm $k: no parity suite (it runs on $parity_kernel only, the one kernel the original C module builds against)"
			continue
		fi
		# The agent and the command are userspace programs; what they read
		# and write of the kernel (/proc, sysctls) the other suites check on
		# this kernel.
		if { [ "$s" = snmp ] || [ "$s" = command ]; } && [ "$k" = 7.3-debug ]; then
			log "vm $k: no $s suite (it runs on 6.12 and 7.3-stock)"
			continue
		fi
		# What the collectors decode is the exporter's output, the same on
		# every kernel; the exporter itself runs under the debug kernel's
		# sanitizers in the export and stress suites. Left out there to
		# keep make check within its time.
		if [ "$s" = collectors ] && [ "$k" = 7.3-debug ]; then
			log "vm $k: no collectors suite (it runs on 6.12 and 7.3-stock)"
			continue
		fi
		# The debug kernel in make check: its bounded tier only (see
		# debug_check_suites); make stress, which names its suites, runs
		# every one of them there.
		if [ "$k" = 7.3-debug ] && [ -z "${NF_SUITES:-}" ] && ! debug_check_suite "$s"; then
			log "vm $k: no $s suite in make check (make stress runs it here)"
			continue
		fi
		# The stress suite's bounded tier (make stress runs it at length)
		# on the debug kernel and on 6.12: Debian's kernel runs the
		# packaged build's suites.
		if [ "$s" = stress ] && [ "$k" = 7.3-stock ]; then
			log "vm $k: no stress suite (it runs on 6.12 and 7.3-debug)"
			continue
		fi
		if [ "$s" = l2 ]; then
			has_all_flags "$k" || { log "vm $k: no l2 suite (it runs on 6.12 and 7.3-debug)"; continue; }
			with_l2=1
			continue # after the suites of the default build, below
		fi
		# On the debug kernel (make stress) the foundation suite runs with
		# the build that has every flow field only (its code is the default
		# build's and more; the other suites there run the default build).
		if [ "$s" = foundation ] && [ "$k" = 7.3-debug ] && has_all_flags "$k"; then
			ksuites+=(foundation@all)
			continue
		fi
		ksuites+=("$s")
	done
	# The build with every flow field: the foundation suite, then l2.
	if [ "$with_l2" = 1 ]; then
		has_suite foundation && [ "$k" != 7.3-debug ] && ksuites+=(foundation@all)
		ksuites+=(l2@all)
		[ -f "build/$k-all/ipt_NETFLOW.ko" ] ||
			{ failed=$((failed + 1)); failures+=("vm $k: no all-flags module"); }
	fi
	[ ${#ksuites[@]} -gt 0 ] || return 0
	[ -f "build/$k/ipt_NETFLOW.ko" ] || { failed=$((failed + 1)); failures+=("vm $k: no module"); return 0; }
	log=$logs/vm_$k.log
	start=$SECONDS
	# The debug kernel (KASAN, lockdep, kmemleak under emulation) checks
	# the records of the l2 suite for IPFIX only: v5 and v9 differ from it
	# in pure, host-tested encoders, and run on the other kernels. It does
	# fewer timeout swaps in rcuconfig and rule swaps in rules, and in the
	# bounded stress suite one unload round and the collector's interface
	# vanishing, not its address (6.12 runs both). make stress's own sizes
	# come after these and win.
	envs=(env)
	[ "$k" = 7.3-debug ] && envs+=(NF_PROTOS=10 NF_RCU_SWAPS=40 NF_RULE_SWAPS=250 NF_STRESS_REPS=1 NF_STRESS_VANISH=%)
	[ "$k" = 7.3-stock ] && has_suite command && envs+=("NF_DKMS_KO=$top/build/7.3-stock-dkms/out/ipt_NETFLOW.ko")
	[ -n "${NF_PLANT:-}" ] && envs+=("NF_PLANT=$NF_PLANT")
	for v in NF_STRESS_SECS NF_STRESS_REPS NF_STRESS_FLOWS NF_STRESS_HOSTILE NF_STRESS_VANISH NF_STRESS_PHASES; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	[ "$k" = "$parity_kernel" ] && has_suite parity && [ -f "$(theirs_ko "$k")" ] &&
		envs+=("NF_THEIRS_KO=$(theirs_ko "$k")")
	tests/vm/run-vm.sh "$k" "${envs[@]}" "$top/tests/vm/guest/all.sh" "$top/build/$k" "${ksuites[@]}" >"$log" 2>"$log.stderr"
	rc=$?
	ok=$(grep -c '^ok - ' "$log")
	bad=$(grep -c '^not ok - ' "$log")
	done_suites=$(grep -c '^# guest done' "$log")
	if [ "$done_suites" -ne ${#ksuites[@]} ]; then
		bad=$((bad + 1)) # a suite died or the VM timed out before the end
		echo "not ok - $k: only $done_suites of ${#ksuites[@]} suites finished (exit $rc)" >>"$log"
	fi
	if ! grep -q '^# vm done' "$log"; then
		bad=$((bad + 1))
		echo "not ok - $k: the guest did not reach the end of the run (exit $rc)" >>"$log"
	fi
	# A guest that panicked, hung or failed after its last suite: its
	# status is the run's, whatever the counted lines say.
	if [ "$rc" -ne 0 ]; then
		bad=$((bad + 1))
		echo "not ok - $k: the VM exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	log "vm $k: $ok passed, $bad failed ($((SECONDS - start)) s), log: $log"
	if [ "$bad" -gt 0 ]; then
		failures+=("vm $k")
		grep -A12 '^not ok' "$log" | head -n 80 >&2
		tail -n 20 "$log.stderr" >&2
	fi
}

# Kernel by kernel, so that the VM of one runs while the background chain
# builds the next.
for k in $kernels; do
	has_tier build && build_for "$k"
	has_tier vm && vm_for "$k"
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
[ -n "$partial" ] && log "$partial"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
