#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds ipt_NETFLOW.ko and libxt_NETFLOW.so against one test kernel, in a
# private copy of the sources (build/FLAVOR), since Kbuild writes its
# objects next to the sources. Fails on any compiler or lint warning.
# Prints the build directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/common.sh"

flavor=${1:?usage: build-module.sh FLAVOR [all | CONFIGURE-OPTION...]}
shift
# The build with every flow field the original's configure offers (tests
# run it as FLAVOR-all), or a build with the configure options given
# (make matrix: build/matrix/...).
variant=
configure_args=("$@")
if [ "${1:-}" = all ]; then
	configure_args=("${NF_ALL_FLAGS[@]}")
	variant=-all
elif [ $# -gt 0 ]; then
	variant=-$(echo "$*" | sed 's/--//g; s/[^a-z0-9]/_/g')
	out_base=$top/build/matrix
fi
# 7.3-stock: Debian's own kernel, no test kernel to build (stock-kernel.sh).
[ "$flavor" = 7.3-stock ] || tree=$("$top/scripts/build-kernel.sh" "$flavor")
out=${out_base:-$top/build}/$flavor$variant
mkdir -p "$out"
rsync -a --delete --exclude=/build --exclude=/target --exclude=/.git \
	--exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude=config.mk --exclude=/configure.args \
	--exclude=/src/sys/bindings_generated.rs --exclude=/src/params/bindings_generated.rs --exclude=/fuzz \
	--filter='P *.o' --filter='P *.ko' --filter='P .*.cmd' --filter='P *.mod*' \
	--filter='P src/sys/bindings_generated.rs' --filter='P src/params/bindings_generated.rs' --filter='P Module.symvers' --filter='P modules.order' \
	"$top/" "$out/"
# What an earlier build left must not stand in for this one if it fails:
# rsync keeps the objects (for Kbuild's incremental build), not the results.
rm -f "$out/ipt_NETFLOW.ko" "$out/libxt/libxt_NETFLOW.so"
if [ "$flavor" = 7.3-stock ]; then
	[ -z "$variant" ] || die "7.3-stock builds only the default module"
	exec "$here/stock-kernel.sh" build
fi
cd "$out"
./configure --kdir="$tree" "${configure_args[@]}" >configure.log 2>&1 || { cat configure.log >&2; exit 1; }
# CLIPPY=1: the kernel's own Rust lints (clippy with the kernel's lint set)
# run as part of the build, so their warnings fail it too.
if ! make -s module libxt KMAKEFLAGS="$(sed -n 's/^KMAKEFLAGS := //p' config.mk) CLIPPY=1" >build.log 2>&1; then
	cat build.log >&2
	die "the module does not build against $flavor"
fi
if grep -Ei 'warning[:[]' build.log >&2; then
	die "the module builds with warnings against $flavor (see above)"
fi
# No stack frame of kilobytes (rustc does not warn about them; see the
# script).
"$top/scripts/stack-frames.sh" ipt_NETFLOW.ko || die "stack frames too large against $flavor"
# The test-only fault injector, built only when a run plants faults.
if [ -n "${NF_PLANT:-}" ]; then
	make -s -C "$tree" M="$out/tests/vm/plant" $(sed -n 's/^KMAKEFLAGS := //p' config.mk) modules >plant.log 2>&1 ||
		{ cat plant.log >&2; die "tests/vm/plant does not build against $flavor"; }
fi
echo "$out"
