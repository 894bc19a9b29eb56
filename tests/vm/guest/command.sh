#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The operator's command, run inside the VM:  command.sh BUILD_DIR
# Installs ipt_netflow and its unit as `make install-command` does, and the
# module where modprobe finds it (lib.sh); command.py does the rest.
# NF_DKMS_KO (on Debian's kernel): the module that DKMS built and installed
# in the trixie chroot (stock-kernel.sh dkms), which must load here too.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:?usage: command.sh BUILD_DIR}
export XTABLES_LIBDIR=$build/libxt:/usr/lib/x86_64-linux-gnu/xtables

# command.py states its own plan; this script's checks, the DKMS ones
# where NF_DKMS_KO is given:
checks=1
[ -z "${NF_DKMS_KO:-}" ] || checks=3
plan "$checks"
echo "# kernel $(uname -r), $(nproc) CPUs"
dmesg_start
kmemleak_reset
load_kmods
ip link set lo up
install_command "$build"
install_for_modprobe "$build"
python3 "$here/command.py" "$build" 2>&1 | tee /tmp/command.out
grep -q '^# command.py done' /tmp/command.out || fail "command.py ran to the end" "$(tail -n 20 /tmp/command.out)"
check "the module is unloaded at the end" sh -c '! lsmod | grep -q "^ipt_NETFLOW "'
if [ -n "${NF_DKMS_KO:-}" ]; then
	check "the module DKMS built for this kernel loads" insmod "$NF_DKMS_KO" destination=127.0.0.1:2055
	check_eq "...and is ours (/proc's first line)" "ipt_NETFLOW $(cat "$build/VERSION")," \
		"$(head -n 1 /proc/net/stat/ipt_netflow 2>&1 | awk '{ print $1, $2 }')"
	rmmod ipt_NETFLOW
fi
rm -f /usr/sbin/ipt_netflow /lib/systemd/system/ipt_netflow.service /var/log/ipt_netflow.log
suite_end
