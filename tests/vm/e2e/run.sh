#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/vm/e2e/run.sh [--build DIR] [--backends "v3 type1 iommufd"]
#                     [--kernel debian|debug]
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
# set up. Debian's kernel is built without iommufd, so the iommufd backend
# runs in a second boot whose VFIO modules are rebuilt with it
# (tests/conformance/iommufd-stack.sh, the conformance tier's stack; the v3
# module is not loaded there). A backend a guest cannot run is reported
# loudly as NOT RUN with the reason, and fails the run: each boot is built
# to run the backends it is given.
#
# --kernel debug boots the VM tier's debug kernel instead (KASAN, lockdep,
# sleep-in-atomic checks, kmemleak, DEBUG_VM, UBSAN; built or reused by
# tests/vm/debug/build-kernel.sh), with the v3 module built against it:
# the same results, and kernel_log also fails on any checker's report or
# any leak kmemleak finds. Its backends are v3, v3-direct and type1 (it
# has no iommufd stack).
#
# E2E_QEMU_EXTRA adds QEMU arguments to its boots, e.g. "-monitor
# unix:/tmp/mon.sock,server,nowait" to look into a guest that hangs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

build=${VB_BUILD_DIR:-$VM_SRC/build}
backends="" kernel=debian
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--backends) backends=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	*) vm_die "e2e: unknown argument $1 (see the header of $0)" ;;
	esac
done
case $kernel in
debian)
	backends=${backends:-v3 v3-direct type1 iommufd}
	boot=e2e
	;;
debug)
	backends=${backends:-v3 v3-direct type1}
	case " $backends " in
	*" iommufd "*) vm_die "e2e: the debug kernel has no iommufd stack" ;;
	esac
	vm_use_debug_kernel
	boot=e2e-debug
	# the checkers slow the guest several times over
	export E2E_GUEST_TIMEOUT=${E2E_GUEST_TIMEOUT:-3000}
	export VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-3300}
	;;
*) vm_die "e2e: --kernel debian|debug" ;;
esac
. "$here/lib-e2e.sh"
e2e_use_build "$build"

# One boot: NAME BACKENDS. Prints the results, returns 1 on a failure.
e2e_run() {
	local name=$1 bes=$2 work log qrc=0 fail=0 notrun results nfail npass be t
	work=$VM_WORK/$name
	# V3_DEBUG=1: the module's invariant checks are on; a warning fails
	# the run through the kernel_log result.
	e2e_initramfs "$work" 1 "$here/guest.sh" "$bes"
	log="$work/guest.log"
	echo "e2e vm: kernel $(vm_kernel_release), backends: $bes, build $E2E_BUILD, log $log"
	e2e_boot "$work" "$log" "${VB_VM_TIMEOUT:-1700}" || qrc=$?

	[ "$qrc" -ne 124 ] || { echo "e2e vm: QEMU timed out"; fail=1; }
	# The first console line can carry terminal escapes: match unanchored.
	grep -oE 'E2E (ERROR|MODULE|DEVICES|BACKEND|EXIT|NOTE).*' "$log" || true
	notrun=$(grep -oE 'E2E NOTRUN .*' "$log" || true)
	# Every backend asked for has what it needs in its boot (the second
	# boot builds iommufd's stack), so one that did not run is a failure.
	if [ -n "$notrun" ]; then
		echo "$notrun" | sed 's/^E2E NOTRUN /e2e vm: *** NOT RUN (a failure): /'
		E2E_NOTRUN=$((E2E_NOTRUN + $(echo "$notrun" | wc -l)))
		fail=1
	fi
	results=$(grep -oE 'E2E RESULT \S+ (PASS|FAIL).*' "$log" | sed 's/^E2E //' || true)
	[ -z "$results" ] || echo "$results"
	grep -q 'E2E ERROR' "$log" && { echo "e2e vm: the guest reported a setup error"; fail=1; }
	grep -q 'E2E END' "$log" || { vm_log_tail "$log" "e2e vm"; fail=1; }
	grep -q 'E2E EXIT rc=0$' "$log" || { echo "e2e vm: guest script did not exit 0"; fail=1; }
	# Every backend that ran must have produced all its results.
	for be in $bes; do
		grep -q "E2E NOTRUN $be " "$log" && continue
		for t in spawn_dma device_fd isolation kill_held kill_devproc kill_broker \
			shared_control fd_holder broker_sandbox; do
			echo "$results" | grep -q "^RESULT ${be}_$t PASS" ||
				{ echo "e2e vm: ${be}_$t did not pass"; fail=1; }
		done
	done
	for t in kernel_log backend_choice; do
		echo "$results" | grep -q "^RESULT $t PASS" ||
			{ echo "e2e vm: $t did not pass"; fail=1; }
	done
	nfail=$(echo "$results" | grep -c '^RESULT \S* FAIL' || true)
	npass=$(echo "$results" | grep -c '^RESULT \S* PASS' || true)
	[ "$nfail" -eq 0 ] || fail=1
	E2E_PASS=$((E2E_PASS + npass))
	E2E_FAIL=$((E2E_FAIL + nfail))
	return $fail
}

# Debian's kernel has no iommufd: that backend runs in a second boot whose
# VFIO stack is rebuilt with it (the conformance tier's iommufd-stack.sh).
stock="" fd=""
for be in $backends; do
	if [ "$be" = iommufd ]; then fd=iommufd; else stock="$stock $be"; fi
done
E2E_PASS=0 E2E_FAIL=0 E2E_NOTRUN=0
fail=0
if [ -n "$stock" ]; then
	e2e_run "$boot" "${stock# }" || fail=1
fi
if [ -n "$fd" ]; then
	E2E_STACK=$("$VM_SRC/tests/conformance/iommufd-stack.sh") ||
		vm_die "e2e: could not build the iommufd VFIO stack"
	export E2E_STACK
	e2e_run e2e-iommufd iommufd || fail=1
	unset E2E_STACK
fi
echo "e2e vm: $E2E_PASS passed, $E2E_FAIL failed$([ "$E2E_NOTRUN" -eq 0 ] || echo ", $E2E_NOTRUN backend(s) NOT RUN"); guest logs under $VM_WORK/e2e*/guest.log"
exit $fail
