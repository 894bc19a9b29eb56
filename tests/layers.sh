#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The layering check (scripts/layers.py) passes on the tree, and fails on a
# copy of it with one upward reference planted: a Rust import from sys/ into
# meter/, then a C include from sys/ into control/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
check=$top/scripts/layers.py

echo "# the tree"
python3 "$check" --root "$top" check

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# plant FILE LINE EXPECTED: copy src/, append LINE to FILE, the check must
# fail and name EXPECTED.
plant() {
	local file=$1 line=$2 expected=$3 out
	rm -rf "$tmp/src"
	cp -r "$top/src" "$tmp/src"
	printf '%s\n' "$line" >>"$tmp/$file"
	echo "# planted in $file: $line"
	if out=$(python3 "$check" --root "$tmp" check); then
		echo "$out"
		echo "the check passed with an upward reference planted" >&2
		return 1
	fi
	echo "$out"
	grep -qF "$expected" <<<"$out" || { echo "the check did not name $expected" >&2; return 1; }
}

plant src/sys/time.rs 'use crate::meter::flow::Flow;' 'upward: src/sys/time.rs'
plant src/sys/helpers.h '#include "../control/sysctl.h"' 'upward: src/sys/helpers.h'
echo "# layers: ok"
