#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# kernel-fetch-vfio-h.sh KDIR OUTDIR [TARBALL]
#
# Extract the private drivers/vfio/vfio.h that vfio_iommu_type1v3 needs
# (struct vfio_iommu_driver_ops, vfio_register_iommu_driver) from Debian's
# linux-source tarball into OUTDIR/vfio.h. The headers package lacks it.
#
# The tarball must be the same kernel version as the headers in KDIR: its
# top Makefile's VERSION.PATCHLEVEL.SUBLEVEL is compared with KDIR's
# kernel release. The file is never committed; it is build output.
set -eu

die() { echo "kernel-fetch-vfio-h: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: $0 KDIR OUTDIR [TARBALL]"
kdir=$1
out=$2
tarball=${3:-}

rel_file=$kdir/include/config/kernel.release
[ -r "$rel_file" ] || die "$rel_file missing: is $kdir a prepared kernel headers tree?"
krel=$(cat "$rel_file")
kver=${krel%%[-+]*}			# 6.12.117+deb12-amd64 -> 6.12.117
kmm=$(echo "$kver" | cut -d. -f1,2)	# 6.12

if [ -z "$tarball" ]; then
	tarball=/usr/src/linux-source-$kmm.tar.xz
fi
[ -r "$tarball" ] || die "$tarball missing: apt-get install linux-source-$kmm"

stamp=$out/vfio.h.version
if [ -r "$out/vfio.h" ] && [ -r "$stamp" ] &&
   [ "$(cat "$stamp")" = "$kver $(stat -c %Y "$tarball")" ]; then
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

top=$(basename "$tarball" .tar.xz)
tar -xJf "$tarball" -C "$tmp" "$top/Makefile" "$top/drivers/vfio/vfio.h" ||
	die "cannot extract vfio.h from $tarball"

mk=$tmp/$top/Makefile
sver=$(awk '/^VERSION =/ {v=$3} /^PATCHLEVEL =/ {p=$3}
	    /^SUBLEVEL =/ {s=$3} END {print v "." p "." s}' "$mk")
[ "$sver" = "$kver" ] ||
	die "source $tarball is $sver but headers $kdir are $kver; install matching versions"

mv "$tmp/$top/drivers/vfio/vfio.h" "$out/vfio.h"
echo "$kver $(stat -c %Y "$tarball")" > "$stamp"
echo "kernel-fetch-vfio-h: $out/vfio.h from $tarball ($sver)"
