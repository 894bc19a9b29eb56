#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# configure refuses the trees it cannot build against, each with a message
# that names the cause. Uses fake trees (a .config and a few files), so it
# needs no kernel build.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

expect_refusal() { # NAME PATTERN TREE
	local out
	if out=$(cd "$work" && "$top/configure" --kdir="$3" 2>&1); then
		echo "not ok - configure accepts $1"
		failed=$((failed + 1))
	elif grep -q "$2" <<<"$out"; then
		echo "ok - configure refuses $1"
	else
		echo "not ok - configure refuses $1 with a message naming the cause"
		echo "    $out"
		failed=$((failed + 1))
	fi
}

tree() { # DIR CONFIG-LINES...
	local dir=$1
	shift
	mkdir -p "$dir/rust"
	printf '%s\n' "$@" >"$dir/.config"
}

base=(CONFIG_NETFILTER_XTABLES=y CONFIG_PROC_FS=y CONFIG_MODULES=y)
tree "$work/norust" "${base[@]}"
expect_refusal "a tree without CONFIG_RUST" "without CONFIG_RUST" "$work/norust"

tree "$work/nometa" "${base[@]}" CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$(rustc --version)\""
expect_refusal "a tree without Rust artefacts" "no Rust build artefacts" "$work/nometa"

tree "$work/otherrustc" "${base[@]}" CONFIG_RUST=y 'CONFIG_RUSTC_VERSION_TEXT="rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)"'
touch "$work/otherrustc/rust/kernel.rmeta"
expect_refusal "a tree built with another rustc" "was built with 'rustc 1.85.1" "$work/otherrustc"

expect_refusal "a missing tree" "no kernel tree" "$work/nothing-here"

# A Debian linux-headers tree without Rust artefacts: configure hands it to
# scripts/rebuild-rust-artifacts.sh, which must refuse, before any build,
# what cannot reproduce the kernel. dpkg-query is a stub here (HEADERS and
# SOURCE are the versions it reports; empty: not installed).
mkdir -p "$work/bin"
cat >"$work/bin/dpkg-query" <<'STUB'
#!/bin/sh
case "$*" in
-S*) echo "linux-headers-9.9.9-test: $2" ;;
*linux-headers-*) [ -n "$HEADERS" ] && printf %s "$HEADERS" ;;
*linux-source-*) [ -n "$SOURCE" ] && printf %s "$SOURCE" ;;
esac
STUB
chmod +x "$work/bin/dpkg-query"
tree "$work/debian" "${base[@]}" CONFIG_RUST=y CONFIG_DEBUG_INFO_BTF=y "CONFIG_RUSTC_VERSION_TEXT=\"$(rustc --version)\""
rmdir "$work/debian/rust"
touch "$work/debian/Module.symvers"
gcc=$(cd /usr/bin && find . -maxdepth 1 -name 'x86_64-linux-gnu-gcc-[0-9]*' | sort | head -n1)
gcc=${gcc#./}
# shellcheck disable=SC2016 # $(CROSS_COMPILE) is make's, written as is
printf 'override KERNELRELEASE = 9.9.9-test\nCC = $(CROSS_COMPILE)%s\noverride CROSS_COMPILE = x86_64-linux-gnu-\n' \
	"${gcc#x86_64-linux-gnu-}" >"$work/debian/.kernelvariables"
debian() { PATH="$work/bin:$PATH" HEADERS=$1 SOURCE=$2 PAHOLE=${3:-pahole} expect_refusal "$4" "$5" "$work/debian"; }
debian 9.9.9-1 "" pahole "Debian headers without linux-source" "missing linux-source: install linux-source-9.9"
debian 9.9.9-1 9.9.9-2 pahole "Debian headers with another linux-source" "linux-source mismatch: linux-source-9.9 is 9.9.9-2"
debian "" "" pahole "Debian headers whose package is not installed" "is not installed"
debian 9.9.9-1 9.9.9-1 /nonexistent/pahole "Debian headers (with BTF) without pahole" "missing pahole"

# --- The original's options ----------------------------------------------
checks=8
# verdict NAME COMMAND...: a check of its own.
verdict() {
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then echo "ok - $name"; else echo "not ok - $name"; failed=$((failed + 1)); fi
}
expect_tree_refusal() { (cd "$work" && "$top/configure" --kdir="$work/nothing-here" "$@" 2>&1) | grep -q "no kernel tree"; }
help=$("$top/configure" --help)
missing=
for opt in --kdir= --kver= --enable-natevents --enable-sampler --enable-snmp-rules --enable-macaddress \
	--enable-vlan --enable-direction --enable-aggregation --enable-promisc --promisc-mpls \
	--enable-physdev --enable-physdev-override --enable-rand-tpl-id --disable-snmp-agent --disable-dkms \
	--disable-dkms-install --ipt-ver= --ipt-bin= --ipt-src= --ipt-lib= --ipt-inc= -Werror --from-dkms-conf=; do
	grep -q -- "$opt" <<<"$help" || missing="$missing $opt"
done
verdict "configure --help lists every option of the original's configure${missing:+ (missing:$missing)}" \
	test -z "$missing"
# Every option parses: configure goes on to the tree, which is missing.
verdict "configure accepts all of the original's options at once" expect_tree_refusal \
	--enable-natevents --enable-nat --enable-sampler=hash --enable-snmp-rules --enable-macaddress \
	--enable-vlan --enable-direction --enable-aggregation --enable-physdev --enable-physdev-override \
	--enable-rand-tpl-id --disable-snmp-agent --disable-dkms --disable-dkms-install --ipt-ver=1.8 \
	--ipt-bin=/usr/sbin/iptables --ipt-lib=/tmp --ipt-inc=/tmp -Werror --kver=9.9
expect_exit2() { # PATTERN ARGS...: exit status 2 and a message naming the cause
	local pattern=$1 out rc
	shift
	out=$(cd "$work" && "$top/configure" "$@" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && grep -q -- "$pattern" <<<"$out"
}
verdict "configure refuses an unknown option (exit 2)" expect_exit2 "unknown option --enable-bogus" --enable-bogus
verdict "configure accepts --enable-promisc and --promisc-mpls=N" expect_tree_refusal \
	--enable-promisc --promisc-mpls=5
verdict "configure limits --promisc-mpls to 10 labels" bash -c \
	"cd '$work' && '$top/configure' --promisc-mpls=12 --kdir='$work/nothing-here' 2>&1 | grep -q 'limiting the MPLS depth to 10'"
# DKMS's configure (--from-dkms-conf) reads the options kept in
# configure.args: a kept option it refuses shows it was read.
echo "--enable-bogus" >"$work/configure.args"
verdict "configure --from-dkms-conf reuses configure.args" expect_exit2 "unknown option --enable-bogus" \
	--from-dkms-conf="$work/nothing-here"
rm -f "$work/configure.args"

echo "$((checks - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
