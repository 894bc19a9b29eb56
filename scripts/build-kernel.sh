#!/usr/bin/env bash
# Builds one of the project's test kernels from Debian's linux-source package
# and caches the built tree under $NF_CACHE/kernels/, keyed by the kernel
# version and a hash of the config fragments and this script, so later runs
# reuse it. Prints the tree's path on stdout.
#
#   scripts/build-kernel.sh 6.12          plain GCC-built 6.12 LTS
#   scripts/build-kernel.sh 7.3-debug     clang-built 7.3 with KASAN, kmemleak,
#                                         lockdep, atomic-sleep and debugobjects
#   scripts/build-kernel.sh 7.3           plain clang-built 7.3 (benchmarks)
#   scripts/build-kernel.sh 6.12-debug    ...and so on: SERIES[-debug]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
top=$(cd "$here/.." && pwd)

flavor=${1:?usage: build-kernel.sh SERIES[-debug]}
series=${flavor%-debug}
fragments=("$top/tests/kernel/base.config")
[ "$flavor" != "$series" ] && fragments+=("$top/tests/kernel/debug.config")

# KASAN together with RUST needs clang; the 7.x kernels are built with clang
# throughout, 6.12 with GCC so both compilers are covered.
llvm=()
case "$flavor" in
6.12) ;;
*) llvm=(LLVM=-19) ;;
esac

tarball=$("$here/fetch-kernel-source.sh" "$series")
key=$( (basename "$tarball"; stat -c %s "$tarball"; cat "${fragments[@]}" "$0"; echo "${llvm[*]}") | sha256sum | cut -c1-12)
tree=$NF_CACHE/kernels/$flavor-$key
if [ -f "$tree/.nf-built" ]; then
	echo "$tree"
	exit 0
fi

avail=$(df -Pk "$NF_CACHE" | awk 'NR==2 {print $4}')
[ "$avail" -gt $((4 * 1024 * 1024)) ] ||
	die "only $((avail / 1024)) MiB free under $NF_CACHE; a built kernel tree takes about 2.5 GiB"

log "building the $flavor test kernel in $tree (5 to 10 minutes)"
rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
tar -C "$tree.tmp" --strip-components=1 -xf "$tarball"
cd "$tree.tmp"
make "${llvm[@]}" -s tinyconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
make "${llvm[@]}" -s olddefconfig >/dev/null

# merge_config and olddefconfig drop options silently when a dependency is
# missing; a test kernel without Rust or KASAN would test nothing.
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=y | CONFIG_*=m)
			opt=${line%%=*}
			grep -qx "$line" .config || {
				# Options that do not exist in this version are fine, dropped ones are not.
				if grep -rqs "^config ${opt#CONFIG_}\$" --include='Kconfig*' .; then
					die "$flavor: $line was dropped by olddefconfig"
				fi
			} ;;
		esac
	done <"$f"
done

make "${llvm[@]}" -s -j"$(nproc)" >/dev/null
mv "$tree.tmp" "$tree"
# Objects not needed to build modules against the tree or to boot it.
touch "$tree/.nf-built"
log "built $flavor: $(make -s -C "$tree" kernelrelease)"
echo "$tree"
