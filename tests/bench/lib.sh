# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the benchmark's host scripts (bench.sh, profile.sh): building
# pktgen and the original module against a test kernel. Needs $top, $out
# and scripts/common.sh.
# shellcheck shell=bash

llvm_for() { case $1 in 6.12) ;; *) echo LLVM=-19 ;; esac; }

# pktgen: the test kernels are configured with CONFIG_NET_PKTGEN=m; should a
# tree lack the module, build net/core/pktgen.c out of tree against it.
pktgen_for() {
	local k=$1 tree=$2 dir
	if [ -f "$tree/net/core/pktgen.ko" ]; then
		echo "$tree/net/core/pktgen.ko"
		return
	fi
	dir=$out/$k/pktgen
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$tree/net/core/pktgen.c" "$dir/"
	echo 'obj-m := pktgen.o' >"$dir/Kbuild"
	# shellcheck disable=SC2046 # empty or one word
	make -s -C "$tree" M="$dir" $(llvm_for "$k") modules >"$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log" >&2; die "pktgen does not build against $k"; }
	echo "$dir/pktgen.ko"
}

# The original module from Debian's package; prints the .ko, or nothing
# (and the reason in build/bench/KERNEL/theirs.log) when it does not build.
theirs_for() {
	local k=$1 tree=$2 deb src dir
	"$top/scripts/private-apt.sh" trixie download iptables-netflow-dkms >&2
	deb=$(ls -t "$NF_CACHE"/apt/trixie/debs/iptables-netflow-dkms_*.deb | head -n 1)
	dir=$out/$k/theirs
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg -x "$deb" "$dir/pkg"
	src=$(echo "$dir"/pkg/usr/src/ipt-netflow-*)
	(
		cd "$src"
		# shellcheck disable=SC2046 # empty or one word
		export $(llvm_for "$k")
		./configure --kdir="$tree" --kver="$(make -s -C "$tree" kernelrelease)" \
			--disable-snmp-agent --disable-dkms &&
			make ipt_NETFLOW.ko
	) >"$dir/theirs.log" 2>&1 || true
	if [ -f "$src/ipt_NETFLOW.ko" ]; then
		echo "$src/ipt_NETFLOW.ko"
	else
		log "the original module does not build against $k (see $dir/theirs.log)"
	fi
}

