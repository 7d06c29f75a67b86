#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# test-kernel-style.sh: the module is kernel code by kernel rules. Builds
# vfio_iommu_type1v3.ko out of tree with W=1, with and without the
# invariant checks, and fails on any compiler warning; then runs
# checkpatch.pl --strict on every module source and the uAPI header and
# fails on any error, warning or check. The VM tier's emulated test device
# (tests/vm/emu) is held to the same rules.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
rc=0

# w1_build NAME DIR MAKE-ARGS...: a W=1 build of DIR that must succeed
# without a single compiler warning.
w1_build() {
	name=$1 dir=$2
	shift 2
	log=$work/build-$(echo "$name" | tr ' /=' '___').log
	if ! make -C "$dir" W=1 "$@" >"$log" 2>&1; then
		cat "$log"
		echo "test-kernel-style: FAIL: $name W=1 build failed"
		rc=1
	elif grep -qi 'warning:' "$log"; then
		grep -i 'warning:' "$log"
		echo "test-kernel-style: FAIL: $name W=1 build warns"
		rc=1
	else
		echo "test-kernel-style: $name builds with W=1 without warnings"
	fi
}

# The VM tier's kernel (the installed linux-source-6.12's), not the
# running one: the host may run another kernel with its own headers.
kdir=$(bash -c '. "$1/tests/vm/lib.sh" && vm_kernel_build_dir' sh "$top") ||
	exit 1
for debug in 0 1; do
	w1_build "V3_DEBUG=$debug" "$top/src/kernel" V3_DEBUG=$debug \
		KDIR="$kdir" BUILD_DIR="$work/obj-$debug"
done
# the VM tier's emulated test device is kernel code too
w1_build tests/vm/emu "$top/tests/vm/emu" KDIR="$kdir" \
	BUILD_DIR="$work/obj-emu"

if "$top/scripts/kernel-checkpatch.sh" "$top"/src/kernel/*.c \
	"$top"/src/kernel/*.h "$top/include/uapi/linux/vfio_type1v3.h" \
	"$top"/tests/vm/emu/*.c "$top"/tests/vm/emu/*.h; then
	echo "test-kernel-style: checkpatch --strict clean"
else
	echo "test-kernel-style: FAIL: checkpatch --strict"
	rc=1
fi
exit $rc
