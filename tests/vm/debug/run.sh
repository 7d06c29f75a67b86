#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# debug/run.sh [TEST...]: the debug-kernel tier. Builds (or reuses) the
# debug kernel (build-kernel.sh: KASAN, lockdep, sleep-in-atomic checks,
# kmemleak, DEBUG_VM, UBSAN, and the v3 module built in-tree from the
# patch series), then runs the guest tests on it through tests/vm/run.sh:
# the named ones, or every guest test but those that need what this
# kernel leaves out. A test passes as on Debian's kernel; in addition the
# module must unload afterwards and the kernel_log verdict fails on any
# checker's report or any leak kmemleak finds after the tests.
#
# Environment: VB_VM_WORKDIR as for run.sh (the kernel goes to its
# debug-kernel/, the guest to debug-guest/); VB_VM_TEST_TIMEOUT (default
# 900 s per test: the checkers slow the guest several times over) and
# VB_VM_TIMEOUT (default 2400 s for the whole boot).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

case "${1:-}" in
-h | --help)
	sed -n '3,/^$/p' "$0" | sed -e '/^$/d' -e 's/^# \{0,1\}//'
	exit 0
	;;
esac

vm_use_debug_kernel
export VB_V3_KO=$VB_VM_KERNEL/build/drivers/vfio/type1v3/vfio_iommu_type1v3.ko
export VB_VM_WORKDIR=$VM_WORK/debug-guest
export VB_VM_TEST_TIMEOUT=${VB_VM_TEST_TIMEOUT:-900}
# KASAN's shadow memory takes the top of RAM at boot, where ZONE_MOVABLE
# lies: longterm_pin needs free pages there
export VB_VM_MOVABLECORE=${VB_VM_MOVABLECORE:-512M}
# below the 3600 s ctest gives vm_debug_kernel, kernel build included
export VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-2400}
# iotlb_sync counts VT-d calls with kprobes, which this kernel has not
export VB_VM_EXCLUDE=iotlb_sync

exec "$VM_DIR/run.sh" "$@"
