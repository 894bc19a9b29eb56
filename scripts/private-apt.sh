#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs apt-get against one extra Debian suite through a private sources list
# and state directory, so the machine's own apt configuration is never changed.
#
#   scripts/private-apt.sh SUITE download PACKAGE...   .debs into $NF_CACHE/apt/SUITE/debs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

suite=${1:?usage: private-apt.sh SUITE download PACKAGE...}
shift
dir=$NF_CACHE/apt/$suite
mkdir -p "$dir/lists/partial" "$dir/debs"
# One apt-get at a time per suite (make check fetches in the background too).
exec 9>"$dir/lock"
flock 9
# The same mirror as the machine's own Debian sources.
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $suite main" >"$dir/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$dir/lists" -o APT::Sandbox::User=root)
# Refresh the index at most once a day.
if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
	apt-get "${opts[@]}" update -qq >/dev/null
fi
cmd=$1
shift
cd "$dir/debs"
apt-get "${opts[@]}" -qq "$cmd" "$@"
