# SPDX-License-Identifier: BSD-3-Clause
# Shared by the VM tier scripts (sourced, not run): where things live and
# which kernel they use. The kernel is the installed linux-source-6.12's
# version, so image, headers, module build and guest always agree.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_SRC=$(cd "$VM_DIR/../.." && pwd)
VM_WORK=${VB_VM_WORKDIR:-$VM_SRC/build-vm}

vm_die() {
	echo "vm: $*" >&2
	exit 2
}

# Prints the kernel release (e.g. 6.12.N+deb12-amd64) whose image, modules,
# headers and source are all installed, or dies naming setup.sh.
vm_kernel_release() {
	local ver up rel
	ver=$(dpkg-query -W -f='${Status} ${Version}\n' linux-source-6.12 2>/dev/null |
		awk '$3 == "installed" { print $4 }')
	[ -n "$ver" ] || vm_die "linux-source-6.12 is not installed: run tests/vm/setup.sh"
	up=${ver%%-*}
	rel="$up+deb12-amd64"
	[ -r "/boot/vmlinuz-$rel" ] || vm_die "/boot/vmlinuz-$rel missing: run tests/vm/setup.sh"
	[ -d "/lib/modules/$rel/kernel/drivers/vfio" ] || vm_die "modules for $rel missing: run tests/vm/setup.sh"
	[ -d "/usr/src/linux-headers-$rel" ] || vm_die "linux-headers-$rel missing: run tests/vm/setup.sh"
	echo "$rel"
}

vm_require_tools() {
	local t
	for t in qemu-system-x86_64 cpio xz gzip depmod gcc; do
		command -v "$t" >/dev/null || vm_die "$t not found: run tests/vm/setup.sh"
	done
	[ -x /bin/busybox ] && /bin/busybox --list | grep -x modprobe >/dev/null ||
		vm_die "static busybox not found: run tests/vm/setup.sh"
}
