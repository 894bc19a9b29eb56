#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Checks IPT-NETFLOW-MIB.my (or the MIB file given) with smilint (Debian package smitools) at every
# level (-l 6) and fails on any error or warning it prints.
#
# The IETF base modules it imports come from scripts/base-mibs.sh.
#
# One warning class is ignored: node-implicit. The MIB registers itself at
# { enterprises 37476 9000 10 1 } like the original; naming the arcs
# 37476, 37476.9000 and 37476.9000.10 would mean defining descriptors for
# nodes this module does not own.
#
# Deviations from strict SMIv2 kept for the original's monitoring set-ups,
# allowed by name and nothing else:
# - cpuIndex is read-only although it indexes iptNetflowCpuEntry (the
#   original's agent serves it as column 1): one message, matched exactly.
# - the descriptors active-timeout, inactive-timeout, snmp-rules and
#   scan-min contain hyphens (smilint -l 6 prints nothing about them);
#   the check below makes sure that exactly those four descriptors do.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"

mib=${1:-$top/IPT-NETFLOW-MIB.my}

command -v smilint >/dev/null 2>&1 || die "smilint not found: scripts/install-deps.sh installs smitools"
mibs=$("$here/base-mibs.sh")

# -c /dev/null: no global or user smi.conf, so only $mibs is searched and the
# result does not depend on what else the machine has installed.
allowed="{index-element-accessible} warning: index element \`cpuIndex' of row \`iptNetflowCpuEntry' should be not-accessible in SMIv2 MIB"
out=$(SMIPATH=$mibs smilint -c /dev/null -l 6 -s -m -i node-implicit "$mib" 2>&1 |
	grep -vF -- "$allowed") || true
hyphenated=$(grep -oE '^[a-z][A-Za-z0-9]*(-[A-Za-z0-9]+)+ +OBJECT-TYPE' "$mib" | awk '{print $1}' | sort | tr '\n' ' ')
if [ "$hyphenated" != "active-timeout inactive-timeout scan-min snmp-rules " ]; then
	out+="${out:+$'\n'}hyphenated descriptors: '$hyphenated', expected exactly the original's four"
fi
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	echo "not ok - smilint -l 6 $(basename "$mib"): $(printf '%s\n' "$out" | wc -l) messages"
	exit 1
fi
echo "ok - smilint -l 6 $(basename "$mib"): no errors or warnings (base MIBs from $mibs), deviations only as named"
