#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/vm/e2e/run.sh [--build DIR] [--backends "v3 type1 iommufd"]
#
# End to end in the VM: Debian's 6.12 kernel under QEMU (TCG, q35, emulated
# Intel IOMMU, two edu devices bound to vfio-pci, each in its own IOMMU
# group), the v3 module from src/kernel loaded, and the real vfio-broker
# with two sandboxed vfio-devproc --workload edu processes doing DMA through
# the VFIO device fds the broker hands them. What each result checks is
# listed at the top of guest.sh.
#
# The binaries are the host build tree's (default $VB_BUILD_DIR, else
# <src>/build), copied into the initramfs at the same absolute path
# together with the shared libraries ldd names and the seccomp policies,
# so they run in the guest exactly as from the host's build tree. A
# sanitizer build cannot run there (its runtime wants more than the
# initramfs has): use a normal build.
#
# Exit 0 only if every expected result passed, no result failed and the
# guest kernel logged no warning; 1 on a failure; 2 when the run cannot be
# set up. A backend the guest cannot run (iommufd on Debian's kernel) is
# reported loudly as NOT RUN with the reason and never counted as a pass.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

build=${VB_BUILD_DIR:-$VM_SRC/build}
backends="v3 v3-direct type1 iommufd"
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--backends) backends=$2; shift 2 ;;
	*) vm_die "e2e: unknown argument $1 (see the header of $0)" ;;
	esac
done
build=$(cd "$build" && pwd) || vm_die "e2e: no build tree $build"
work=$VM_WORK/e2e
bins=("$build/src/broker/vfio-broker" "$build/src/devproc/vfio-devproc"
      "$build/src/brokerctl/vfio-brokerctl")
for b in "${bins[@]}"; do
	[ -x "$b" ] || vm_die "e2e: $b missing: build the project in $build first"
done
if ldd "${bins[0]}" | grep -q 'libasan\|libubsan'; then
	vm_die "e2e: $build is a sanitizer build; the guest needs a normal build"
fi

rel=$(vm_kernel_release)
vm_require_tools
mkdir -p "$work"

# --- the v3 module -----------------------------------------------------------
[ -f "$VM_SRC/src/kernel/Makefile" ] || vm_die "e2e: src/kernel has no Makefile"
make -s -C "$VM_SRC/src/kernel" KDIR="/usr/src/linux-headers-$rel" \
	BUILD_DIR="$work/kmod" V3_DEBUG=1 >&2 ||
	vm_die "e2e: building src/kernel failed"
ko="$work/kmod/vfio_iommu_type1v3.ko"
[ -f "$ko" ] || vm_die "e2e: $ko missing after the module build"

# --- initramfs ---------------------------------------------------------------
root="$work/root"
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp} "$root/lib/modules/$rel/extra"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	# the list names busybox itself: linking it would replace the binary
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
ln -s bin "$root/sbin"

declare -A seen=()
add_module() {
	local f dep
	[ -z "${seen[$1]:-}" ] || return 0
	seen[$1]=1
	f=$(modinfo -k "$rel" -F filename "$1")
	mkdir -p "$root$(dirname "$f")"
	case $f in
	*.xz) xz -dc "$f" >"$root${f%.xz}" ;;
	*) cp "$f" "$root$f" ;;
	esac
	for dep in $(modinfo -k "$rel" -F depends "$1" | tr , ' '); do
		add_module "$dep"
	done
}
for m in vfio vfio_iommu_type1 vfio-pci vfio-pci-core irqbypass; do
	add_module "$m"
done
cp /lib/modules/"$rel"/modules.builtin* "$root/lib/modules/$rel/"
: >"$root/lib/modules/$rel/modules.order"
cp "$ko" "$root/lib/modules/$rel/extra/"
depmod -b "$root" "$rel"

# Binaries at their build-tree paths, with every shared library they load.
copy_file() {
	mkdir -p "$root$(dirname "$1")"
	cp -L "$1" "$root$1"
}
for b in "${bins[@]}"; do
	copy_file "$b"
	for lib in $(ldd "$b" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		copy_file "$lib"
	done
done
mkdir -p "$root$VM_SRC"
cp -r "$VM_SRC/seccomp" "$root$VM_SRC/seccomp"
cp "$here/guest.sh" "$root/bin/e2e-guest"
chmod +x "$root/bin/e2e-guest"

cat >"$root/init" <<INIT
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "3 4 1 7" >/proc/sys/kernel/printk
echo "E2E BOOTED \$(uname -r)"
modprobe vfio || echo "E2E ERROR modprobe vfio"
modprobe vfio_iommu_type1 || echo "E2E ERROR modprobe vfio_iommu_type1"
modprobe vfio-pci || echo "E2E ERROR modprobe vfio-pci"
modprobe vfio_iommu_type1v3 && echo "E2E MODULE vfio_iommu_type1v3 loaded" ||
	echo "E2E ERROR modprobe vfio_iommu_type1v3"
for d in /sys/bus/pci/devices/*; do
	[ "\$(cat \$d/vendor)" = 0x1234 ] && [ "\$(cat \$d/device)" = 0x11e8 ] || continue
	echo vfio-pci >\$d/driver_override
	echo \${d##*/} >/sys/bus/pci/drivers_probe
done
n0=\$(dmesg | wc -l)
timeout -s KILL 1500 /bin/e2e-guest "$build" "$VM_SRC" $backends
echo "E2E EXIT rc=\$?"
if dmesg | tail -n +\$((n0 + 1)) | grep -qE 'WARNING:|BUG:|Oops|general protection|Call Trace|refcount_t'; then
	echo "E2E RESULT kernel_log FAIL warning, BUG or oops during the run"
else
	echo "E2E RESULT kernel_log PASS no warning, BUG or oops"
fi
echo "E2E DMESG-BEGIN"
dmesg | tail -n +\$((n0 + 1))
echo "E2E DMESG-END"
echo "E2E END"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

# --- boot --------------------------------------------------------------------
log="$work/guest.log"
echo "e2e vm: kernel $rel, backends: $backends, build $build, log $log"
set +e
timeout -k 5 "${VB_VM_TIMEOUT:-1700}" qemu-system-x86_64 -machine q35 -accel tcg \
	-cpu max -m 2G -smp 2 -nographic -no-reboot -vga none -net none \
	-device intel-iommu -device edu -device edu \
	-kernel "/boot/vmlinuz-$rel" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 intel_iommu=on iommu=nopt panic=-1 quiet" \
	</dev/null >"$log" 2>&1
qrc=$?
set -e
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

# --- verdict -----------------------------------------------------------------
fail=0
[ "$qrc" -ne 124 ] || { echo "e2e vm: QEMU timed out"; fail=1; }
# The first console line can carry terminal escapes: match unanchored.
grep -oE 'E2E (ERROR|MODULE|DEVICES|BACKEND|EXIT).*' "$log" || true
notrun=$(grep -oE 'E2E NOTRUN .*' "$log" || true)
if [ -n "$notrun" ]; then
	echo "$notrun" | sed 's/^E2E NOTRUN /e2e vm: *** NOT RUN (not a pass): /'
fi
results=$(grep -oE 'E2E RESULT \S+ (PASS|FAIL).*' "$log" | sed 's/^E2E //' || true)
[ -z "$results" ] || echo "$results"
grep -q 'E2E ERROR' "$log" && { echo "e2e vm: the guest reported a setup error"; fail=1; }
grep -q 'E2E END' "$log" || { echo "e2e vm: guest did not finish"; fail=1; }
grep -q 'E2E EXIT rc=0$' "$log" || { echo "e2e vm: guest script did not exit 0"; fail=1; }
# Every backend that ran must have produced all six results.
for be in $backends; do
	grep -q "E2E NOTRUN $be " "$log" && continue
	for t in spawn_dma device_fd isolation kill_held kill_devproc kill_broker; do
		echo "$results" | grep -q "^RESULT ${be}_$t PASS" ||
			{ echo "e2e vm: ${be}_$t did not pass"; fail=1; }
	done
done
echo "$results" | grep -q '^RESULT kernel_log PASS' || fail=1
nfail=$(echo "$results" | grep -c '^RESULT \S* FAIL' || true)
npass=$(echo "$results" | grep -c '^RESULT \S* PASS' || true)
[ "$nfail" -eq 0 ] || fail=1
echo "e2e vm: $npass passed, $nfail failed$([ -z "$notrun" ] || echo ", $(echo "$notrun" | wc -l) backend(s) NOT RUN"); full guest log: $log"
exit $fail
