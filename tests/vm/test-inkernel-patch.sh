#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# test-inkernel-patch.sh: prove the in-tree patch series applies to Debian's
# linux-source and builds. Generates the series with scripts/kernel-patch.sh,
# extracts /usr/src/linux-source-6.12.tar.xz (or $LINUX_SOURCE)
# into a temporary directory, applies the series with patch -p1, configures
# with Debian's config of the same version (from the image
# tests/vm/setup.sh unpacked) plus CONFIG_VFIO_IOMMU_TYPE1V3=m and
# CONFIG_VFIO_IOMMU_TYPE1V3_DEBUG=y, and builds drivers/vfio in-tree
# with W=1. Fails if the patch does not apply, the option does not survive
# olddefconfig, the build fails or warns in type1v3/, or the module is
# missing. Takes a few minutes (modules_prepare dominates).
#
# Needs the kernel build tools: apt-get install --no-install-recommends
# flex bison libelf-dev libssl-dev bc (checked below).
#
# Environment: VB_INTREE_KEEP=1 keeps the tree (path is printed),
# TMPDIR picks where it goes (about 1.6 GB), JOBS sets make -j.
set -eu

die() { echo "test-inkernel-patch: FAIL: $*" >&2; exit 1; }

top_dir=$(cd "$(dirname "$0")/../.." && pwd)
for tool in flex bison bc; do
	command -v "$tool" >/dev/null ||
		die "$tool missing: apt-get install flex bison libelf-dev libssl-dev bc"
done
[ -r /usr/include/gelf.h ] || die "libelf-dev missing"
[ -r /usr/include/openssl/ssl.h ] || die "libssl-dev missing"
tarball=${LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$tarball" ] || die "no linux-source tarball: apt-get install linux-source-6.12"
ttop=$(basename "$tarball" .tar.xz)
jobs=${JOBS:-$(nproc)}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/v3-intree.XXXXXX")
if [ "${VB_INTREE_KEEP:-0}" = 1 ]; then
	echo "test-inkernel-patch: keeping $work"
else
	trap 'rm -rf "$work"' EXIT INT TERM
fi

echo "test-inkernel-patch: generating the series"
"$top_dir/scripts/kernel-patch.sh" "$work/patches" >/dev/null

echo "test-inkernel-patch: extracting $tarball"
tar -xJf "$tarball" -C "$work"
tree=$work/$ttop

for p in "$work"/patches/*.patch; do
	echo "test-inkernel-patch: applying $(basename "$p")"
	patch -p1 -d "$tree" --batch --forward -s < "$p" ||
		die "$(basename "$p") does not apply"
done

# The series itself is held to checkpatch --strict too (sign-offs,
# MAINTAINERS for the new directory, spacing of the uAPI insert).
for p in "$work"/patches/*.patch; do
	perl "$tree/scripts/checkpatch.pl" --strict --no-tree --quiet \
		--show-types "$p" ||
		die "checkpatch --strict finds fault with $(basename "$p")"
done
echo "test-inkernel-patch: the series is checkpatch --strict clean"

ver=$(awk '/^VERSION =/ {v=$3} /^PATCHLEVEL =/ {p=$3} /^SUBLEVEL =/ {s=$3}
	   END {print v "." p "." s}' "$tree/Makefile")
# Debian's release naming, as in lib.sh; image and headers are where
# setup.sh unpacked them
rel=$ver+deb12-amd64
img=$(bash -c '. "$1/tests/vm/lib.sh" && vm_image_root "$2"' sh \
	"$top_dir" "$rel")
config=$img/boot/config-$rel
[ -r "$config" ] || die "no $config: run tests/vm/setup.sh"
echo "test-inkernel-patch: configuring with $config"
cp "$config" "$tree/.config"
cd "$tree"
# Debian's signing keys are not in the source package; the test builds
# unsigned modules.
./scripts/config --set-str SYSTEM_TRUSTED_KEYS "" \
	--set-str SYSTEM_REVOCATION_KEYS "" --disable MODULE_SIG_ALL \
	--module VFIO_IOMMU_TYPE1V3 --enable VFIO_IOMMU_TYPE1V3_DEBUG
make -s olddefconfig
grep -qx 'CONFIG_VFIO_IOMMU_TYPE1V3=m' .config ||
	die "CONFIG_VFIO_IOMMU_TYPE1V3=m did not survive olddefconfig"
grep -qx 'CONFIG_VFIO_IOMMU_TYPE1V3_DEBUG=y' .config ||
	die "CONFIG_VFIO_IOMMU_TYPE1V3_DEBUG=y did not survive olddefconfig"

echo "test-inkernel-patch: make modules_prepare (takes a while)"
make -s -j"$jobs" modules_prepare >"$work/prepare.log" 2>&1 ||
	{ tail -n 30 "$work/prepare.log"; die "modules_prepare failed"; }

# Symbol versions of the matching Debian build let modpost resolve the
# core kernel's exports without building vmlinux.
hdr=$img/usr/src/linux-headers-$rel
[ -r "$hdr/Module.symvers" ] || die "no $hdr/Module.symvers: run tests/vm/setup.sh"
cp "$hdr/Module.symvers" .

echo "test-inkernel-patch: make M=drivers/vfio W=1"
make -j"$jobs" M=drivers/vfio W=1 modules >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log"; die "in-tree build failed"; }
if grep -iE 'type1v3/.*(warning|error):' "$work/build.log"; then
	die "the in-tree build of type1v3 warns"
fi
ko=drivers/vfio/type1v3/vfio_iommu_type1v3.ko
[ -f "$ko" ] || die "$ko was not built"
modinfo "$ko" | grep -q '^license: *GPL' || die "$ko has no GPL license tag"
# "make clean" reads no kernel configuration; the directory's makefile must
# still go through (it stopped on its x86-64 check once)
make M=drivers/vfio clean >"$work/clean.log" 2>&1 ||
	{ cat "$work/clean.log"; die "make M=drivers/vfio clean failed"; }
[ ! -e "$ko" ] || die "make clean left $ko"
echo "test-inkernel-patch: PASS ($ko built in-tree from $(ls "$work"/patches | wc -l) patches)"
