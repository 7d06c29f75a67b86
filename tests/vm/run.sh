#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh [TEST...]: builds the guest, boots it once under QEMU (TCG, q35,
# emulated Intel IOMMU, two edu devices), runs the named guest tests (all
# of the default suite when none are named) and turns the serial log into
# pass/fail. Exit 0 only if every requested test printed PASS, exited 0,
# and the guest kernel logged no warning; 1 otherwise; 2 on setup errors.
#
# Environment:
#   VB_VM_WORKDIR  build and log directory (default <repo>/build-vm)
#   VB_VM_LOG      guest log file (default $VB_VM_WORKDIR/logs/<time>.log)
#   VB_VM_TIMEOUT  seconds before QEMU is killed (default 120 + 120/test,
#                  at most 1700: under ctest's limit)
#   VB_VM_VERBOSE  1: copy the guest log to stdout while it runs
#   VB_VM_TEST_TIMEOUT  seconds per guest test (default 180)
#   VB_V3_KO, VB_V3_DEBUG  see build-initramfs.sh
#   VB_VM_KERNEL   boot this kernel instead of Debian's (lib.sh; the debug
#                  kernel tier, tests/vm/debug/run.sh, sets it)
#   VB_VM_MOVABLECORE  size of the guest's ZONE_MOVABLE (default 128M)
#   VB_VM_EXCLUDE  space-separated tests the default suite leaves out
#   VB_VM_IOMMU    intel (default: VT-d) or virtio (QEMU's virtio-iommu,
#                  for the guest test v3_probe_virtio)
# Full guest log, with the guest kernel's dmesg at its end, stays in the log.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
-h | --help)
	sed -n '3,/^$/p' "$0" | sed -e '/^$/d' -e 's/^# \{0,1\}//'
	echo "Tests:"
	"$VM_DIR/build-initramfs.sh" >/dev/null 2>&1 || true
	"$VM_WORK/guest/vmtest" --describe 2>/dev/null | sed 's/^/  /' ||
		echo "  (could not build the guest: run tests/vm/build-initramfs.sh)"
	exit 0
	;;
esac

rel=$(vm_kernel_release)
"$VM_DIR/build-initramfs.sh" >/dev/null
vmtest="$VM_WORK/guest/vmtest"

tests=("$@")
# The default suite leaving tests out says so on every run.
[ ${#tests[@]} -gt 0 ] || [ -z "${VB_VM_EXCLUDE:-}" ] ||
	echo "vm: *** VB_VM_EXCLUDE leaves out of this suite: $VB_VM_EXCLUDE"
[ ${#tests[@]} -gt 0 ] ||
	mapfile -t tests < <("$vmtest" --list |
		grep -vxF -f <(tr ' ' '\n' <<<"${VB_VM_EXCLUDE:-}"))
[ ${#tests[@]} -gt 0 ] || vm_die "no guest tests to run ($vmtest --list gave none)"
list=$(IFS=,; echo "${tests[*]}")

mkdir -p "$VM_WORK/logs"
log=${VB_VM_LOG:-$VM_WORK/logs/$(date +%Y%m%d-%H%M%S)-$$.log}
ln -sfn "$log" "$VM_WORK/logs/latest.log"
# below ctest's 1800 s for vm_suite, so a hang still ends with verdicts
timeout_s=$((120 + 120 * ${#tests[@]}))
[ "$timeout_s" -le 1700 ] || timeout_s=1700
timeout_s=${VB_VM_TIMEOUT:-$timeout_s}

echo "vm: kernel $rel, tests: ${tests[*]}"
echo "vm: guest log: $log"
# movablecore: a ZONE_MOVABLE for longterm_pin (user pages come from it
# first, and a long-term pin must move them out); VB_VM_MOVABLECORE sizes
# it (the debug kernel's KASAN shadow takes the top of memory at boot)
# VB_VM_IOMMU=virtio: QEMU's virtio-iommu instead of VT-d (the guest test
# v3_probe_virtio, which v3 must refuse)
case ${VB_VM_IOMMU:-intel} in
intel) iommu=(-device intel-iommu) iommu_arg="intel_iommu=on" ;;
virtio) iommu=(-device virtio-iommu-pci) iommu_arg="" ;;
*) vm_die "VB_VM_IOMMU=$VB_VM_IOMMU: intel or virtio" ;;
esac
qemu=(-machine q35 -accel tcg -cpu max -m 2G -smp 2
	-nographic -no-reboot -vga none -net none
	"${iommu[@]}" -device edu -device edu
	-kernel "$(vm_kernel_image)" -initrd "$VM_WORK/initramfs.cpio.gz"
	-append "console=ttyS0 $iommu_arg iommu=nopt movablecore=${VB_VM_MOVABLECORE:-128M} panic=-1 quiet vmtest.tests=$list vmtest.timeout=${VB_VM_TEST_TIMEOUT:-180}")
# vm_boot boots again when the guest dies before /init (an infrastructure
# failure, not a test result), keeping each failed boot's log.
start=$(date +%s)
qrc=0
vm_boot "$log" "$timeout_s" 'VMTEST BOOTED' "${qemu[@]}" || qrc=$?
echo "vm: QEMU exited with $qrc after $(($(date +%s) - start)) s"

fail=0
[ "$qrc" -ne 124 ] || { echo "vm: TIMEOUT after $timeout_s s"; fail=1; }
grep -q '^VMTEST END' "$log" || { vm_log_tail "$log" vm; fail=1; }
grep -E '^VMTEST (ERROR|MODULE|DEVICE)' "$log" | sed 's/^VMTEST /vm: guest: /' || true
# a module that did not load or a device that did not bind is a failure
# even if no test happened to need it
grep -q '^VMTEST ERROR' "$log" && fail=1

# Failure detail lines first, then one verdict per test.
grep -E 'VMTEST (FAIL|NOTE) ' "$log" | sed 's/^.*VMTEST /  /' || true
for t in "${tests[@]}" kernel_log; do
	res=$(grep -oE "VMTEST RESULT $t (PASS|FAIL)" "$log" | tail -1 | awk '{ print $4 }' || true)
	rc=0
	if [ "$t" != kernel_log ]; then
		rc=$(grep -oE "VMTEST DONE $t rc=[0-9]+" "$log" | tail -1 | sed 's/.*rc=//' || true)
	fi
	subs=$(grep -oE "VMTEST SUB $t/[a-z0-9]+ (PASS|FAIL)" "$log" | awk '{ printf " %s:%s", substr($3, index($3, "/") + 1), $4 }' || true)
	if [ "$res" = PASS ] && [ "$rc" = 0 ]; then
		printf '%-18s PASS%s\n' "$t" "$subs"
	else
		printf '%-18s FAIL (result=%s rc=%s)%s\n' "$t" "${res:-missing}" "${rc:-missing}" "$subs"
		fail=1
	fi
done
if [ $fail -ne 0 ]; then
	echo "vm: FAILED; full guest log: $log"
	exit 1
fi
echo "vm: all passed; guest log: $log"
