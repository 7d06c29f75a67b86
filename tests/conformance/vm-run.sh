#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vm-run.sh --set type1|v3|iommufd --guest-bin PATH [--workdir DIR]
#           [--kernel debian|debug]
#
# Runs the backend conformance suite (vb-conformance-guest) in the VM:
# Debian's 6.12 kernel under QEMU (TCG, q35, emulated Intel IOMMU, two edu
# devices bound to vfio-pci, the second attached late). Reuses
# tests/vm/lib.sh for the kernel choice and tool checks; packs its own
# small initramfs because the VM tier's /init runs only its own test
# program.
#
#   --set type1  stock kernel: the type1 backend; auto-probe must say type1
#   --set v3     builds src/kernel, loads vfio_iommu_type1v3: v3 tracked,
#                v3 direct and type1; auto-probe must say v3
#   --set iommufd  replaces the guest's VFIO stack with one rebuilt with
#                CONFIG_IOMMUFD and device cdevs (iommufd-stack.sh): iommufd
#                and type1 (through the compat container); probe: iommufd
#   --kernel debug  boots the VM tier's debug kernel instead (KASAN, lockdep,
#                sleep-in-atomic checks, DEBUG_VM, UBSAN; built or reused by
#                tests/vm/debug/build-kernel.sh), for type1 and v3: a checker's
#                report or a leak kmemleak finds fails kernel_log
#
# Prints the guest's RESULT lines and the path of the full guest log.
# Exit 0 only if every RESULT passed and the runner exited 0; kernel_log
# (tests/vm/guest/kernel-check.sh) also fails when the v3 module will not
# unload after the run or the kernel logged a warning. 1 on a failure; 2
# when the run cannot be set up (never a silent skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"

set_name="" guest_bin="" work="" kernel=debian
while [ $# -gt 0 ]; do
	case $1 in
	--set) set_name=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--guest-bin) guest_bin=$2; shift 2 ;;
	--workdir) work=$2; shift 2 ;;
	*) vm_die "conformance: unknown argument $1" ;;
	esac
done
case $set_name in
type1) backends=type1 expect=type1 ;;
v3) backends=v3-tracked,v3-direct,type1 expect=v3 ;;
iommufd) backends=iommufd,type1 expect=iommufd ;;
*) vm_die "conformance: --set type1|v3|iommufd required" ;;
esac
[ -n "$guest_bin" ] ||
	vm_die "conformance: no guest binary (a VB_SANITIZE build cannot link it statically)"
[ -x "$guest_bin" ] || vm_die "conformance: guest binary $guest_bin missing: build vb-conformance-guest"
case $kernel in
debian) ;;
debug)
	[ "$set_name" != iommufd ] ||
		vm_die "conformance: the debug kernel has no iommufd stack (--set iommufd)"
	vm_use_debug_kernel
	;;
*) vm_die "conformance: --kernel debian|debug" ;;
esac
work=${work:-$VM_WORK/conformance-$set_name}
t1limit=5000

rel=$(vm_kernel_release)
vm_require_tools
mkdir -p "$work"

ko=""
if [ "$set_name" = v3 ]; then
	[ -f "$VM_SRC/src/kernel/Makefile" ] || vm_die "conformance: src/kernel has no Makefile: no v3 module to test"
	make -s -C "$VM_SRC/src/kernel" KDIR="$(vm_kernel_build_dir)" \
		BUILD_DIR="$work/kmod" V3_DEBUG=1 >&2 ||
		vm_die "conformance: building src/kernel failed"
	ko="$work/kmod/vfio_iommu_type1v3.ko"
	[ -f "$ko" ] || vm_die "conformance: $ko missing after the module build"
fi

stack=""
if [ "$set_name" = iommufd ]; then
	stack=$("$here/iommufd-stack.sh") ||
		vm_die "conformance: could not build the iommufd VFIO stack"
fi

# --- initramfs: busybox, the VFIO modules, the runner, maybe the module ---
root="$work/root"
vm_root "$root"
cp "$guest_bin" "$root/bin/conformance"
vm_root_vfio "$root" "$stack"
[ -z "$ko" ] || cp "$ko" "$root/lib/modules/$rel/extra/"
depmod -b "$root" "$rel"

cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "3 4 1 7" >/proc/sys/kernel/printk
echo "CONF BOOTED"
# from here on: module loads and device binds are checked as well
n0=$(kernel-check mark)
for w in $(cat /proc/cmdline); do
	case $w in
	conf.backends=*) BACKENDS=$(echo "${w#*=}" | tr , ' ') ;;
	conf.expect=*) EXPECT=${w#*=} ;;
	conf.t1limit=*) T1LIMIT=${w#*=} ;;
	esac
done
# A small dma_entry_limit (the suite needs ~4100 runs) so the type1
# backend's ENOSPC path is reached for real.
modprobe vfio || echo "CONF ERROR modprobe vfio"
modprobe vfio_iommu_type1 dma_entry_limit=$T1LIMIT ||
	echo "CONF ERROR modprobe vfio_iommu_type1"
modprobe vfio-pci || echo "CONF ERROR modprobe vfio-pci"
if [ -f /lib/modules/$(uname -r)/extra/vfio_iommu_type1v3.ko ]; then
	modprobe vfio_iommu_type1v3 && echo "CONF MODULE vfio_iommu_type1v3 loaded" ||
		echo "CONF ERROR modprobe vfio_iommu_type1v3"
fi
# Two edu devices: the first for the suite, the second joins late.
DEV="" GROUP="" LATE=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] || continue
	echo vfio-pci >$d/driver_override
	echo ${d##*/} >/sys/bus/pci/drivers_probe
	g=$(readlink $d/iommu_group)
	echo "CONF DEVICE ${d##*/} group ${g##*/} driver $(basename $(readlink $d/driver))"
	if [ -z "$DEV" ]; then
		DEV=${d##*/} GROUP=${g##*/}
	elif [ -z "$LATE" ] && [ "${g##*/}" != "$GROUP" ]; then
		LATE="--group2 ${g##*/} --device2 ${d##*/}"
	fi
done
[ -n "$LATE" ] || echo "CONF ERROR no second edu in a group of its own"
kernel-check arm "CONF NOTE"
if [ -n "$DEV" ]; then
	timeout -s KILL 600 /bin/conformance --group $GROUP --device $DEV $LATE \
		--expect-probe $EXPECT --type1-entry-limit $T1LIMIT $BACKENDS
	echo "CONF EXIT rc=$?"
else
	echo "CONF ERROR no edu device found"
fi
# kmemleak (debug kernel), the module's unload and the kernel log
if kernel-check verdict "$n0" "CONF NOTE"; then
	echo "RESULT kernel_log PASS"
else
	echo "RESULT kernel_log FAIL (the reasons are the CONF NOTE lines)"
fi
echo "CONF DMESG-BEGIN"
dmesg
echo "CONF END"
poweroff -f
INIT
chmod +x "$root/init"
vm_pack "$root" "$work/initramfs.cpio.gz"

# --- boot -------------------------------------------------------------------
log="$work/guest.log"
echo "conformance vm: kernel $rel, set $set_name ($backends), log $log"
qrc=0
vm_boot "$log" "${VB_VM_TIMEOUT:-800}" 'CONF BOOTED' -machine q35 -accel tcg \
	-cpu max -m 2G -smp 2 -nographic -no-reboot -vga none -net none \
	-device intel-iommu -device edu -device edu \
	-kernel "$(vm_kernel_image)" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 intel_iommu=on iommu=nopt panic=-1 quiet conf.backends=$backends conf.expect=$expect conf.t1limit=$t1limit" ||
	qrc=$?

fail=0
[ "$qrc" -ne 124 ] || { echo "conformance vm: QEMU timed out"; fail=1; }
# The first console line can carry terminal escapes: match unanchored.
grep -oE '(CONF (ERROR|MODULE|DEVICE|EXIT|NOTE)|probe:).*' "$log" || true
results=$(grep -oE 'RESULT \S+ (PASS|FAIL).*' "$log" || true)
[ -z "$results" ] || echo "$results"
if grep -q 'CONF ERROR' "$log"; then
	echo "conformance vm: the guest reported a setup error"
	fail=1
fi
grep -q 'CONF END' "$log" || { vm_log_tail "$log" "conformance vm"; fail=1; }
grep -q 'CONF EXIT rc=0$' "$log" || { echo "conformance vm: runner did not exit 0"; fail=1; }
npass=$(echo "$results" | grep -cE '^RESULT \S+ PASS' || true)
nfail=$(echo "$results" | grep -cE '^RESULT \S+ FAIL' || true)
# Each backend contributes its setup lines plus the suite's cases.
[ "$npass" -ge 10 ] || { echo "conformance vm: only $npass passing results"; fail=1; }
[ "$nfail" -eq 0 ] || fail=1
# ... and every backend of the set ran the shared suite to its end (its
# first and its last case, conformance.c's cf_cases[]).
for be in $(echo "$backends" | tr , ' '); do
	for c in map_unmap usage_counts; do
		echo "$results" | grep -q "^RESULT $be/$c PASS" ||
			{ echo "conformance vm: no 'RESULT $be/$c PASS'"; fail=1; }
	done
done
# The ENOSPC must have been explained to the operator, naming the knob.
grep -q "dma_entry_limit is $t1limit" "$log" ||
	{ echo "conformance vm: no log line naming dma_entry_limit"; fail=1; }
echo "conformance vm: $npass passed, $nfail failed; full guest log: $log"
exit $fail
