#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The stack gate (scripts/stack-frames.sh, scripts/stack_depth.py) passes
# on an object whose frames and chains are within its limits, and fails on
# one with a frame over the limit and on one whose frames, each within it,
# nest deeper than the chain limit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
gate=$top/scripts/stack-frames.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# object NAME C-SOURCE: compiles it as the kernel's objects are (calls
# between functions leave relocations).
object() {
	printf '%s\n' 'void use(volatile char *buf);' "$2" >"$tmp/$1.c"
	gcc -O2 -fno-inline -fno-optimize-sibling-calls -c "$tmp/$1.c" -o "$tmp/$1.o"
}
# frame NAME SIZE [CALLEE]: a function with a SIZE-byte buffer that calls
# CALLEE.
frame() {
	echo "void $1(void) { volatile char buf[$2]; use(buf); ${3:+$3();} }"
}
expect() {
	local want=$1 name=$2 out rc=0
	out=$("$gate" "$tmp/$name.o" 2>&1) || rc=$?
	echo "# $name: exit $rc"
	echo "$out" | sed 's/^/#   /'
	if [ "$want" = pass ] && [ $rc -ne 0 ]; then echo "the gate refused $name" >&2; exit 1; fi
	if [ "$want" = fail ] && [ $rc -eq 0 ]; then echo "the gate passed $name" >&2; exit 1; fi
	if [ "$want" = fail ]; then grep -q "$3" <<<"$out" || { echo "the gate did not say: $3" >&2; exit 1; }; fi
}

object within "$(frame c 2000) $(frame b 2000 c) $(frame a 1500 b)"
object big_frame "$(frame a 4000)"
object deep_chain "$(frame d 2000) $(frame c 2000 d) $(frame b 2000 c) $(frame a 2000 b)"
expect pass within
expect fail big_frame "stack frames over"
expect fail deep_chain "deepest chain .* over"
echo "# stack gate: ok"
