/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * VFIO type1v3 IOMMU: page-granular state and batched map/unmap.
 *
 * Shares the container ioctls of type1 (VFIO_IOMMU_GET_INFO, _MAP_DMA,
 * _UNMAP_DMA) and adds two batched ioctls. Selected with VFIO_SET_IOMMU:
 *
 *   VFIO_TYPE1v3_IOMMU         tracked mode: per-page IOVA -> vaddr record,
 *                              which VFIO_DMA_MAP_FLAG_VADDR updates need.
 *   VFIO_TYPE1v3_DIRECT_IOMMU  direct mode: no vaddrs are kept; the IOMMU
 *                              page table is the record, the backend keeps
 *                              only a bitmap of mapped IOVA pages.
 *
 * The type numbers are far from upstream's sequential allocation (1..10 in
 * 6.12) and from 100001, which a downstream ChromeOS kernel uses for its
 * own page-granular type and which crosvm probes first; see docs/uapi.md.
 *
 * In the in-tree patch this text is appended to include/uapi/linux/vfio.h;
 * out of tree it is included after <linux/vfio.h>.
 */
#ifndef _UAPI_VFIO_TYPE1V3_H
#define _UAPI_VFIO_TYPE1V3_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VFIO_TYPE1v3_IOMMU		3001
#define VFIO_TYPE1v3_DIRECT_IOMMU	3002

/*
 * One map entry: map npages pages of PAGE_SIZE from user address vaddr at
 * iova. flags: VFIO_DMA_MAP_FLAG_READ / VFIO_DMA_MAP_FLAG_WRITE, at least
 * one; other bits are rejected with EINVAL.
 */
struct vfio_iommu_type1v3_map_entry {
	__aligned_u64	iova;
	__aligned_u64	vaddr;
	__aligned_u64	npages;
	__u32		flags;
	__u32		__reserved;	/* must be 0 */
};

struct vfio_iommu_type1v3_unmap_entry {
	__aligned_u64	iova;
	__aligned_u64	npages;
};

/*
 * VFIO_IOMMU_MAP_DMA_BATCH - _IO(VFIO_TYPE, VFIO_BASE + 60)
 *
 * Maps every entry of the user array at @entries, or nothing: on failure
 * every page the call mapped is unmapped and unpinned again, @failed_index
 * names the entry that failed and the ioctl returns its -errno (EEXIST when a
 * page is already mapped, including by an earlier entry of the same batch).
 * One IOTLB flush covers the whole batch. @pages_done is the number of pages
 * mapped (all of them on success, 0 on failure).
 *
 * argsz must be at least offsetofend(pages_done) and flags 0, else EINVAL
 * and the out fields are not written. Otherwise @failed_index and
 * @pages_done are always written; @failed_index is ~0U when the failure is
 * not tied to one entry. Every entry is validated before anything is
 * pinned, so a validation error wins over EEXIST of an earlier entry.
 *   EINVAL  nr_entries 0 or above VFIO_TYPE1v3_MAX_BATCH (~0U); an entry
 *           with flags 0 or unknown bits, __reserved != 0, unaligned iova
 *           or vaddr, npages 0, a range past 2^64, or an IOVA range not
 *           inside one range of the IOVA-range capability (reserved
 *           regions such as the MSI window are outside all of them)
 *   EEXIST  a page of the entry is already mapped
 *   EFAULT  @entries unreadable (~0U); the entry's vaddr range cannot be
 *           pinned (unmapped, or VM_PFNMAP/VM_IO memory)
 *   ENOMEM  RLIMIT_MEMLOCK would be exceeded without CAP_IPC_LOCK (~0U:
 *           the whole batch is charged at once); out of kernel memory
 *   EPERM   the caller's mm is not the container's (the first mapper's)
 *   ENODEV  no IOMMU-backed group is attached (~0U)
 *   EINTR   a fatal signal arrived; the batch was rolled back
 */
struct vfio_iommu_type1v3_map_batch {
	__u32		argsz;
	__u32		flags;		/* must be 0 */
	__u32		nr_entries;	/* 1..VFIO_TYPE1v3_MAX_BATCH */
	__u32		failed_index;	/* out; ~0U if none */
	__aligned_u64	entries;	/* user pointer to map entries */
	__aligned_u64	pages_done;	/* out */
};

#define VFIO_IOMMU_MAP_DMA_BATCH	_IO(VFIO_TYPE, VFIO_BASE + 60)

/*
 * VFIO_IOMMU_UNMAP_DMA_BATCH - _IO(VFIO_TYPE, VFIO_BASE + 61)
 *
 * Unmaps every page of every entry. Pages that are not mapped are skipped, so
 * any page-aligned sub-range or hole may be named. All entries are validated
 * before anything is unmapped; an invalid entry fails the whole call with
 * nothing unmapped and @failed_index set. @pages_done is the number of pages
 * that were mapped and are now unmapped.
 *
 * argsz as for VFIO_IOMMU_MAP_DMA_BATCH. Entries may overlap (a page is
 * counted once, for the first entry that names it) and may lie outside the
 * IOVA ranges (holes).
 *
 * flags: 0, or VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE: on success the kernel
 * also writes each entry's own count back into the user array, replacing
 * its @npages with the number of its pages that were mapped and are now
 * unmapped; they add up to @pages_done. A caller that merged several
 * requests into one call can then answer each with its own count even
 * when the batch crossed holes. On failure the array is left as it was.
 *   EINVAL  nr_entries 0 or too large (~0U); an entry with unaligned iova,
 *           npages 0 or a range past 2^64; an unknown flag
 *   EFAULT  @entries unreadable (~0U); with ENTRY_DONE, the counts could
 *           not be written back (~0U; the pages are unmapped all the same
 *           and @pages_done says how many)
 *   ENOMEM  no memory for the per-entry counts (~0U)
 */
struct vfio_iommu_type1v3_unmap_batch {
	__u32		argsz;
	__u32		flags;		/* VFIO_TYPE1v3_UNMAP_FLAG_* */
	__u32		nr_entries;
	__u32		failed_index;	/* out; ~0U if none */
	__aligned_u64	entries;	/* user pointer to unmap entries */
	__aligned_u64	pages_done;	/* out */
};

#define VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE	0x1u

#define VFIO_IOMMU_UNMAP_DMA_BATCH	_IO(VFIO_TYPE, VFIO_BASE + 61)

#define VFIO_TYPE1v3_MAX_BATCH		65536

/*
 * VFIO_IOMMU_GET_INFO capability reporting the v3 state (version 1).
 * metadata_bytes is the memory of the page store: tracked, its xarray
 * nodes; direct, its bitmap chunks plus their xarray nodes. It does not
 * include the IOMMU page tables, which every backend needs.
 */
#define VFIO_IOMMU_TYPE1_INFO_CAP_V3	0x7633

#define VFIO_TYPE1v3_MODE_TRACKED	1
#define VFIO_TYPE1v3_MODE_DIRECT	2

struct vfio_iommu_type1v3_info_cap {
	struct vfio_info_cap_header	header;
	__u32				mode;		/* VFIO_TYPE1v3_MODE_* */
	__u32				__reserved;
	__aligned_u64			mapped_pages;
	__aligned_u64			metadata_bytes;	/* page store's memory */
};

#endif /* _UAPI_VFIO_TYPE1V3_H */
