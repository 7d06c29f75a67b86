# SPDX-License-Identifier: BSD-3-Clause
# Shared by tests/vm/e2e/run.sh and bench.sh (sourced after ../lib.sh):
# builds the v3 module and an initramfs holding busybox, the VFIO modules,
# this build tree's broker, devproc and brokerctl at their build-tree paths
# (with the shared libraries ldd names and the seccomp policies), and an
# /init that loads the modules, binds every edu device to vfio-pci and runs
# one guest script. Boots it with two edu devices.
#
# e2e_use_build BUILD         makes BUILD (absolute) the tree the guest
#                             runs (E2E_BUILD); dies unless it has the three
#                             binaries and is not a sanitizer build
# e2e_initramfs WORK V3_DEBUG GUEST_SCRIPT GUEST_ARGS [EXTRA_FILE...]
#                             writes WORK/initramfs.cpio.gz; the guest runs
#                             /bin/e2e-guest GUEST_ARGS; EXTRA_FILEs are
#                             copied to /bin. With E2E_STACK set to a
#                             directory of VFIO modules rebuilt with iommufd
#                             (tests/conformance/iommufd-stack.sh), those
#                             replace Debian's and the v3 module is left
#                             out (it is built against Debian's vfio.ko).
# e2e_boot WORK LOG TIMEOUT   boots it; returns QEMU's status

e2e_bins() {
	echo "$1/src/broker/vfio-broker $1/src/devproc/vfio-devproc $1/src/brokerctl/vfio-brokerctl $1/tests/vm/e2e/vb-linger"
}

e2e_use_build() {
	local dir b
	dir=$(cd "$1" && pwd) || vm_die "e2e: no build tree $1"
	for b in $(e2e_bins "$dir"); do
		[ -x "$b" ] || vm_die "e2e: $b missing: build the project in $dir first"
	done
	if ldd "$dir/src/broker/vfio-broker" | grep -q 'libasan\|libubsan'; then
		vm_die "e2e: $dir is a sanitizer build; the guest needs a normal build"
	fi
	E2E_BUILD=$dir
}

e2e_initramfs() {
	local work=$1 debug=$2 script=$3 args=$4
	shift 4
	local rel root ko b lib m f
	rel=$(vm_kernel_release)
	# its "busybox --list | grep -q" check can die of SIGPIPE under
	# pipefail when grep stops reading early
	set +o pipefail
	vm_require_tools
	set -o pipefail
	mkdir -p "$work"

	root="$work/root"
	vm_root "$root"
	vm_root_vfio "$root" "${E2E_STACK:-}"
	if [ -z "${E2E_STACK:-}" ]; then
		[ -f "$VM_SRC/src/kernel/Makefile" ] || vm_die "e2e: src/kernel has no Makefile"
		make -s -C "$VM_SRC/src/kernel" KDIR="$(vm_kernel_build_dir)" \
			BUILD_DIR="$work/kmod$debug" V3_DEBUG="$debug" >&2 ||
			vm_die "e2e: building src/kernel failed"
		ko="$work/kmod$debug/vfio_iommu_type1v3.ko"
		[ -f "$ko" ] || vm_die "e2e: $ko missing after the module build"
		cp "$ko" "$root/lib/modules/$rel/extra/"
	fi
	depmod -b "$root" "$rel"

	# Binaries at their build-tree paths, with every library they load.
	for b in $(e2e_bins "$E2E_BUILD"); do
		for f in "$b" $(ldd "$b" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
			mkdir -p "$root$(dirname "$f")"
			cp -L "$f" "$root$f"
		done
	done
	mkdir -p "$root$VM_SRC"
	cp -r "$VM_SRC/seccomp" "$root$VM_SRC/seccomp"
	cp "$script" "$root/bin/e2e-guest"
	chmod +x "$root/bin/e2e-guest"
	for f in "$@"; do
		cp "$f" "$root/bin/"
	done

	cat >"$root/init" <<INIT
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# No tmpfs on /tmp: the initramfs is writable already, and the build tree
# is copied in at its own path, which may well be under /tmp.
mkdir -p /tmp
echo "3 4 1 7" >/proc/sys/kernel/printk
echo "E2E BOOTED \$(uname -r)"
# from here on: module loads and device binds are checked as well
n0=\$(kernel-check mark)
modprobe vfio || echo "E2E ERROR modprobe vfio"
modprobe vfio_iommu_type1 || echo "E2E ERROR modprobe vfio_iommu_type1"
modprobe vfio-pci || echo "E2E ERROR modprobe vfio-pci"
if [ -f /lib/modules/\$(uname -r)/extra/vfio_iommu_type1v3.ko ]; then
	modprobe vfio_iommu_type1v3 && echo "E2E MODULE vfio_iommu_type1v3 loaded" ||
		echo "E2E ERROR modprobe vfio_iommu_type1v3"
else
	echo "E2E MODULE VFIO stack rebuilt with iommufd: \$(ls /dev/iommu 2>&1)"
fi
for d in /sys/bus/pci/devices/*; do
	[ "\$(cat \$d/vendor)" = 0x1234 ] && [ "\$(cat \$d/device)" = 0x11e8 ] || continue
	echo vfio-pci >\$d/driver_override
	echo \${d##*/} >/sys/bus/pci/drivers_probe
done
kernel-check arm "E2E NOTE"
timeout -s KILL ${E2E_GUEST_TIMEOUT:-1500} /bin/e2e-guest "$E2E_BUILD" "$VM_SRC" $args
rc=\$?
echo "E2E EXIT rc=\$rc"
if [ \$rc = 137 ]; then
	# killed by the timeout: where every process waits, for the log
	echo "E2E NOTE e2e-guest hit its timeout; the tasks in D state are in the kernel log below"
	echo w >/proc/sysrq-trigger
	for p in /proc/[0-9]*; do
		[ -r \$p/stack ] && [ -s \$p/stack ] || continue
		echo "E2E NOTE pid \${p##*/} (\$(cat \$p/comm)) \$(grep '^State:' \$p/status | tr '\\t' ' '):"
		sed 's/^/E2E NOTE   /' \$p/stack
	done
fi
# kmemleak (debug kernel), the module's unload and the kernel log
if kernel-check verdict "\$n0" "E2E NOTE"; then
	echo "E2E RESULT kernel_log PASS no leak, warning, BUG or oops; nothing kept a module in"
else
	echo "E2E RESULT kernel_log FAIL (the reasons are the E2E NOTE lines)"
fi
echo "E2E DMESG-BEGIN"
kernel-check since "\$n0"
echo "E2E DMESG-END"
echo "E2E END"
poweroff -f
INIT
	chmod +x "$root/init"
	vm_pack "$root" "$work/initramfs.cpio.gz"
}

e2e_boot() {
	local work=$1 log=$2 to=$3
	vm_boot "$log" "$to" 'E2E BOOTED' -machine q35 -accel tcg \
		-cpu max -m 2G -smp 2 -nographic -no-reboot -vga none -net none \
		-device intel-iommu -device edu -device edu ${E2E_QEMU_EXTRA:-} \
		-kernel "$(vm_kernel_image)" -initrd "$work/initramfs.cpio.gz" \
		-append "console=ttyS0 intel_iommu=on iommu=nopt panic=-1 quiet"
}
