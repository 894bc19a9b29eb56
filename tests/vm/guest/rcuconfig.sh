#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The RCU-published timeouts, run inside the VM:  rcuconfig.sh BUILD_DIR
# The packet path reads the flow timeouts from an RcuBox that the
# active_timeout and inactive_timeout sysctls replace. This suite swaps
# them hundreds of times while forwarded traffic is metered on every CPU
# (the debug kernel's KASAN, lockdep and kmemleak watch the frees after
# each grace period), then checks that a value written by sysctl, and one
# written through /sys/module/.../parameters, reaches the packet path.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: rcuconfig.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables
params=/sys/module/ipt_NETFLOW/parameters

plan 9
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
check "insmod protocol=10 hashsize=1024" insmod "$build/ipt_NETFLOW.ko" protocol=10 hashsize=1024
netns_setup
static_neighbours
check "FORWARD rule" ip netns exec nfr iptables-legacy -A FORWARD -j NETFLOW

# Flows exported or lost so far: every record that left the tables. A
# record is counted when its export packet goes out, at most a second
# after it left its table, hence the pauses of 3 s below.
records() { echo $(($(snmp outFlows) + $(snmp lostFlows))); }

# One UDP stream (one 5-tuple) of a datagram every 10 ms for $1 seconds.
stream() {
	ip netns exec nfa python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    s.sendto(bytes(100), ("10.2.0.99", 7777))
    time.sleep(0.01)
' "$1"
}

# Churn on every CPU the sender's packets land on: new flows all the time.
churn() {
	local port=20000
	while [ -e /tmp/rcuconfig.run ]; do
		ip netns exec nfa python3 "$here/udp_burst.py" send 10.2.0.99 $port 64,512,1400 50 >/dev/null
		port=$((port + 1))
	done
}

touch /tmp/rcuconfig.run
churn &
churn_pid=$!
swaps=0
bad=""
# NF_RCU_SWAPS: rounds of two swaps (150; check.sh gives the debug kernel
# fewer: its stress suite writes the timeouts under a flood too).
for i in $(seq 1 "${NF_RCU_SWAPS:-150}"); do
	a=$((i % 2 ? 1 : 1800))
	n=$((i % 3 ? 15 : 2))
	sysctl -qw net.netflow.active_timeout=$a || bad="$bad active_timeout=$a"
	sysctl -qw net.netflow.inactive_timeout=$n || bad="$bad inactive_timeout=$n"
	swaps=$((swaps + 2))
done
rm -f /tmp/rcuconfig.run
wait $churn_pid
check_eq "$swaps timeout swaps under traffic all accepted" "" "$bad"
check "packets were metered meanwhile" test "$(snmp inPackets)" -gt 0

# A value written by sysctl reaches the packet path: with active_timeout=1
# one 3-second stream is cut into records while it runs (it would stay one
# flow for 15 s of inactivity otherwise).
sysctl -qw net.netflow.inactive_timeout=15 net.netflow.active_timeout=1800
sysctl -qw net.netflow.flush=1
sleep 2
before=$(records)
sysctl -qw net.netflow.active_timeout=1
stream 3
sleep 3
after=$(records)
check "sysctl active_timeout=1 cuts a 3 s stream into records ($before -> $after)" test $((after - before)) -ge 2

# And back: with active_timeout=1800 the same stream stays one live flow.
sysctl -qw net.netflow.active_timeout=1800 net.netflow.flush=1
sleep 2
before=$(records)
stream 3
sleep 3
after=$(records)
check_eq "sysctl active_timeout=1800: a 3 s stream stays in the table" "$before" "$after"

# A write through the module parameter (no sysctl handler runs) reaches the
# packet path at the scanner's next run.
sysctl -qw net.netflow.flush=1
echo 1 >$params/active_timeout
sleep 2
before=$(records)
stream 3
sleep 3
after=$(records)
check "sysfs active_timeout=1 cuts a 3 s stream into records ($before -> $after)" test $((after - before)) -ge 2
check "the /proc timeouts line shows the values in force" grep -q "Timeouts: active 1s, inactive 15s" /proc/net/stat/ipt_netflow

netns_teardown
check "rmmod" rmmod ipt_NETFLOW
suite_end
