# SPDX-License-Identifier: GPL-2.0-only
# Shared settings for the project's scripts. Sourced, never run.

# Everything that is expensive to make and independent of the checkout (kernel
# trees, the virtme-ng venv, the trixie chroot) is cached here, so a second run
# of `make check` on the same machine reuses it.
NF_CACHE=${NF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipt-netflow}
NF_VENV=$NF_CACHE/venv
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The configure options of the build with every flow field the original's
# configure offers: make check builds it next to the default build for each
# test kernel and runs the foundation and l2 suites with it.
# shellcheck disable=SC2034 # used by the scripts that source this file
NF_ALL_FLAGS=(--enable-macaddress --enable-vlan --enable-direction --enable-physdev
	--enable-physdev-override --enable-rand-tpl-id --enable-promisc --promisc-mpls)
