#!/usr/bin/env bash
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
tree=$("$top/scripts/build-kernel.sh" "$flavor")
export PATH="$NF_VENV/bin:$PATH"
cmd=$(printf '%q ' "$@")
cd "$top"
# The guest script's output is written to files in a directory shared with
# the guest (--rwdir) and printed here after the VM exits: the serial console
# that virtme-ng would otherwise use mixes it with kernel messages, and its
# virtio ports need udev, whose coldplug takes minutes on the debug kernel
# under emulation. The console (kernel log and all) is kept in
# build/vm-out/FLAVOR/console for debugging.
# root=/dev/root: the 9p root's mount tag (tinyconfig kernels have no block
# layer, and without it the kernel would stay on the empty initramfs).
out=$top/build/vm-out/$flavor
rm -rf "$out"
# NF_VM_QEMU_OPTS: extra qemu arguments, split on spaces (the benchmark uses
# "-icount shift=N" so that guest time counts emulated instructions).
qemu_opts=()
for o in ${NF_VM_QEMU_OPTS:-}; do qemu_opts+=("--qemu-opt=$o"); done
mkdir -p "$out"
rc=0
timeout --foreground "${NF_VM_TIMEOUT:-1800}" "$NF_VENV/bin/vng" --run "$tree/arch/x86/boot/bzImage" \
	--disable-kvm --cpus "${NF_VM_CPUS:-2}" --memory "${NF_VM_MEMORY:-2G}" --user root \
	--append root=/dev/root --verbose --rwdir="$out" "${qemu_opts[@]}" \
	--exec "$cmd >$out/stdout 2>$out/stderr; echo \$? >$out/rc" </dev/null >"$out/console" 2>&1 || rc=$?
cat "$out/stdout" 2>/dev/null
cat "$out/stderr" >&2 2>/dev/null
[ -f "$out/rc" ] || { echo "the VM did not finish the script (vng exit $rc); console: $out/console" >&2; exit 1; }
exit "$(cat "$out/rc")"
