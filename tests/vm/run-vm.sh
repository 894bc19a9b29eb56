#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Boots a test kernel under qemu (TCG: nested KVM does not boot on these
# machines) with virtme-ng and runs one guest script in it.
#
#   tests/vm/run-vm.sh FLAVOR GUEST-SCRIPT [ARGS...]
#
# The guest sees the host's filesystem read-only (with a writable overlay);
# the script's output comes back on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/common.sh"

flavor=${1:?usage: run-vm.sh FLAVOR SCRIPT [ARGS...]}
shift
export PATH="$NF_VENV/bin:$PATH"
cmd=$(printf '%q ' "$@")
if [ "$flavor" = 7.3-stock ]; then
	# Debian's own kernel with its own modules (netfilter, 9p, virtio are
	# modules there); the guest also fails on error-level kernel messages.
	image=$("$here/stock-kernel.sh" kernel)
	append=()
	cmd="NF_LOG_ERRORS=1 $cmd"
	# Under TCG on a loaded machine this kernel was seen to hang for
	# good early in boot (deferred page init), once in its first boots;
	# a boot that has not reached the script by then is retried.
	boot_timeout=${NF_VM_BOOT_TIMEOUT:-300}
else
	tree=$("$top/scripts/build-kernel.sh" "$flavor")
	image=$tree/arch/x86/boot/bzImage
	# root=/dev/root: the 9p root's mount tag (tinyconfig kernels have no
	# block layer, and without it the kernel would stay on the empty
	# initramfs).
	append=(--append root=/dev/root)
	# The debug kernel: KASAN reports every fault, not only its first (the
	# guest checks that this is on, and that lockdep and kmemleak still are).
	if [ "$flavor" != "${flavor%-debug}" ]; then
		append+=(--append kasan_multi_shot)
		# 4-level paging: with 5-level paging (qemu's TCG CPU has LA57)
		# this kernel took, in 2 of 5 boots here, a timer interrupt while
		# identify_cpu reset the CPU feature table, and KASAN, finding the
		# IRQ descriptor's direct-map address wild in that window, reported
		# it in a loop and never finished booting.
		append+=(--append no5lvl)
		# Slab caches without per-CPU sheaves (a cache with a debug flag
		# has none; U, the owner tracking, is the cheapest): a sheaf keeps
		# the pointers of the objects it handed out in its array, which
		# kmemleak scans, so on this kernel a leaked kmalloc or
		# kmem_cache object never looked unreferenced (seen with
		# nf_plant's fault=leak: found with U, not without).
		append+=(--append slub_debug=U)
		cmd="NF_DEBUG_KERNEL=1 $cmd"
	fi
	# Boots reach the script in 1 to 3 minutes, also under -icount.
	boot_timeout=600
fi
# The root (the host's filesystem over 9p) with the guest's page cache:
# virtme-ng mounts it uncached, so every process start reads its binary and
# libraries through 9p again, and a Python start its modules (3 to 5 s on
# the emulated debug kernel). The guest reads nothing there that the host
# changes during a run: it writes to its overlays and its --rwdir.
# (virtme-ng's own options, which this one replaces, and cache=loose.)
append+=(--append "rootflags=version=9p2000.L,trans=virtio,access=any,msize=512000,cache=loose")
# NF_VM_APPEND: extra kernel arguments, split on spaces.
for a in ${NF_VM_APPEND:-}; do append+=(--append "$a"); done
cd "$top"
# The guest script's output is written to files in a directory shared with
# the guest (--rwdir) and printed here after the VM exits: the serial console
# that virtme-ng would otherwise use mixes it with kernel messages, and its
# virtio ports need udev, whose coldplug takes minutes on the debug kernel
# under emulation. The console (kernel log and all) is kept in
# build/vm-out/FLAVOR/console for debugging.
# NF_VM_OUT=DIR puts them elsewhere (e.g. to run two VMs of one flavor).
out=${NF_VM_OUT:-$top/build/vm-out/$flavor}
# NF_VM_BOOT_TIMEOUT=S (or boot_timeout above): a boot that has not started
# the script after S seconds is killed and tried once more.
boot_timeout=${NF_VM_BOOT_TIMEOUT:-${boot_timeout:-}}
# NF_VM_QEMU_OPTS: extra qemu arguments, split on spaces (the benchmark uses
# "-icount shift=N" so that guest time counts emulated instructions).
qemu_opts=()
for o in ${NF_VM_QEMU_OPTS:-}; do qemu_opts+=("--qemu-opt=$o"); done
boot() {
	rm -rf "$out"
	mkdir -p "$out"
	# Its own session, so that a hung boot's qemu can be ended as a group.
	setsid timeout --foreground "${NF_VM_TIMEOUT:-3600}" "$NF_VENV/bin/vng" --run "$image" \
		--disable-kvm --cpus "${NF_VM_CPUS:-2}" --memory "${NF_VM_MEMORY:-2G}" --user root \
		"${append[@]}" --verbose --rwdir="$out" "${qemu_opts[@]}" \
		--exec "$cmd >$out/stdout 2>$out/stderr; echo \$? >$out/rc" </dev/null >"$out/console" 2>&1 &
	local pid=$! start=$SECONDS
	while [ -n "$boot_timeout" ] && kill -0 "$pid" 2>/dev/null; do
		grep -q 'starting script' "$out/console" 2>/dev/null && break
		# A kernel report before the script (no module loaded yet) is an
		# early-boot failure: no need to wait for the timeout.
		if [ $((SECONDS - start)) -ge "$boot_timeout" ] || grep -q '^BUG: ' "$out/console" 2>/dev/null; then
			echo "the VM did not reach the script in $((SECONDS - start)) s: $(grep -m1 '^BUG: ' "$out/console" || tail -n1 "$out/console")" >&2
			kill -- -"$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return 75
		fi
		sleep 2
	done
	wait "$pid"
}
rc=0
boot || rc=$?
# A boot that died or hung before the script started (an early-boot oops
# under emulation was seen once on Debian's kernel, in swapper, with no
# module loaded) is not a test result: it is tried once more.
if [ ! -f "$out/rc" ] && ! grep -q 'starting script' "$out/console" 2>/dev/null; then
	cp "$out/console" "$out.hung-console" 2>/dev/null || true
	echo "retrying the boot once" >&2
	rc=0
	boot || rc=$?
fi
cat "$out/stdout" 2>/dev/null
cat "$out/stderr" >&2 2>/dev/null
[ -f "$out/rc" ] || { echo "the VM did not finish the script (vng exit $rc); console: $out/console" >&2; exit 1; }
exit "$(cat "$out/rc")"
