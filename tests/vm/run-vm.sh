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
# The guest script's stdout and stderr come back on ours. qemu opens each of
# its output channels on /proc/self/fd/N separately: into a plain file they
# would overwrite each other, so they always go through pipes.
# root=/dev/root: the 9p root's mount tag (tinyconfig kernels have no block
# layer, and without it the kernel would stay on the empty initramfs).
# udev (installed by scripts/install-deps.sh) names the virtio ports that
# carry the script's I/O.
set -o pipefail
timeout --foreground "${NF_VM_TIMEOUT:-1500}" "$NF_VENV/bin/vng" --run "$tree/arch/x86/boot/bzImage" \
	--disable-kvm --cpus "${NF_VM_CPUS:-2}" --memory "${NF_VM_MEMORY:-2G}" --user root \
	--append root=/dev/root --exec "$cmd" 2> >(cat >&2) | cat
