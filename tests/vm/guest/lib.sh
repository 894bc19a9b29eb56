# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the test scripts that run inside the VM. Sourced.
#
# Every check prints "ok - NAME" or "not ok - NAME" (with the evidence
# indented below it); the host counts these lines.

NF_FAILED=0

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	shift
	[ $# -gt 0 ] && printf '    %s\n' "$@"
	NF_FAILED=$((NF_FAILED + 1))
	return 0
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command: $*" "$out"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}

# Kernel log problems that fail every VM test: KASAN, lockdep, kmemleak,
# warnings, BUGs, oopses, RCU splats.
NF_BAD_LOG='BUG:|WARNING:|KASAN:|kmemleak: [0-9]+ new suspected|unreferenced object|possible recursive locking|circular locking|inconsistent lock state|suspicious RCU usage|Call Trace|general protection|Oops|UBSAN:|refcount_t:|list_add corruption|list_del corruption|ODEBUG:|rust_panic|panicked at'

# The kernel log since the last read, cleared in the same syscall (a report
# printed between a read and a separate clear would be lost unseen), each
# line with its facility and level ("kern  :err   : ..."); or a failed check
# when dmesg cannot read it: an empty answer must never pass for a clean log.
kernel_log_take() {
	local log
	if ! log=$(dmesg -c -x 2>&1); then
		fail "dmesg reads the kernel log" "$log"
		return 1
	fi
	printf '%s\n' "$log"
}

# log_clean WHEN: one check that the kernel log has no report; on a
# distribution kernel (NF_LOG_ERRORS=1, set by run-vm.sh) a second one that
# it has no error-level message either, except the taint note for a module
# that is not signed with the distribution's key and the module's answers to
# the bad parameters the suites give it on purpose (the boot's own
# error-level messages, before the first suite, are shown, not judged: they
# are the distribution's, and no code of ours has run yet). What was read is
# cleared with it, so the next read judges only what came after.
log_clean() {
	local when=$1 log bad
	log=$(kernel_log_take) || return 0
	bad=$(echo "$log" | grep -E "$NF_BAD_LOG" || true)
	if [ -z "$bad" ]; then
		pass "kernel log $when has no warnings, BUGs or sanitizer reports"
	else
		fail "kernel log $when has no warnings, BUGs or sanitizer reports" \
			"$(echo "$log" | grep -E -B2 -A30 "$NF_BAD_LOG" | head -n 120)"
	fi
	if [ "${NF_LOG_ERRORS:-0}" = 1 ]; then
		bad=$(echo "$log" | grep -E '^[a-z]+ *:(emerg|alert|crit|err) *:' | grep -Ev "$NF_EXPECTED_ERRORS" || true)
		if [ "$when" = "before this suite" ] && [ "${NF_FIRST_SUITE:-0}" = 1 ]; then
			[ -n "$bad" ] && printf '# note: error-level messages of the boot:\n%s\n' "$(echo "$bad" | sed 's/^/#   /')"
		elif [ -z "$bad" ]; then
			pass "kernel log $when has no error messages"
		else
			fail "kernel log $when has no error messages" "$(echo "$bad" | head -n 40)"
		fi
	fi
}

# A suite's first check: nothing was reported before it (while booting,
# between suites, or after the previous suite's last read: a work item or
# RCU callback of the unloaded module). A sanitizer report before the module
# loads is a kernel problem worth knowing about, not a note.
dmesg_start() { log_clean "before this suite"; }

# Error-level messages the suites provoke on purpose (see dmesg_clean).
NF_EXPECTED_ERRORS='module verification failed: signature and/or required key missing|ipt_NETFLOW: protocol [0-9]+ is not supported|NETFLOW target: is not valid in nat table|ip6tables NETFLOW target is meaningful for protocol 9 or 10 only|ipt_NETFLOW: sampler parse error \((unknown sampler mode|sampling interval)|ipt_NETFLOW: add_snmp_rules parse error \(snmp-rule 1 is not prefix:base|ipt_NETFLOW: bad aggregation rule: 10\.1\.0\.0/33=8|ipt_NETFLOW: can.t parse destination: (nonsense: an address is neither IPv4 nor IPv6|10\.0\.0\.1:99999: a port is not a number from 0 to 65535)$'

# A suite's last log check, after its unload and a settle delay.
dmesg_clean() { log_clean "of this suite"; }

# The sanitizers of the debug kernel (NF_DEBUG_KERNEL=1, set by run-vm.sh)
# switch themselves off after some reports: lockdep after its first, and
# kmemleak on an internal error. A sanitizer that is off reports nothing,
# so a log read after it says nothing either: this fails the run instead.
sanitizers_on() {
	[ "${NF_DEBUG_KERNEL:-0}" = 1 ] || return 0
	local locks
	locks=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null)
	check_eq "lockdep is still on (debug_locks)" 1 "$locks"
	check "KASAN reports every fault (kasan_multi_shot)" grep -qw kasan_multi_shot /proc/cmdline
}

# How many checks a suite runs besides its own: the log reads before and
# after it (two each on a distribution kernel), and on the debug kernel the
# two sanitizer checks and the kmemleak scan (unless all.sh scans once for
# all its suites, NF_KMEMLEAK_AT_END=1).
suite_common_checks() {
	local n=2
	if [ "${NF_DEBUG_KERNEL:-0}" = 1 ]; then
		n=$((n + 2))
		[ "${NF_KMEMLEAK_AT_END:-0}" = 1 ] || n=$((n + 1))
	fi
	[ "${NF_LOG_ERRORS:-0}" = 1 ] && n=$((n + 2 - ${NF_FIRST_SUITE:-0}))
	echo "$n"
}

# plan N: the suite states up front how many checks it runs (its own N plus
# the common ones); all.sh fails a suite that ran fewer.
plan() {
	echo "# plan $(($1 + $(suite_common_checks)))"
}

# Test-only fault injection (NF_PLANT, a list of words; never set by make
# check itself): loads tests/vm/plant's module to make the kernel report a
# fault the harness must catch. See tests/vm/plant/nf_plant.c.
#   plant WORD MODULE-ARGS...: does it when NF_PLANT has WORD.
plant() {
	local word=$1
	shift
	case " ${NF_PLANT:-} " in *" $word "*) ;; *) return 0 ;; esac
	echo "# planting fault $word: insmod nf_plant.ko $*"
	insmod "$NF_BUILD/tests/vm/plant/nf_plant.ko" "$@" || echo "# (nf_plant refused to load)"
	rmmod nf_plant 2>/dev/null || true
}

# suite_end: the suite's last checks, after a settle delay that lets work
# items and RCU callbacks of the unloaded module run: the kmemleak scan
# (unless NF_KMEMLEAK_AT_END=1: a scan takes about a minute on the emulated
# debug kernel, so all.sh scans once after its last suite, when a leak is
# still unreferenced and its backtrace names the allocation), the
# sanitizers still on, the kernel log; then its "# guest done" line and its
# exit status.
suite_end() {
	plant "oob-in-${NF_SUITE:-}" fault=oob
	plant "leak-in-${NF_SUITE:-}" fault=leak
	sleep "${NF_SETTLE:-2}"
	[ "${NF_KMEMLEAK_AT_END:-0}" = 1 ] || kmemleak_check
	sanitizers_on
	dmesg_clean
	echo "# guest done: $NF_FAILED failed"
	exit $((NF_FAILED > 0))
}

# Loads what the module and the tests need where the kernel has it as
# modules (a distribution kernel); a no-op where it is built in. The other
# tables (nat, nft) are loaded on demand by iptables and the kernel.
NF_KMODS="x_tables ip_tables ip6_tables iptable_filter ip6table_filter"
load_kmods() {
	local m
	for m in $NF_KMODS; do modprobe -q "$m" 2>/dev/null || true; done
}

kmemleak_file=/sys/kernel/debug/kmemleak
debugfs_up() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
}

# Forget whatever the boot itself left unreferenced; only the test's own
# allocations are judged.
kmemleak_reset() {
	debugfs_up
	[ -w $kmemleak_file ] && echo clear >$kmemleak_file
	return 0
}

# kmemleak's own thread scans every 10 minutes, a minute of a CPU each time
# under emulation; the checks scan when they read.
kmemleak_no_autoscan() {
	debugfs_up
	[ -w $kmemleak_file ] && echo scan=off >$kmemleak_file
	return 0
}

kmemleak_check() {
	debugfs_up
	if [ ! -e $kmemleak_file ]; then
		[ "${NF_DEBUG_KERNEL:-0}" = 1 ] && fail "kmemleak finds no leak" "the debug kernel has no $kmemleak_file"
		return 0
	fi
	# kmemleak only reports objects older than 5 s, seen unreferenced by
	# two scans. A scan refused (EPERM) means kmemleak has turned itself off.
	sleep 6
	local err leaks
	if ! err=$({ echo scan >$kmemleak_file && sleep 1 && echo scan >$kmemleak_file; } 2>&1); then
		fail "kmemleak finds no leak" "kmemleak refused to scan, so it is off: $err" "$(dmesg | grep -i kmemleak | tail -n 5)"
		return 0
	fi
	if ! leaks=$(cat $kmemleak_file 2>&1); then
		fail "kmemleak finds no leak" "reading $kmemleak_file failed: $leaks"
	elif [ -z "$leaks" ]; then
		pass "kmemleak finds no leak"
	else
		fail "kmemleak finds no leak" "$(echo "$leaks" | head -n 60)"
	fi
}

# Three namespaces: nfa (sender) -- nfr (router) -- nfb (receiver).
#   nfa 10.1.0.2/24 fd01::2/64  <->  nfr 10.1.0.1 fd01::1
#   nfr 10.2.0.1 fd02::1        <->  nfb 10.2.0.2/24 fd02::2/64
netns_setup() {
	netns_teardown
	local ns
	for ns in nfa nfr nfb; do
		ip netns add $ns
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	# One ip batch per namespace: every process costs under emulation.
	ip -b - <<-EOF
		link add nfa0 netns nfa type veth peer name nfr0 netns nfr
		link add nfr1 netns nfr type veth peer name nfb0 netns nfb
	EOF
	ip -n nfa -b - <<-EOF
		link set lo up
		addr add 10.1.0.2/24 dev nfa0
		addr add fd01::2/64 dev nfa0 nodad
		link set nfa0 up
		route add default via 10.1.0.1
		route add default via fd01::1
	EOF
	ip -n nfr -b - <<-EOF
		link set lo up
		addr add 10.1.0.1/24 dev nfr0
		addr add fd01::1/64 dev nfr0 nodad
		addr add 10.2.0.1/24 dev nfr1
		addr add fd02::1/64 dev nfr1 nodad
		link set nfr0 up
		link set nfr1 up
	EOF
	ip -n nfb -b - <<-EOF
		link set lo up
		addr add 10.2.0.2/24 dev nfb0
		addr add fd02::2/64 dev nfb0 nodad
		link set nfb0 up
		route add default via 10.2.0.1
		route add default via fd02::1
	EOF
	ip netns exec nfr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# Static neighbours in nfr for addresses behind nfb that nobody owns
# (10.2.0.99, fd02::99): forwarded test traffic leaves nfr without ARP or
# ND, and no reply ever comes back.
static_neighbours() {
	local mac
	mac=$(ip -n nfb -o link show nfb0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
	ip -n nfr neigh add 10.2.0.99 lladdr "$mac" dev nfr1 nud permanent
	ip -n nfr -6 neigh add fd02::99 lladdr "$mac" dev nfr1 nud permanent
}

netns_teardown() {
	local ns
	for ns in nfa nfr nfb; do ip netns del $ns 2>/dev/null || true; done
}

# One counter from /proc/net/stat/ipt_netflow_snmp.
snmp() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/stat/ipt_netflow_snmp; }

# install_for_modprobe BUILD_DIR: the module where modprobe finds it, as
# `make install-module` or a package puts it (Debian's 7.3 tree has it
# already: its build installed it there). /lib/modules/<release> of a test
# kernel is a link into the read-only kernel tree: a tree of links to it
# in the guest's writable /lib takes the module, and depmod indexes it.
install_for_modprobe() {
	local kver real
	kver=$(uname -r)
	modinfo -n ipt_NETFLOW >/dev/null 2>&1 && return 0
	real=$(readlink -f "/lib/modules/$kver")
	rm -f "/lib/modules/$kver"
	mkdir -p "/lib/modules/$kver"
	cp -as "$real/." "/lib/modules/$kver/"
	install -D -m 0644 "$1/ipt_NETFLOW.ko" "/lib/modules/$kver/extra/ipt_NETFLOW.ko"
	depmod "$kver"
}

# install_command BUILD_DIR: ipt_netflow and its unit, as `make
# install-command` puts them (from BUILD_DIR/../command: build-command.sh).
install_command() {
	install -m 0755 "$1/../command/ipt_netflow" /usr/sbin/ipt_netflow
	install -D -m 0644 "$1/../command/ipt_netflow.service" /lib/systemd/system/ipt_netflow.service
}
