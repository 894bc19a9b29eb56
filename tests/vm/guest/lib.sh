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

# Starts a suite's watch on the kernel log: reports the kernel printed
# before (booting, earlier suites) are shown as notes and cleared, so each
# suite is judged on what happened while it ran. (The 7.3 debug kernel has
# been seen to print a KASAN report at 0.005 s into its boot under TCG,
# long before any module loads.)
dmesg_start() {
	local bad
	bad=$(dmesg | grep -E "$NF_BAD_LOG" | head -n 3 || true)
	[ -n "$bad" ] && printf '# note: the kernel log had reports before this suite:\n%s\n' "$(echo "$bad" | sed 's/^/#   /')"
	dmesg -C
}

# Error-level messages the suites provoke on purpose (see dmesg_clean).
NF_EXPECTED_ERRORS='module verification failed: signature and/or required key missing|ipt_NETFLOW: protocol [0-9]+ is not supported|ipt_NETFLOW: can.t parse destination: (nonsense|10\.0\.0\.1:99999)$'

dmesg_clean() {
	local bad
	bad=$(dmesg | grep -E "$NF_BAD_LOG" || true)
	if [ -z "$bad" ]; then
		pass "kernel log has no warnings, BUGs or sanitizer reports"
	else
		fail "kernel log has no warnings, BUGs or sanitizer reports" "$(dmesg | grep -E -B2 -A30 "$NF_BAD_LOG" | head -n 120)"
	fi
	# On a distribution kernel (NF_LOG_ERRORS=1, set by run-vm.sh) every
	# error-level message counts too, except the taint note for a module
	# that is not signed with the distribution's key and the module's
	# answers to the bad parameters the suites give it on purpose.
	if [ "${NF_LOG_ERRORS:-0}" = 1 ]; then
		bad=$(dmesg -l emerg,alert,crit,err | grep -Ev "$NF_EXPECTED_ERRORS" || true)
		if [ -z "$bad" ]; then
			pass "kernel log has no error messages"
		else
			fail "kernel log has no error messages" "$(echo "$bad" | head -n 40)"
		fi
	fi
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

kmemleak_check() {
	debugfs_up
	[ -w $kmemleak_file ] || return 0
	# kmemleak only reports objects older than 5 s, seen unreferenced by two scans.
	sleep 6
	echo scan >$kmemleak_file
	sleep 1
	echo scan >$kmemleak_file
	local leaks
	leaks=$(cat $kmemleak_file)
	if [ -z "$leaks" ]; then
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
		ip -n $ns link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip link add nfa0 netns nfa type veth peer name nfr0 netns nfr
	ip link add nfr1 netns nfr type veth peer name nfb0 netns nfb
	ip -n nfa addr add 10.1.0.2/24 dev nfa0
	ip -n nfa addr add fd01::2/64 dev nfa0 nodad
	ip -n nfr addr add 10.1.0.1/24 dev nfr0
	ip -n nfr addr add fd01::1/64 dev nfr0 nodad
	ip -n nfr addr add 10.2.0.1/24 dev nfr1
	ip -n nfr addr add fd02::1/64 dev nfr1 nodad
	ip -n nfb addr add 10.2.0.2/24 dev nfb0
	ip -n nfb addr add fd02::2/64 dev nfb0 nodad
	ip -n nfa link set nfa0 up
	ip -n nfr link set nfr0 up
	ip -n nfr link set nfr1 up
	ip -n nfb link set nfb0 up
	ip -n nfa route add default via 10.1.0.1
	ip -n nfa -6 route add default via fd01::1
	ip -n nfb route add default via 10.2.0.1
	ip -n nfb -6 route add default via fd02::1
	ip netns exec nfr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

netns_teardown() {
	local ns
	for ns in nfa nfr nfb; do ip netns del $ns 2>/dev/null || true; done
}

# One counter from /proc/net/stat/ipt_netflow_snmp.
snmp() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/stat/ipt_netflow_snmp; }
