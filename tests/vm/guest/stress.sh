#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The stress suite, run inside the VM:  stress.sh BUILD_DIR
# stress.py loads and unloads the module itself, phase by phase (see there);
# this checks the kernel log and the sanitizers around it. Its durations come
# from NF_STRESS_* (make stress passes longer ones).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: stress.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

plan 1
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
modprobe -q pktgen 2>/dev/null || true
# The collectors' 64 MiB receive buffers, and receive backlogs that the
# flood does not fill: nothing is lost between the module and the count.
sysctl -qw net.core.rmem_max=67108864 net.core.netdev_max_backlog=100000
python3 "$here/stress.py" "$build" 2>&1 | tee /tmp/stress.out
grep -q '^# stress.py done' /tmp/stress.out || fail "stress.py ran to the end" "$(tail -n 20 /tmp/stress.out)"
netns_teardown
ip netns del nfc 2>/dev/null
check "the module is unloaded at the end" bash -c '! grep -q "^ipt_NETFLOW " /proc/modules'
suite_end
