#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the guest: the static test program, the v3 module (when
# src/kernel exists), the emulated test device (tests/vm/emu), and a
# busybox initramfs with the VFIO modules and an
# /init that binds edu devices to vfio-pci and runs the tests named on the
# kernel command line (vmtest.tests=a,b,c). Output: $VM_WORK/initramfs.cpio.gz
#
# VB_V3_KO=path uses a prebuilt module instead of building src/kernel;
# VB_V3_DEBUG=0 builds it without its invariant checks (the benchmark).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rel=$(vm_kernel_release)
kbuild=$(vm_kernel_build_dir)
vm_require_tools
mkdir -p "$VM_WORK"
exec 9>"$VM_WORK/.build.lock"
flock 9

# --- guest programs -------------------------------------------------------
# Bookworm's linux-libc-dev is 6.1: take vfio.h from the 6.12 headers we
# boot, stripped of __user the way headers_install does.
uapi="$VM_WORK/uapi"
mkdir -p "$uapi/linux"
sed -e 's/\b__user\b *//g' \
	"/usr/src/linux-headers-$(vm_debian_release | sed 's/-amd64$//')-common/include/uapi/linux/vfio.h" \
	>"$uapi/linux/vfio.h.new"
mv "$uapi/linux/vfio.h.new" "$uapi/linux/vfio.h"

mkdir -p "$VM_WORK/guest"
vmtest="$VM_WORK/guest/vmtest"
srcs=("$VM_DIR"/guest/*.c)
if [ ! -x "$vmtest" ] || [ -n "$(find "$VM_DIR/guest" "$VM_DIR/emu" "$VM_SRC/include/uapi" \
	-newer "$vmtest" -type f)" ]; then
	gcc -static -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow \
		-Wstrict-prototypes -Wmissing-prototypes -pthread \
		-I"$uapi" -I"$VM_SRC/include/uapi" -I"$VM_DIR/guest" -I"$VM_DIR/emu" \
		-o "$vmtest.new" "${srcs[@]}"
	mv "$vmtest.new" "$vmtest"
fi

# --- the v3 module --------------------------------------------------------
ko=""
if [ -n "${VB_V3_KO:-}" ]; then
	ko=$VB_V3_KO
elif [ -f "$VM_SRC/src/kernel/Makefile" ]; then
	# V3_DEBUG=1 compiles the module's invariant checks (WARN_ON_ONCE) in;
	# a warning fails the run through the kernel_log result.
	kdir="$VM_WORK/kmod-debug${VB_V3_DEBUG:-1}"
	make -s -C "$VM_SRC/src/kernel" KDIR="$kbuild" \
		BUILD_DIR="$kdir" V3_DEBUG="${VB_V3_DEBUG:-1}" >&2 ||
		vm_die "building src/kernel failed"
	ko="$kdir/vfio_iommu_type1v3.ko"
	[ -f "$ko" ] || vm_die "src/kernel built but $ko is missing"
else
	echo "vm: src/kernel has no Makefile yet: guest has no v3 module" >&2
fi

# --- the emulated test device (tests/vm/emu) --------------------------------
emu_dir="$VM_WORK/kmod-emu"
make -s -C "$VM_DIR/emu" KDIR="$kbuild" \
	BUILD_DIR="$emu_dir" >&2 || vm_die "building tests/vm/emu failed"

# --- initramfs tree -------------------------------------------------------
root="$VM_WORK/root"
vm_root "$root"
cp "$vmtest" "$root/bin/vmtest"
vm_root_vfio "$root"
[ -z "$ko" ] || cp "$ko" "$root/lib/modules/$rel/extra/vfio_iommu_type1v3.ko"
cp "$emu_dir/vfio_emu_test.ko" "$root/lib/modules/$rel/extra/"
depmod -b "$root" "$rel"

cat >"$root/init" <<'INIT'
#!/bin/sh
# Guest /init: every line the host parses starts with "VMTEST ".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Only critical kernel messages on the console, so they cannot split our
# lines; the whole kernel log is printed at the end.
echo "3 4 1 7" >/proc/sys/kernel/printk

TESTS=""
TO=180
for w in $(cat /proc/cmdline); do
	case $w in
	vmtest.tests=*) TESTS=$(echo "${w#*=}" | tr , ' ') ;;
	vmtest.timeout=*) TO=${w#*=} ;;
	esac
done

echo
echo "VMTEST BOOTED $(uname -r)"
# from here on: module loads and device binds are checked as well
n0=$(kernel-check mark)
# virtio_iommu first, where the kernel has it: with QEMU's virtio-iommu
# (run.sh VB_VM_IOMMU=virtio) the devices get their IOMMU groups when it
# loads; without one it binds nothing
modprobe virtio_iommu 2>/dev/null
for m in vfio vfio_iommu_type1 vfio-pci; do
	modprobe "$m" || echo "VMTEST ERROR modprobe $m failed"
done
if [ -f "/lib/modules/$(uname -r)/extra/vfio_iommu_type1v3.ko" ]; then
	if modprobe vfio_iommu_type1v3; then
		echo "VMTEST MODULE vfio_iommu_type1v3 loaded"
	else
		echo "VMTEST ERROR modprobe vfio_iommu_type1v3 failed"
	fi
else
	echo "VMTEST MODULE vfio_iommu_type1v3 absent"
fi
# the emulated device of the v3_emulated test (tests/vm/emu)
if modprobe vfio_emu_test; then
	echo "VMTEST MODULE vfio_emu_test loaded"
else
	echo "VMTEST ERROR modprobe vfio_emu_test failed"
fi
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	echo vfio-pci >"$d/driver_override"
	echo "${d##*/}" >/sys/bus/pci/drivers_probe
	g=$(readlink "$d/iommu_group")
	echo "VMTEST DEVICE ${d##*/} group ${g##*/} driver $(basename "$(readlink "$d/driver")")"
done
kernel-check arm "VMTEST NOTE"

for t in $TESTS; do
	echo "VMTEST START $t"
	timeout -s KILL "$TO" /bin/vmtest "$t"
	echo "VMTEST DONE $t rc=$?"
	# a test killed by the timeout leaves its forked children behind,
	# still holding containers and pins the next test would count
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = vmtest ] || continue
		kill -KILL "${p#/proc/}" 2>/dev/null &&
			echo "VMTEST NOTE $t killed its leftover process ${p#/proc/}"
	done
done
# kmemleak (debug kernel), the module's unload and the kernel log
# (guest/kernel-check.sh)
if kernel-check verdict "$n0" "VMTEST NOTE"; then
	echo "VMTEST RESULT kernel_log PASS"
else
	echo "VMTEST RESULT kernel_log FAIL"
fi
echo "VMTEST DMESG-BEGIN"
dmesg
echo "VMTEST DMESG-END"
echo "VMTEST END"
poweroff -f
INIT
chmod +x "$root/init"

vm_pack "$root" "$VM_WORK/initramfs.cpio.gz"
echo "$VM_WORK/initramfs.cpio.gz"
