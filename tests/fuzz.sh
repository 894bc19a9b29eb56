#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (NF_FUZZ_SECONDS, default 60
# each). cargo-fuzz needs nightly-only compiler flags (sanitizers); the
# machine has one stable toolchain, so RUSTC_BOOTSTRAP=1 unlocks them for
# this build only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/common.sh"
cd "$here/../fuzz"
secs=${NF_FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
	mkdir -p "corpus/$target"
	log "fuzzing $target for $secs s"
	cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 5
done
