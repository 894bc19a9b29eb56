#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Puts Debian's linux-source-SERIES tarball in the cache and prints its path.
# 6.12 comes from bookworm-security (in the machine's apt sources); 7.3 from
# trixie-backports through a private apt list, leaving the machine's apt
# sources untouched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

series=${1:?usage: fetch-kernel-source.sh SERIES}
src=$NF_CACHE/src
mkdir -p "$src"
out=$src/linux-source-$series.tar.xz
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

case "$series" in
6.12)
	if [ ! -f /usr/src/linux-source-6.12.tar.xz ]; then
		apt-get install -y -qq linux-source-6.12 >/dev/null
	fi
	cp /usr/src/linux-source-6.12.tar.xz "$out.tmp"
	;;
*)
	"$here/private-apt.sh" trixie-backports download "linux-source-$series" >/dev/null
	deb=$(ls -t "$NF_CACHE"/apt/trixie-backports/debs/linux-source-"$series"_*.deb | head -n1)
	tmp=$(mktemp -d)
	dpkg -x "$deb" "$tmp"
	mv "$tmp/usr/src/linux-source-$series.tar.xz" "$out.tmp"
	rm -rf "$tmp"
	;;
esac
mv "$out.tmp" "$out"
echo "$out"
