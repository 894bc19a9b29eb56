#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Parity with the original C module, run inside the VM:
#   NF_THEIRS_KO=PATH parity.sh BUILD_DIR
# The original (Debian's iptables-netflow-dkms 2.6, built at test time by
# check.sh against 6.12, the only test kernel it builds against) and our
# module are loaded in turn, one at a time (both are named ipt_NETFLOW), and
# given the same traffic (parity.py); parity_compare.py then compares what
# each exported (decoded by tshark), its /proc files and its kernel log,
# field by field and line by line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: NF_THEIRS_KO=PATH parity.sh BUILD_DIR}
theirs=${NF_THEIRS_KO:?the original module (NF_THEIRS_KO) is needed}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables
work=/tmp/parity

plan 3 # and what the Python scripts state: parity.py twice, parity_compare.py once
echo "# kernel $(uname -r), $(nproc) CPUs; original: $theirs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
rm -rf "$work"
mkdir -p "$work"
netns_setup
static_neighbours
# Interfaces of the initial namespace, whose names and descriptions the
# v9/IPFIX options records carry: a veth pair (ethtool's driver, speed and
# port), one end with an alias, and a VLAN on the other.
ip link del npx0 2>/dev/null
ip link add npx0 type veth peer name npx1
ip link set npx0 alias "parity uplink"
ip link add link npx1 name npx1.7 type vlan id 7
for dev in npx0 npx1 npx1.7; do ip link set "$dev" up; done
echo "# parity: set up after $SECONDS s"
# tshark's first start reads its libraries over the VM's 9p root (about
# 15 s under emulation, 2 s after that): started once now, while the
# modules run, it leaves them in the page cache for the comparison.
tshark -v >/dev/null 2>&1 &
warm=$!
# The original first: what ours is compared with must exist whatever ours
# does to the machine.
python3 "$here/parity.py" theirs "$theirs" "$work" 2>&1 | tee "$work/theirs.out"
echo "# parity: the original's runs done after $SECONDS s"
python3 "$here/parity.py" ours "$build/ipt_NETFLOW.ko" "$work" 2>&1 | tee "$work/ours.out"
echo "# parity: ours done after $SECONDS s"
netns_teardown
ip link del npx0
lsmod | grep -q '^ipt_NETFLOW ' && rmmod ipt_NETFLOW
for side in theirs ours; do
	check "parity.py $side ran to the end" grep -q "^# parity.py $side done" "$work/$side.out"
done
wait "$warm"
python3 "$here/parity_compare.py" "$work" "$build/README" 2>&1 | tee "$work/compare.out"
check "the comparison ran to the end" grep -q '^# parity_compare.py done' "$work/compare.out"
# NF_PARITY_KEEP=DIR (a directory the host shares with the guest): what
# was compared, to rerun parity_compare.py on the host.
[ -n "${NF_PARITY_KEEP:-}" ] && cp "$work"/*.json "$NF_PARITY_KEEP/"
echo "# parity: both modules and the comparison took $SECONDS s"
suite_end
