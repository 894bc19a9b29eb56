#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reconstructs the Rust build artefacts (rust/*.rmeta, libmacros.so, ...) that
# a Debian linux-headers-<release> package lacks, so that an out-of-tree Rust
# module can be built for Debian's own kernel without rebuilding the kernel.
#
#   scripts/rebuild-rust-artifacts.sh HEADERS_DIR
#
# HEADERS_DIR is /usr/src/linux-headers-<release> (or /lib/modules/<release>/
# build). It rebuilds rust/ of the matching linux-source-<series> package
# with Debian's .config and the system's rustc (RUSTC=... to choose another)
# into $NF_CACHE/stock/<release>-<hash>/out, and prints that directory. There,
# .nf-stock holds the make variables a module build needs (KSRC, KCC,
# KRELEASE): the module must be built with O=<out>, CC= and KERNELRELEASE=.
#
# Rust symbols carry a hash of their crate (_RNv...Cs<hash>_4core...), so the
# module only links against the stock kernel if the rebuilt core and kernel
# crates have the very hashes listed in Debian's Module.symvers. That is
# verified here; when it fails the message names the cause: another rustc
# than the kernel's (CONFIG_RUSTC_VERSION_TEXT), a .config that came out
# different, no pahole, no or a different linux-source.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"

fail() {
	echo "rebuild-rust-artifacts: error: $*" >&2
	exit 1
}
note() { echo "rebuild-rust-artifacts: $*" >&2; }

hdr=${1:?usage: rebuild-rust-artifacts.sh HEADERS_DIR}
[ -d "$hdr" ] || fail "no such directory: $hdr"
hdr=$(cd "$hdr" && pwd -P)
if [ ! -f "$hdr/.config" ] || [ ! -f "$hdr/Module.symvers" ]; then
	fail "$hdr has no .config or Module.symvers: not a kernel headers tree"
fi

# --- Is it a Debian headers package, and which kernel? ------------------------
# Debian's per-flavour headers carry .kernelvariables (ARCH, KERNELRELEASE,
# the compiler) and are owned by the linux-headers-<release> package.
[ -f "$hdr/.kernelvariables" ] ||
	fail "$hdr is not a Debian linux-headers package tree; other distributions need a kernel build tree that has the Rust artefacts"
kvar() { sed -n "s/^\(override \)\{0,1\}$1 *[?:]\{0,1\}= *//p" "$hdr/.kernelvariables" | head -n1; }
release=$(kvar KERNELRELEASE)
[ -n "$release" ] || fail "$hdr/.kernelvariables names no KERNELRELEASE"
cross=$(kvar CROSS_COMPILE)
# CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-14
cc_base=$(kvar CC | grep -oE 'gcc(-[0-9]+)?$' || true)
[ -n "$cc_base" ] || fail "cannot tell the compiler from $hdr/.kernelvariables"
kcc=$cross$cc_base
command -v "$kcc" >/dev/null || fail "the kernel was built with $kcc, which is not installed (apt-get install ${cc_base})"

owner=$(dpkg-query -S "$hdr/.config" 2>/dev/null | cut -d: -f1 | head -n1 || true)
[ -n "$owner" ] || owner=linux-headers-$release
hver=$(dpkg-query -W -f='${Version}' "$owner" 2>/dev/null || true)
[ -n "$hver" ] || fail "package $owner is not installed (dpkg does not know $hdr)"

dconf() { sed -n "s/^$1=//p" "$hdr/.config" | tr -d '"'; }
[ "$(dconf CONFIG_RUST)" = y ] || fail "$release was built without CONFIG_RUST; no Rust module can load into it"

# --- pahole: without it DEBUG_INFO_BTF drops out and struct module changes ----
pahole=${PAHOLE:-pahole}
if [ "$(dconf CONFIG_DEBUG_INFO_BTF)" = y ] && ! command -v "$pahole" >/dev/null; then
	fail "missing pahole: $release has CONFIG_DEBUG_INFO_BTF, which olddefconfig would drop without pahole (changing struct module: the module would not load); apt-get install pahole"
fi

# Kconfig asks the openssl command whether it can make ML-DSA keys.
if [ "$(dconf CONFIG_OPENSSL_SUPPORTS_ML_DSA)" = y ] && ! command -v openssl >/dev/null; then
	fail "missing openssl: $release's .config has CONFIG_OPENSSL_SUPPORTS_ML_DSA, which olddefconfig would drop without the openssl command; apt-get install openssl"
fi

# --- The matching kernel source -------------------------------------------------
series=$(echo "$release" | grep -oE '^[0-9]+\.[0-9]+')
srcpkg=linux-source-$series
sver=$(dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null || true)
tarball=/usr/src/$srcpkg.tar.xz
[ -z "$sver" ] || [ "$sver" = "$hver" ] ||
	fail "linux-source mismatch: $srcpkg is $sver but $owner is $hver; install $srcpkg=$hver"
if [ -z "$sver" ] || [ ! -f "$tarball" ]; then
	fail "missing linux-source: install $srcpkg (apt-get install $srcpkg=$hver), the source of $release"
fi

# --- The compiler the rebuild uses -------------------------------------------
rustc=${RUSTC:-rustc}
command -v "$rustc" >/dev/null || fail "rustc not found (apt-get install rustc rust-src)"
rustc_text=$("$rustc" --version)
want_rustc=$(dconf CONFIG_RUSTC_VERSION_TEXT)

# The cache key: every input of the rebuild, and the recipe's version
# (bump it when the steps below change what they produce).
recipe=1
key=$( (echo "recipe $recipe $release $hver"; cat "$hdr/.config" "$hdr/Module.symvers"; "$rustc" -vV
	"$kcc" --version | head -n1; "$pahole" --version 2>/dev/null || true
	bindgen --version 2>/dev/null || true) | sha256sum | cut -c1-12)
top=$NF_CACHE/stock/$release-$key
out=$top/out
src=$NF_CACHE/stock/src-$srcpkg-$sver

# Symbol hashes of crate NAME (4core, 6kernel) in Debian's Module.symvers and
# in a rebuilt object.
# The most frequent one is the crate's own (others would be of crates it uses).
most_hash() { # most_hash NAME < TEXT
	awk -v re="Cs[0-9A-Za-z]+_$1" '{ s = $0; while (match(s, re)) { n[substr(s, RSTART, RLENGTH)]++; s = substr(s, RSTART + RLENGTH) } }
		END { for (h in n) if (n[h] > best) { best = n[h]; hash = h } print hash }'
}
symvers_hash() { most_hash "$1" <"$hdr/Module.symvers"; }
object_hash() { { nm --defined-only "$2" 2>/dev/null || true; } | most_hash "$1"; }

# The differences of the rebuilt .config from Debian's, less the compiler
# version texts (gcc's is allowed to differ, rustc's is judged by the hashes).
config_diff() {
	diff <(grep -vE '^CONFIG_(CC_VERSION_TEXT|RUSTC_VERSION|RUSTC_VERSION_TEXT|RUSTC_LLVM_VERSION)=' "$hdr/.config") \
		<(grep -vE '^CONFIG_(CC_VERSION_TEXT|RUSTC_VERSION|RUSTC_VERSION_TEXT|RUSTC_LLVM_VERSION)=' "$out/.config") || true
}

# check_crate NAME OBJECT: refuses when OBJECT's crate hash is not Debian's.
check_crate() {
	local want have cause
	want=$(symvers_hash "$1")
	have=$(object_hash "$1" "$2")
	[ -n "$want" ] || fail "$hdr/Module.symvers lists no symbol of the ${1#?} crate: cannot verify"
	[ "$want" = "$have" ] && return 0
	if [ "$rustc_text" != "$want_rustc" ]; then
		cause="wrong rustc version: the kernel was built with '$want_rustc' but '$rustc' is '$rustc_text'; use that very rustc (Debian's rustc package of the kernel's release; RUSTC=...)"
	elif [ -n "$(config_diff)" ]; then
		cause="config mismatch: the rebuilt .config differs from Debian's:
$(config_diff | head -n 40)"
	else
		cause="unknown: same rustc version text and .config; was rustc built differently (e.g. rustup's instead of the distribution's)?"
	fi
	echo "crate hash mismatch: the rebuilt ${1#?} crate has hash ${have:-none} but $release's Module.symvers has $want, so a module built here would not load. Cause: $cause" >"$out/.nf-refused"
	# Keep the verdict (same inputs, same result), not the objects.
	find "$out" -mindepth 1 ! -name .nf-refused -delete
	fail "$(cat "$out/.nf-refused")"
}

if [ -f "$out/.nf-refused" ]; then
	fail "$(cat "$out/.nf-refused") (cached in $out)"
fi
if [ -f "$out/.nf-stock" ]; then
	echo "$out"
	exit 0
fi

avail=$(df -Pk "$NF_CACHE" 2>/dev/null | awk 'NR==2 {print $4}' || echo 0)
mkdir -p "$NF_CACHE/stock"
if [ ! -f "$src/.nf-unpacked" ]; then
	[ "$avail" -gt $((3 * 1024 * 1024)) ] ||
		fail "only $((avail / 1024)) MiB free under $NF_CACHE; the source and the rebuilt rust/ need about 2.5 GiB"
	note "unpacking $tarball into $src"
	rm -rf "$src"
	mkdir -p "$src"
	tar -C "$src" --strip-components=1 -xf "$tarball"
	touch "$src/.nf-unpacked"
fi

note "rebuilding rust/ of $release with $rustc_text into $out (about 5 minutes on 2 cores)"
rm -rf "$top"
mkdir -p "$out"
cp "$hdr/.config" "$out/.config"
kmake=(make -s -C "$src" O="$out" CC="$kcc" KERNELRELEASE="$release" RUSTC="$rustc" PAHOLE="$pahole")
"${kmake[@]}" olddefconfig >/dev/null

# Config first: anything but the compiler version texts differing means a
# different kernel (e.g. an option dropped for a missing tool).
if [ -n "$(config_diff)" ]; then
	fail "config mismatch: olddefconfig changed Debian's .config (a missing tool or a different source?):
$(config_diff | head -n 40)"
fi

# Debian's Module.symvers (there is no vmlinux to make one from) and its
# BTF-only vmlinux (so the module gets BTF against the stock kernel's).
cp "$hdr/Module.symvers" "$out/Module.symvers"
[ -f "$hdr/vmlinux" ] && cp "$hdr/vmlinux" "$out/vmlinux"

"${kmake[@]}" -j"$(nproc)" modules_prepare
# core first: its hash tells within a minute whether this rustc can work.
"${kmake[@]}" -j"$(nproc)" rust/core.o
check_crate 4core "$out/rust/core.o"
"${kmake[@]}" -j"$(nproc)" rust/
check_crate 6kernel "$out/rust/kernel.o"
ls "$out"/rust/libmacros.so "$out"/rust/libkernel.rmeta >/dev/null 2>&1 ||
	fail "the rebuild left no rust/libkernel.rmeta or rust/libmacros.so in $out"

cat >"$out/.nf-stock" <<VARS
KSRC=$src
KCC=$kcc
KRELEASE=$release
VARS
note "rust/ of $release rebuilt; core and kernel crate hashes match Module.symvers ($(symvers_hash 4core), $(symvers_hash 6kernel))"
echo "$out"
