#!/usr/bin/env bash
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

echo "$((4 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
