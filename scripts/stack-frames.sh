#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fails when a function of a built module reserves more stack than LIMIT
# bytes (default 3072), or when a chain of the module's own calls does
# (CHAIN, default 6144; scripts/stack_depth.py):
#
#   scripts/stack-frames.sh MODULE.ko [LIMIT [CHAIN]]
#
# Kernel stacks are 16 KiB on x86-64, and rustc has no counterpart of C's
# -Wframe-larger-than: a value of a few kilobytes built on the stack
# (a struct returned by value, a temporary moved into a box) goes unnoticed
# until a deep enough path overflows. That happened at insmod on the plain
# 7.3 kernel (module init nested frames of 2, 7 and 4.6 KiB), and Debian's
# compiler once made module init's own frame 4.5 KiB on a chain of 10.5.
# The frame size is read from the prologue's `sub $N,%rsp`. The chain's
# 6 KiB leave the rest of the stack to the kernel's frames below the
# module (system call, module loader, softirq and netfilter) and above it
# (allocator, sockets).
set -euo pipefail
ko=${1:?usage: stack-frames.sh MODULE.ko [LIMIT]}
limit=${2:-3072}
chain=${3:-6144}
objdump -d --no-show-raw-insn "$ko" | awk -v limit="$limit" '
	/^[0-9a-f]+ <.*>:$/ { fn = $2; next }
	/sub +\$0x[0-9a-f]+,%rsp/ {
		match($0, /\$0x[0-9a-f]+/)
		hex = substr($0, RSTART + 3, RLENGTH - 3)
		n = 0
		for (i = 1; i <= length(hex); i++) n = n * 16 + index("0123456789abcdef", substr(hex, i, 1)) - 1
		if (n > limit && !seen[fn]++) { print n " " fn; bad = 1 }
	}
	END { exit bad }
' | c++filt | sed 's/^/stack frame over the limit: /' >&2 ||
	{ echo "error: $(basename "$ko") has stack frames over $limit bytes (above)" >&2; exit 1; }
# The deepest chain: its first line when within the limit, all of it when
# over.
rc=0
depth=$(python3 "$(dirname "$0")/stack_depth.py" "$ko" "$chain" 2>&1) || rc=$?
[ $rc -eq 0 ] && head -n1 <<<"$depth" >&2 || echo "$depth" >&2
exit $rc
