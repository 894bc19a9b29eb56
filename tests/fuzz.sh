#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every fuzz target for a bounded time (NF_FUZZ_SECONDS, default 10
# each). cargo-fuzz needs nightly-only compiler flags (sanitizers); the
# machine has one stable toolchain, so RUSTC_BOOTSTRAP=1 unlocks them for
# this build only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/common.sh"
cd "$here/../fuzz"
secs=${NF_FUZZ_SECONDS:-10}
export RUSTC_BOOTSTRAP=1
# The list is taken apart from the loop: `for t in $(cmd)` ignores cmd's
# failure, and an empty list would fuzz nothing and still pass.
targets=$(cargo fuzz list) ||
	die "cargo fuzz list failed: is cargo-fuzz installed (scripts/install-deps.sh)?"
[[ -n $targets ]] || die "cargo fuzz list names no fuzz target (fuzz/Cargo.toml)"
for target in $targets; do
	mkdir -p "corpus/$target"
	# Committed inputs are read as further corpora: seeds/<target>/
	# (written by hand) and kept/<target>/ (what make stress found,
	# minimised). libFuzzer writes what it finds to the first one only.
	dirs=("corpus/$target")
	[[ -d seeds/$target ]] && dirs+=("seeds/$target")
	[[ -d kept/$target ]] && dirs+=("kept/$target")
	log "fuzzing $target for $secs s"
	# pipefail makes the run's status the pipeline's, not tail's: a crash
	# or a build failure fails the script.
	out=$(cargo fuzz run "$target" "${dirs[@]}" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1) ||
		{ echo "$out" | tail -n 30; die "fuzz target $target failed (a crash leaves its input under fuzz/artifacts/$target)"; }
	echo "$out" | tail -n 3
	runs=$(echo "$out" | sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' | tail -n 1)
	log "fuzz figure: $target: ${runs:-? runs}, no finding"
	# NF_FUZZ_KEEP=1 (make stress): the corpus, minimised, into kept/.
	if [[ ${NF_FUZZ_KEEP:-0} = 1 ]]; then
		rm -rf "kept/$target.new"
		mkdir -p "kept/$target.new"
		for d in "${dirs[@]}"; do cp -r "$d/." "kept/$target.new/"; done
		cargo fuzz cmin "$target" "kept/$target.new" >/dev/null 2>&1 ||
			die "cargo fuzz cmin $target failed"
		rm -rf "kept/$target"
		mv "kept/$target.new" "kept/$target"
		log "kept $(find "kept/$target" -type f | wc -l) inputs of $target"
	fi
done
