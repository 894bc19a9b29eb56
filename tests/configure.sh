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

echo "$((8 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
