#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# iommufd-stack.sh [OUTDIR]
#
# Debian's 6.12 kernel is built without CONFIG_IOMMUFD, so it has no
# /dev/iommu and no VFIO device cdevs. This rebuilds, out of tree and from
# the installed linux-source-6.12 of the booted version, a VFIO stack that
# has them: iommufd.ko, and vfio.ko, vfio_iommu_type1.ko, vfio-pci-core.ko,
# vfio-pci.ko compiled with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV. It
# replaces the stock VFIO modules in a guest (never on the host).
#
# vmlinux lacks two things iommufd needs, so they are compiled into
# iommufd.ko: the interval-tree span iterator (CONFIG_INTERVAL_TREE_SPAN_ITER)
# and iova_bitmap (CONFIG_IOMMUFD_DRIVER); their exports are dropped
# because only iommufd uses them. Sources are extracted at build time and
# never committed. Prints the directory holding the five .ko files.
#
# OUTDIR defaults to $VM_WORK/iommufd-stack, which the conformance tier and
# the end-to-end test both use: built once, under a lock, then reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"

out=${1:-$VM_WORK/iommufd-stack}
rel=$(vm_kernel_release)
kdir=$(vm_kernel_build_dir)
tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null) ||
	vm_die "iommufd-stack: /usr/src/linux-source-6.12.tar.xz missing: run tests/vm/setup.sh"
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.lock"
flock 9
stamp="$out/.built-$rel"
if [ -f "$stamp" ]; then
	echo "$out/ko"
	exit 0
fi

src="$out/src"
rm -rf "$src" "$out/ko"
mkdir -p "$src"
tar -xJf "$tarball" -C "$src" --strip-components=1 --wildcards \
	'linux-source-6.12/drivers/iommu/iommufd/*' \
	'linux-source-6.12/drivers/iommu/iommu-priv.h' \
	'linux-source-6.12/drivers/vfio/*' \
	'linux-source-6.12/lib/interval_tree.c'

b="$out/build"
rm -rf "$b"
mkdir -p "$b/iommu/iommufd" "$b/vfio/pci"
cp "$src"/drivers/iommu/iommufd/*.[ch] "$b/iommu/iommufd/"
cp "$src/drivers/iommu/iommu-priv.h" "$b/iommu/"
cp "$src"/drivers/vfio/*.[ch] "$b/vfio/"
cp "$src"/drivers/vfio/pci/*.[ch] "$b/vfio/pci/"
# The span iterator part of lib/interval_tree.c, without its exports.
{
	echo '#include <linux/interval_tree.h>'
	echo '#include <linux/compiler.h>'
	sed -n '/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/,/^#endif/p' \
		"$src/lib/interval_tree.c" | sed '/^EXPORT_SYMBOL/d'
} >"$b/iommu/iommufd/span_iter.c"
sed -i '/^EXPORT_SYMBOL/d' "$b/iommu/iommufd/iova_bitmap.c"

cfg='-DCONFIG_IOMMUFD_MODULE=1 -DCONFIG_VFIO_DEVICE_CDEV=1'
cat >"$b/Kbuild" <<EOF
obj-m += iommu/iommufd/ vfio/
EOF
cat >"$b/iommu/iommufd/Kbuild" <<EOF
obj-m += iommufd.o
iommufd-y := device.o fault.o hw_pagetable.o io_pagetable.o ioas.o main.o \\
	pages.o vfio_compat.o span_iter.o iova_bitmap.o
ccflags-y += $cfg -DCONFIG_INTERVAL_TREE_SPAN_ITER=1 -DCONFIG_IOMMUFD_DRIVER=1
EOF
cat >"$b/vfio/Kbuild" <<EOF
obj-m += vfio.o vfio_iommu_type1.o pci/
vfio-y := vfio_main.o group.o container.o iommufd.o device_cdev.o virqfd.o
ccflags-y += $cfg
EOF
cat >"$b/vfio/pci/Kbuild" <<EOF
obj-m += vfio-pci-core.o vfio-pci.o
vfio-pci-core-y := vfio_pci_core.o vfio_pci_intrs.o vfio_pci_rdwr.o vfio_pci_config.o
vfio-pci-y := vfio_pci.o vfio_pci_igd.o
ccflags-y += $cfg
EOF
make -s -C "$kdir" M="$b" -j"$(nproc)" modules >"$out/build.log" 2>&1 || {
	tail -30 "$out/build.log" >&2
	vm_die "iommufd-stack: module build failed (log: $out/build.log)"
}
mkdir -p "$out/ko"
for m in iommu/iommufd/iommufd vfio/vfio vfio/vfio_iommu_type1 \
	vfio/pci/vfio-pci-core vfio/pci/vfio-pci; do
	cp "$b/$m.ko" "$out/ko/"
done
touch "$stamp"
echo "$out/ko"
