#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make matrix`: the original's build matrix (its testing.sh), the 13
# option sets of its configure, each configured and built warning-free
# (configure's -Werror, the kernel's clippy lints and the stack-frame gate
# of tests/vm/build-module.sh) against a test kernel:
#   tests/matrix.sh [KERNEL]     (default 6.12; NF_MATRIX="SET;SET" to pick)
# Ends with "N passed, M failed"; a set configure refuses counts as failed
# with its reason.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/common.sh"

kernel=${1:-6.12}
default_sets="--disable-snmp-agent;--enable-aggregation;--enable-natevents;--enable-snmp-rules;--enable-macaddress;--enable-vlan;--promisc-mpls;--enable-direction;--enable-sampler;--enable-sampler=hash;--enable-promisc --promisc-mpls;--enable-physdev;--enable-physdev-override"
IFS=';' read -r -a sets <<<"${NF_MATRIX:-$default_sets}"
mkdir -p "$top/build/logs"
passed=0
failed=0
for set in "${sets[@]}"; do
	read -r -a opts <<<"$set"
	log_file=$top/build/logs/matrix_$kernel$(echo "$set" | sed 's/--//g; s/[^a-z0-9]/_/g').log
	start=$SECONDS
	if "$top/tests/vm/build-module.sh" "$kernel" "${opts[@]}" -Werror >"$log_file" 2>&1; then
		passed=$((passed + 1))
		log "ok   $set ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		log "FAIL $set ($((SECONDS - start)) s): $(grep -m1 -E 'configure: |error' "$log_file" || tail -n1 "$log_file")"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
