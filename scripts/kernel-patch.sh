#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# kernel-patch.sh OUTDIR
#
# Generate the in-tree patch series for vfio_iommu_type1v3 from the same
# sources the out-of-tree module builds from, in `git format-patch` form:
#
#   0001  the uAPI: include/linux/uapi/vfio_type1v3.h's definitions
#         appended to include/uapi/linux/vfio.h
#   0002  the backend: src/kernel/*.{c,h} as drivers/vfio/type1v3/, its
#         Kbuild as the directory's Makefile, and the Kconfig and Makefile
#         entries in drivers/vfio/
#
# The base files come from Debian's linux-source tarball
# (/usr/src/linux-source-6.12.tar.xz, or $LINUX_SOURCE), so the series applies
# to that tree with `patch -p1` or `git am`. tests/vm/test-inkernel-patch.sh
# applies it and builds the module in-tree.
set -eu

die() { echo "kernel-patch: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$(realpath -m "$1")
top_dir=$(cd "$(dirname "$0")/.." && pwd)
src=$top_dir/src/kernel
uapi=$top_dir/include/uapi/linux/vfio_type1v3.h

tarball=${LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$tarball" ] || die "no linux-source tarball: apt-get install linux-source-6.12"
ttop=$(basename "$tarball" .tar.xz)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
tar -xJf "$tarball" -C "$tmp" "$ttop/include/uapi/linux/vfio.h" \
	"$ttop/drivers/vfio/Kconfig" "$ttop/drivers/vfio/Makefile" \
	"$ttop/MAINTAINERS" ||
	die "cannot extract base files from $tarball"
tree=$tmp/$ttop

git_q() {
	git -C "$tree" -c user.name="vfio-broker" \
		-c user.email="vfio-broker@invalid" -c commit.gpgsign=false "$@"
}
# the series' commits carry a sign-off, as any kernel patch must
git_s() { git_q commit -q -s "$@"; }
git_q init -q
git_q add -A
git_q commit -q -m "base: $ttop"

# --- 0001: uAPI -------------------------------------------------------------
vfio_h=$tree/include/uapi/linux/vfio.h
grep -q '^#endif /\* _UAPIVFIO_H \*/' "$vfio_h" || die "unexpected vfio.h layout"
body=$tmp/uapi-body
# The header's body between its include guard, without its own #includes
# and without the out-of-tree note in its leading comment.
awk '
	/^#define _UAPI_VFIO_TYPE1V3_H/ { on = 1; next }
	/^#endif \/\* _UAPI_VFIO_TYPE1V3_H \*\// { on = 0 }
	on && /^#include/ { next }
	on { print }
' "$uapi" | sed '1{/^$/d}' > "$body"
[ -s "$body" ] || die "could not find the body of $uapi"
{
	printf '/*\n'
	awk '/^ \* VFIO type1v3 IOMMU/ { on = 1 }
	     /In the in-tree patch/ { exit }
	     on { print }' "$uapi" | sed '${/^ \*$/d}' |
		sed 's|; see docs/uapi.md\.|.|'
	printf ' */\n'
	# without the body's trailing blank lines: vfio.h already has one
	# before its #endif
	sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}' "$body"
	printf '\n'
} > "$tmp/uapi-insert"
awk -v ins="$tmp/uapi-insert" '
	/^#endif \/\* _UAPIVFIO_H \*\// {
		while ((getline line < ins) > 0) print line
	}
	{ print }
' "$vfio_h" > "$tmp/vfio.h.new"
mv "$tmp/vfio.h.new" "$vfio_h"
git_q add -A
git_s -F - <<'MSG'
vfio: uAPI for the type1v3 IOMMU backend

Add two VFIO IOMMU types, VFIO_TYPE1v3_IOMMU (tracked: a per-page record
of IOVA to user page frame) and VFIO_TYPE1v3_DIRECT_IOMMU (direct: only a
bitmap of mapped IOVA pages, the IOMMU page table holds the rest), the
batched VFIO_IOMMU_MAP_DMA_BATCH and VFIO_IOMMU_UNMAP_DMA_BATCH ioctls
and a VFIO_IOMMU_GET_INFO capability reporting the backend's mode,
mapped pages and metadata size.

Type1's per-mapping struct vfio_dma costs a 96-byte slab object per
mapped page when a VMM maps guest memory one page at a time
(virtio-iommu, coIOMMU), and every page costs an ioctl and an IOTLB
flush. The new types
keep bits per page and flush once per batch.

The type numbers 3001 and 3002 stay clear of upstream's sequential
allocation and of 100001, used by a downstream ChromeOS kernel.
MSG

# --- 0002: backend ----------------------------------------------------------
dst=$tree/drivers/vfio/type1v3
mkdir -p "$dst"
for f in "$src"/*.c "$src"/*.h; do
	cp "$f" "$dst/"
done
cp "$src/Kbuild" "$dst/Makefile"

kconfig=$tree/drivers/vfio/Kconfig
grep -q '^config VFIO_NOIOMMU' "$kconfig" || die "unexpected Kconfig layout"
cat > "$tmp/kconfig-insert" <<'KC'
config VFIO_IOMMU_TYPE1V3
	tristate "VFIO IOMMU type1v3: page-granular, batched map/unmap"
	depends on VFIO_CONTAINER && IOMMU_API && MMU && X86_64
	help
	  A VFIO IOMMU backend for VMMs that map guest memory for DMA one
	  page at a time. It keeps bits, not a structure, per mapped page,
	  maps and unmaps arrays of ranges in one ioctl with one IOTLB
	  flush, and supports type1's MAP_DMA and UNMAP_DMA on the same
	  container. Selected with VFIO_SET_IOMMU(VFIO_TYPE1v3_IOMMU) or
	  VFIO_TYPE1v3_DIRECT_IOMMU.

	  If you don't know what to do here, say N.

config VFIO_IOMMU_TYPE1V3_DEBUG
	bool "Invariant checks in the type1v3 backend"
	depends on VFIO_IOMMU_TYPE1V3
	help
	  Check the backend's internal invariants (page store against IOMMU
	  page tables, pin counts) and warn once when one is broken. Costs a
	  little time per mapped page; meant for development and for test
	  machines, not for production kernels.

KC
awk -v ins="$tmp/kconfig-insert" '
	/^config VFIO_NOIOMMU/ {
		while ((getline line < ins) > 0) print line
	}
	{ print }
' "$kconfig" > "$tmp/Kconfig.new"
mv "$tmp/Kconfig.new" "$kconfig"

mkfile=$tree/drivers/vfio/Makefile
grep -q '^obj-$(CONFIG_VFIO_IOMMU_TYPE1) ' "$mkfile" || die "unexpected Makefile layout"
sed -i '/^obj-$(CONFIG_VFIO_IOMMU_TYPE1) /a obj-$(CONFIG_VFIO_IOMMU_TYPE1V3) += type1v3/' "$mkfile"

# A new directory needs a MAINTAINERS entry, in alphabetical place.
maint=$tree/MAINTAINERS
grep -q '^VFIO VIRTIO PCI DRIVER$' "$maint" || die "unexpected MAINTAINERS layout"
awk '
	/^VFIO VIRTIO PCI DRIVER$/ {
		print "VFIO TYPE1V3 IOMMU DRIVER"
		print "M:\tvfio-broker <vfio-broker@invalid>"
		print "L:\tkvm@vger.kernel.org"
		print "S:\tMaintained"
		print "F:\tdrivers/vfio/type1v3/"
		print ""
	}
	{ print }
' "$maint" > "$tmp/MAINTAINERS.new"
mv "$tmp/MAINTAINERS.new" "$maint"

git_q add -A
git_s -F - <<'MSG'
vfio: add the type1v3 IOMMU backend

vfio_iommu_type1v3 registers a VFIO IOMMU driver for VFIO_TYPE1v3_IOMMU
and VFIO_TYPE1v3_DIRECT_IOMMU. State is per page, with no per-mapping
object: the tracked mode keeps one xarray value entry per IOVA page (the
user page frame and protection bits packed into one word), the direct
mode only a sparse bitmap of mapped IOVA pages and reads PFNs back from
the IOMMU page table for unmap, release and late-attach replay.

Batches are all-or-nothing: a failing map batch is unmapped and unpinned
again and reports the failing entry. Unmapped pages are collected, removed
from every domain into one iotlb gather per domain and flushed once
before they are unpinned. Pins are FOLL_LONGTERM, charged to the owning
process's locked_vm against RLIMIT_MEMLOCK; groups attached later get
the existing mappings replayed; reserved regions are refused.
MSG

mkdir -p "$out"
rm -f "$out"/[0-9][0-9][0-9][0-9]-*.patch
git_q format-patch -q -o "$out" HEAD~2..HEAD
ls "$out"/*.patch
