#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# NAT events (natevents), run inside the VM:  natevents.sh BUILD_DIR
# The router namespace nfr masquerades and DNATs; natevents.py checks what
# the module exports of its translations.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: natevents.sh BUILD_DIR}

plan 1 # and natevents.py states its own
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
modprobe -q iptable_nat 2>/dev/null || true
ip link set lo up
netns_setup
# SNAT UDP to port 5353 to 10.2.0.1:6000; masquerade the rest of what
# leaves towards nfb except from 10.1.0.3, nfa's second
# address, whose connections to nfr's port 8080 are DNATed to nfb (so that
# the DNAT case translates the destination only).
ip -n nfa addr add 10.1.0.3/24 dev nfa0
ip netns exec nfr iptables -t nat -A POSTROUTING -o nfr1 -p udp --dport 5353 -j SNAT --to-source 10.2.0.1:6000
ip netns exec nfr iptables -t nat -A POSTROUTING -o nfr1 ! -s 10.1.0.3 -j MASQUERADE
ip netns exec nfr iptables -t nat -A PREROUTING -i nfr0 -p tcp --dport 8080 -j DNAT --to-destination 10.2.0.2:80
python3 "$here/natevents.py" "$build" 2>&1 | tee /tmp/natevents.out
grep -q '^# natevents.py done' /tmp/natevents.out || fail "natevents.py ran to the end" "$(tail -n 20 /tmp/natevents.out)"
netns_teardown
ip netns del nfl 2>/dev/null
check "the module is unloaded at the end" sh -c '! lsmod | grep -q "^ipt_NETFLOW "'
suite_end
