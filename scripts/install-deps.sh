#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs everything the build, the demo and the tests need on a Debian 12
# (bookworm) machine: kernel build dependencies, clang/libclang 19 (kernel 7.3
# needs libclang >= 17, KASAN with Rust needs a clang-built kernel), bindgen,
# the Rust sources the kernel builds `core` from, iptables and its extension
# headers, qemu and virtme-ng for the VM tests, the collectors used to
# decode exports, snmpd and net-snmp's tools for the SNMP agent's suite (it
# runs its own snmpd, on other ports), and smilint for the MIB
# (scripts/base-mibs.sh fetches the base MIBs it needs). Idempotent: a
# second run only checks.
#   install-deps.sh demo    leaves out cargo-fuzz (about 3 minutes to
#                           build), which only make check uses
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"

apt_packages=(
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod rsync
	python3 python3-venv pkg-config
	clang-19 lld-19 llvm-19 libclang-19-dev
	iptables libxtables-dev iproute2 nftables
	qemu-system-x86 busybox-static
	linux-source-6.12
	tshark nfdump conntrack snmpd snmp
	smitools
	debootstrap pahole
)
# npm fetches the base MIBs for scripts/lint-mib.sh: Debian's, unless the
# machine already has one.
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

missing=()
for p in "${apt_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; the default (no) is fine.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "adding the rust-src component"
	rustup component add rust-src
fi

if ! command -v bindgen >/dev/null 2>&1; then
	log "installing bindgen-cli (about 2 minutes)"
	cargo install --locked bindgen-cli
fi

if [ "${1:-}" != demo ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
	log "installing cargo-fuzz"
	cargo install --locked cargo-fuzz
fi

if [ ! -x "$NF_VENV/bin/vng" ]; then
	log "creating the virtme-ng venv in $NF_VENV"
	python3 -m venv "$NF_VENV"
	# Pinned: tests/vm/run-vm.sh replaces the root mount options this
	# version gives the guest.
	"$NF_VENV/bin/pip" install -q virtme-ng==1.42
fi
log "dependencies are in place"
