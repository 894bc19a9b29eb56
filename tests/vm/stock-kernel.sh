#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The "7.3-stock" test flavor: the module built for, and loaded into, Debian's
# own 7.3 kernel (trixie-backports, 7.3.4+deb13-amd64), exactly as a Debian
# operator would do it: install linux-headers-<release> and linux-source-7.3,
# ./configure (which reconstructs the Rust artefacts the headers lack), make.
#
# Debian's rustc 1.85.1 is the only compiler that reproduces the stock
# kernel's Rust crate hashes, and it needs trixie's glibc; so on this bookworm
# machine all of that runs in a trixie chroot made with debootstrap (cached).
#
#   stock-kernel.sh chroot        make (once) the trixie chroot with the
#                                 kernel packages installed; print its path
#   stock-kernel.sh build         configure + make in the chroot, against
#                                 /usr/src/linux-headers-<release>; install the
#                                 module into Debian's unpacked modules tree;
#                                 print the build directory (build/7.3-stock)
#   stock-kernel.sh wrong-rustc   configure with rustup's 1.85.1 instead of
#                                 Debian's; passes when configure refuses it
#                                 with the crate-hash mismatch message
#   stock-kernel.sh dkms          DKMS in the chroot, as an operator runs it:
#                                 make install-src, dkms add, build, install
#                                 for Debian's kernel, then what a kernel
#                                 upgrade runs (dkms autoinstall) after an
#                                 unbuild, which must keep the options the
#                                 sources were configured with; the installed
#                                 module is copied to build/7.3-stock-dkms/
#                                 for the VM
#   stock-kernel.sh kernel        unpack Debian's image and modules, point
#                                 /lib/modules/<release> there; print the
#                                 image (run-vm.sh boots it)
# The scripts run inside the chroot are in single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/common.sh
. "$top/scripts/common.sh"

release=7.3.4+deb13-amd64
abiname=7.3.4+deb13
series=7.3
flavor=7.3-stock
suite=trixie-backports
# What Debian's kernel packages need to build a Rust module (see README),
# plus what the checks use (rsync, the xtables headers for `make`).
chroot_packages=(
	rustc rust-src bindgen libclang-19-dev clang-19 gcc gcc-14 make flex bison bc
	libelf-dev libssl-dev openssl python3 cpio kmod pahole xz-utils binutils rsync
	pkg-config libxtables-dev linux-base gcc-14-for-host dkms
)
# The kernel packages, from trixie-backports.
kernel_packages=(
	"linux-headers-$release" "linux-headers-$abiname-common" "linux-kbuild-$abiname"
	"linux-base-$release" "linux-source-$series"
)
boot_packages=("linux-binary-$release" "linux-modules-$release" "linux-base-$release")

debs=$NF_CACHE/apt/$suite/debs
stock=$NF_CACHE/stock # reconstructed trees (bind-mounted into the chroot)

mirror() {
	local m
	m=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ' || true)
	echo "${m:-http://deb.debian.org/debian}"
}

deb_of() { # newest downloaded .deb of PACKAGE
	local f
	# shellcheck disable=SC2012 # Debian file names: no spaces or newlines
	f=$(ls -t "$debs/$1"_*.deb 2>/dev/null | head -n1)
	[ -n "$f" ] || die "no .deb of $1 in $debs"
	echo "$f"
}

# run_in ROOT COMMAND...: runs COMMAND in the chroot, in a private mount
# namespace (the mounts vanish with it), with the checkout copy at /nf/src
# and the reconstruction cache at its usual place under root's home.
run_in() {
	local root=$1
	shift
	mkdir -p "$stock" "$root/nf/src" "$root/root/.cache/ipt-netflow/stock" "$top/build/$flavor"
	# NF_BIND="HOSTDIR:DIR ...": more directories to bind.
	local bind=${NF_BIND:-} b
	for b in $bind; do mkdir -p "$root${b#*:}"; done
	unshare --mount --propagation private -- bash -euc '
		root=$1; src=$2; cache=$3; bind=$4; shift 4
		mount -t proc proc "$root/proc"
		mount --bind /dev "$root/dev"
		mount --bind "$src" "$root/nf/src"
		mount --bind "$cache" "$root/root/.cache/ipt-netflow/stock"
		for b in $bind; do mount --bind "${b%%:*}" "$root${b#*:}"; done
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' run_in "$root" "$top/build/$flavor" "$stock" "$bind" "$@"
}

# The trixie chroot, keyed by the package lists and this script's chroot part.
make_chroot() {
	local key root
	key=$( (printf '%s\n' "${chroot_packages[@]}" "${kernel_packages[@]}"; sed -n '/^make_chroot()/,/^}/p' "$0") | sha256sum | cut -c1-12)
	root=$NF_CACHE/trixie-$key
	if [ -f "$root/.nf-ready" ]; then
		echo "$root"
		return
	fi
	local start=$SECONDS
	log "creating the trixie chroot $root (debootstrap, about 2 minutes)"
	"$top/scripts/private-apt.sh" "$suite" download "${kernel_packages[@]}" "${boot_packages[@]}" >/dev/null
	rm -rf "$root.tmp"
	local include
	include=$(IFS=,; echo "${chroot_packages[*]}")
	debootstrap --variant=minbase --include="$include" trixie "$root.tmp" "$(mirror)" >"$root.tmp.log" 2>&1 ||
		{ tail -n 30 "$root.tmp.log" >&2; die "debootstrap failed (log: $root.tmp.log)"; }
	# The same mirror for trixie and trixie-backports inside (rust-clippy is
	# optional: CLIPPY=1 needs the clippy of Debian's own rustc).
	printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$(mirror)" "$(mirror)" >"$root.tmp/etc/apt/sources.list"
	cp /etc/resolv.conf "$root.tmp/etc/resolv.conf" 2>/dev/null || true
	# An operator installs the headers and the source with apt; here the
	# same .debs (downloaded once, cached) are installed with dpkg.
	mkdir -p "$root.tmp/nf/debs"
	local p
	for p in "${kernel_packages[@]}"; do cp "$(deb_of "$p")" "$root.tmp/nf/debs/"; done
	run_in "$root.tmp" sh -c 'dpkg -i /nf/debs/*.deb >/nf/dpkg.log 2>&1 || { cat /nf/dpkg.log; exit 1; }; rm -rf /nf/debs'
	run_in "$root.tmp" sh -c 'apt-get update -qq && { apt-get install -y -qq --no-install-recommends rust-clippy >/dev/null 2>&1 || echo "rust-clippy is not installable: building without CLIPPY=1" >&2; }; apt-get clean'
	touch "$root.tmp/.nf-ready"
	rm -f "$root.tmp.log"
	mv "$root.tmp" "$root"
	log "trixie chroot ready in $((SECONDS - start)) s"
	echo "$root"
}

# Debian's kernel image and modules, unpacked once; /lib/modules/<release>
# of this machine points there, since virtme-ng looks for a prebuilt
# kernel's modules under /lib/modules.
kernel_dir=$stock/debian-$release
modules_dir=$kernel_dir/usr/lib/modules/$release
unpack_kernel() {
	if [ ! -f "$kernel_dir/.nf-unpacked" ]; then
		"$top/scripts/private-apt.sh" "$suite" download "${boot_packages[@]}" >/dev/null
		rm -rf "$kernel_dir"
		mkdir -p "$kernel_dir"
		local p
		for p in "${boot_packages[@]}"; do dpkg -x "$(deb_of "$p")" "$kernel_dir"; done
		depmod -b "$kernel_dir/usr" "$release"
		touch "$kernel_dir/.nf-unpacked"
	fi
	local link=/lib/modules/$release
	mkdir -p /lib/modules
	if [ -L "$link" ] || [ ! -e "$link" ]; then
		ln -sfn "$modules_dir" "$link"
	elif [ "$(cd "$link" && pwd -P)" != "$(cd "$modules_dir" && pwd -P)" ]; then
		die "$link exists and is not ours: cannot boot Debian's $release with our modules tree"
	fi
}

# configure + make in the chroot, in build/7.3-stock (synced by
# build-module.sh), like an operator on trixie: ./configure --kdir=<headers>
# rebuilds the Rust artefacts on first use. Then `make install-module
# install-libxt` into Debian's unpacked modules tree, which the VM boots with.
build() {
	local root clippy=
	root=$(make_chroot)
	unpack_kernel
	[ -x "$root/usr/bin/clippy-driver" ] && clippy=CLIPPY=1
	[ -n "$clippy" ] || log "no clippy-driver for Debian's rustc in the chroot: building without CLIPPY=1"
	local start=$SECONDS
	NF_BIND="$kernel_dir:/nf/kernel" run_in "$root" bash -euc '
		cd /nf/src
		./configure --kdir=/usr/src/linux-headers-$1 >configure.log 2>&1 || { cat configure.log >&2; exit 1; }
		echo "configure (with the rebuild of rust/ on first use): $(($(date +%s) - $3)) s" >timing.log
		t=$(date +%s)
		kmake="$(sed -n "s/^KMAKEFLAGS := //p" config.mk) $2"
		make -s module libxt KMAKEFLAGS="$kmake" >build.log 2>&1 ||
			{ cat build.log >&2; echo "the module does not build against Debian $1" >&2; exit 1; }
		if grep -Ei "warning[:[]" build.log >&2; then echo "the module builds with warnings against Debian $1" >&2; exit 1; fi
		echo "module build: $(($(date +%s) - t)) s" >>timing.log
		# The SNMP agent (make install-snmp) is userspace and built on the
		# host; cargo here would need the crates.io index.
		make -s install-module install-libxt KMAKEFLAGS="$kmake" INSTALL_MOD_PATH=/nf/kernel/usr >install.log 2>&1 ||
			{ cat install.log >&2; exit 1; }
		modinfo -F vermagic ipt_NETFLOW.ko >vermagic
	' build "$release" "$clippy" "$(date +%s)"
	# The guest runs this machine's iptables: its extension is built here,
	# against bookworm's libxtables (the chroot's is trixie's).
	make -s -C "$top/build/$flavor/libxt" clean all XTABLES_LIBDIR="$(pkg-config --variable=xtlibdir xtables)" >&2
	"$top/scripts/stack-frames.sh" "$top/build/$flavor/ipt_NETFLOW.ko" || die "stack frames too large against Debian $release"
	log "built against Debian $release in $((SECONDS - start)) s: $(tr '\n' ' ' <"$top/build/$flavor/timing.log")"
	log "vermagic: $(cat "$top/build/$flavor/vermagic")"
	echo "$top/build/$flavor"
}

# configure must refuse rustup's rustc 1.85.1: same version number as
# Debian's, different crate hashes. The refusal must come from the hash check.
wrong_rustc() {
	local root tc out rc=0
	root=$(make_chroot)
	# rustup's 1.85.1: the same version number as Debian's, other hashes.
	# Should rustup not get it, its default toolchain still is another rustc.
	local want=1.85.1
	if ! rustup toolchain list | grep -q "^$want-" &&
		! rustup toolchain install "$want" --profile minimal -c rust-src >&2; then
		want=stable
		log "rustup could not install 1.85.1; feeding configure rustup's stable rustc instead"
	fi
	tc=$(rustup run "$want" rustc --print sysroot)
	# The checkout itself (read only: configure writes config.mk to its
	# working directory, here a scratch one).
	out=$(NF_BIND="$tc:/opt/rustup-1.85.1 $top:/nf/checkout" run_in "$root" bash -c '
		mkdir -p /tmp/wrong-rustc && cd /tmp/wrong-rustc &&
			RUSTC=/opt/rustup-1.85.1/bin/rustc /nf/checkout/configure --kdir=/usr/src/linux-headers-$1' wrong "$release" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -ne 0 ] || die "configure accepted rustup's rustc $want for Debian's $release"
	grep -q 'crate hash mismatch' <<<"$out" || die "configure refused, but not with the crate hash mismatch message"
	grep -q 'wrong rustc version' <<<"$out" || die "configure refused, but did not name the wrong rustc as the cause"
	echo "ok - configure refuses rustup's rustc $want for Debian's $release (crate hash mismatch, wrong rustc)"
}

# DKMS with the repository's dkms.conf, in the chroot. Its state (the
# dkms tree, the installed module) lives in scratch directories bound over
# the chroot's, so every run starts from nothing; the sources go where
# `make install-src` puts them, and are removed again.
dkms_check() {
	local root name version scratch
	root=$(make_chroot)
	name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$top/dkms.conf")
	version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
	scratch=$top/build/$flavor-dkms
	rm -rf "$scratch"
	# The modules directory as the headers package leaves it: the link to
	# the build tree, which DKMS builds against.
	mkdir -p "$scratch/tree" "$scratch/modules" "$scratch/out"
	ln -s "/usr/src/linux-headers-$release" "$scratch/modules/build"
	local start=$SECONDS
	# The sources come from the checkout (read only), as make install-src
	# copies them: not from build/7.3-stock, which the module tier fills.
	NF_BIND="$top:/nf/checkout $scratch/tree:/var/lib/dkms $scratch/modules:/lib/modules/$release $scratch/out:/nf/out" \
		run_in "$root" bash -euc '
		release=$1 name=$2 version=$3 src=/usr/src/$2-$3
		trap "rm -rf $src" EXIT
		step() { echo "\$ $*"; "$@" 2>&1 | tail -n 15; }
		installed() { dkms status -m "$name" -v "$version" -k "$release" | grep -q ": installed"; }
		make -s -C /nf/checkout install-src SRC_DEST="$src"
		step dkms add -m "$name" -v "$version"
		step dkms build -m "$name" -v "$version" -k "$release"
		step dkms install -m "$name" -v "$version" -k "$release"
		installed || { echo "dkms install did not install it"; exit 1; }
		ko=$(find /lib/modules/$release/updates -name "ipt_NETFLOW.ko*" | head -n1)
		[ -n "$ko" ] || { echo "no ipt_NETFLOW.ko under updates/"; exit 1; }
		echo "installed: $ko, vermagic $(modinfo -F vermagic "$ko")"
		[ "$(modinfo -F features "$ko")" = none ] || { echo "the default build has features: $(modinfo -F features "$ko")"; exit 1; }
		cp "$ko" /nf/out/
		# A kernel upgrade: the kernel packages hooks run dkms autoinstall,
		# which must build and install what AUTOINSTALL=yes names, with the
		# options the operator configured the sources with (configure keeps
		# them in configure.args, which install-src copies; --from-dkms-conf
		# reads them).
		echo "--enable-vlan" >"$src/configure.args"
		step dkms unbuild -m "$name" -v "$version" -k "$release"
		! installed || { echo "dkms unbuild left it installed"; exit 1; }
		step dkms autoinstall -k "$release"
		installed || { echo "dkms autoinstall did not rebuild it"; exit 1; }
		ko=$(find /lib/modules/$release/updates -name "ipt_NETFLOW.ko*" | head -n1)
		features=$(modinfo -F features "$ko")
		[ "$features" = vlan ] || { echo "the rebuild did not keep --enable-vlan (modinfo features: $features)"; exit 1; }
		echo "rebuilt with the configured options: $features"
		step dkms remove -m "$name" -v "$version" --all
		[ -z "$(dkms status -m "$name")" ] || { echo "dkms remove left it"; exit 1; }
	' dkms "$release" "$name" "$version" || die "DKMS failed against Debian $release"
	[ -n "$(ls "$scratch/out")" ] || die "DKMS installed no module"
	log "DKMS add, build, install, autoinstall and remove against Debian $release in $((SECONDS - start)) s"
	echo "$scratch/out/$(ls "$scratch/out")"
}

cmd=${1:?usage: stock-kernel.sh chroot|build|dkms|wrong-rustc|kernel}
shift
case "$cmd" in
chroot) make_chroot ;;
build) build ;;
dkms) dkms_check ;;
wrong-rustc) wrong_rustc ;;
kernel) # prints the image to boot, after making its modules reachable
	unpack_kernel
	echo "$modules_dir/vmlinuz"
	;;
*) die "unknown command $cmd" ;;
esac
