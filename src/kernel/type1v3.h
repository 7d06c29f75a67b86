/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio_iommu_type1v3: private definitions shared by the module's files.
 *
 * Object model. One struct v3_iommu per container. It owns:
 *  - a page store (tracked or direct, chosen at VFIO_SET_IOMMU time) that
 *    records which IOVA page frames are mapped; there is no per-mapping
 *    object, so a mapping made by one call may be unmapped page by page;
 *  - a list of IOMMU domains; every mapped page is present in every domain,
 *    and the first domain's page table is the authoritative IOVA -> PFN
 *    record (iommu_iova_to_phys), so no PFN is stored by the backend;
 *  - the list of IOVA ranges a mapping may use: the intersection of the
 *    domains' apertures minus every attached group's reserved regions.
 *
 * Invariants, all under iommu->lock:
 *  - a page is in the store iff it is mapped in every domain and holds
 *    exactly one FOLL_LONGTERM pin taken by this container;
 *  - npages == number of pages in the store == pages accounted in
 *    mm->locked_vm on behalf of this container;
 *  - the store is empty whenever the domain list is empty.
 *
 * Ranges use an inclusive last page frame (last = first + npages - 1) so a
 * range may end at the top of the address space without overflow.
 */
#ifndef V3_TYPE1V3_H
#define V3_TYPE1V3_H

#include <linux/indirect_call_wrapper.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/xarray.h>

/*
 * In-tree the uAPI lives in <uapi/linux/vfio.h>, which <linux/vfio.h> pulls
 * in; out of tree it is the project's separate header.
 */
#ifndef VFIO_TYPE1v3_IOMMU
#include <linux/vfio_type1v3.h>
#endif

/* Private VFIO core definitions (struct vfio_iommu_driver_ops). */
#include "vfio.h"

#if IS_ENABLED(CONFIG_VFIO_IOMMU_TYPE1V3_DEBUG)
#define V3_CHECK(cond)	WARN_ON_ONCE(!(cond))
#else
#define V3_CHECK(cond)	BUILD_BUG_ON_INVALID(cond)
#endif

struct v3_iommu;

/*
 * Phase profile of batch map/unmap, compiled in only with -DV3_PROF (make
 * KCFLAGS=-DV3_PROF; tests/vm/profile.sh): cycles per phase, printed when
 * the container is released. Each lap costs one get_cycles().
 */
enum v3_prof_phase {
	V3_PROF_MAP_SETUP,	/* copy-in done: validate, charge, allocate */
	V3_PROF_MAP_STORE,	/* claim in the store (the EEXIST check) */
	V3_PROF_MAP_PIN,	/* pin_user_pages_fast */
	V3_PROF_MAP_IOMMU,	/* map_pages into every domain */
	V3_PROF_MAP_END,	/* sync_map, free, return */
	V3_PROF_UNMAP_FIND,	/* run and join bookkeeping, gap searches */
	V3_PROF_UNMAP_PHYS,	/* iommu_iova_to_phys */
	V3_PROF_UNMAP_STORE,	/* take from the store (find + erase) */
	V3_PROF_UNMAP_IOMMU,	/* unmap from every domain + IOTLB sync */
	V3_PROF_UNMAP_UNPIN,	/* unpin_user_pages[_dirty_lock] */
	V3_PROF_UNMAP_END,	/* uncharge, free, return */
	V3_PROF_N
};

/*
 * A page store records mapped IOVA page frames. insert() is all-or-nothing
 * for its range and fails with -EEXIST, changing nothing, if any frame of
 * it is already recorded.
 * find() returns the first mapped frame in [*pfn, last] through *pfn;
 * prot() the IOMMU_READ/IOMMU_WRITE bits a mapped frame was mapped with.
 * take() is unmap's per-page step, one store walk: it finds the first
 * mapped frame in [*pfn, last]; one at or above @first it removes and
 * returns its protection (never 0: a mapped frame has READ or WRITE);
 * one below @first it leaves, returning -EEXIST with *pfn at it; with
 * none it returns 0. Searching from below @first tells unmap whether the
 * gap before its range is empty without a second search.
 */
struct v3_store_ops {
	int (*init)(struct v3_iommu *iommu);
	void (*destroy)(struct v3_iommu *iommu);
	int (*insert)(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages, unsigned long vaddr_pfn, int prot);
	void (*erase)(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages);
	bool (*find)(struct v3_iommu *iommu, unsigned long *pfn,
		     unsigned long last);
	int (*prot)(struct v3_iommu *iommu, unsigned long pfn);
	int (*take)(struct v3_iommu *iommu, unsigned long *pfn,
		    unsigned long first, unsigned long last);
	u64 (*metadata_bytes)(struct v3_iommu *iommu);
};

extern const struct v3_store_ops v3_tracked_ops;
extern const struct v3_store_ops v3_direct_ops;

u64 v3_tracked_count_nodes(struct xarray *xa);

struct v3_domain {
	struct list_head	next;
	struct iommu_domain	*domain;
	struct list_head	groups;		/* struct v3_group */
	bool			coherent;
};

struct v3_group {
	struct list_head	next;
	struct iommu_group	*iommu_group;
};

struct v3_range {
	struct list_head	next;
	u64			start;
	u64			last;
};

struct v3_iommu {
	struct mutex		lock;		/* guards all but devices */
	int			mode;		/* VFIO_TYPE1v3_MODE_* */
	const struct v3_store_ops *store;
	struct xarray		pages;		/* the page store */
	unsigned long		npages;		/* pages in the store */
	struct xarray		ro;		/* direct: read-only pages */
	struct xarray		ext;		/* emulated devices' refs */
	unsigned long		nchunks;	/* direct: bitmap chunks */
	unsigned long		nro_chunks;	/* direct: chunks of ro */
	unsigned long		*chunk;		/* direct: last chunk used */
	unsigned long		chunk_idx;	/* its index in pages */
	struct list_head	domains;	/* struct v3_domain */
	struct list_head	emulated;	/* struct v3_group, no domain */
	struct list_head	ranges;		/* struct v3_range, sorted */
	struct list_head	devices;	/* vfio_device.iommu_entry */
	struct mutex		devices_lock;	/* guards devices */
	struct mm_struct	*mm;		/* first mapper's, mmgrab()ed */
	u64			pgsize_bitmap;
	unsigned long		vaddr_invalid;	/* tracked: pages w/o vaddr */
#ifdef V3_PROF
	u64			prof[V3_PROF_N];	/* cycles */
	u64			prof_pages[2];	/* mapped, unmapped */
	u64			prof_t;		/* last lap */
#endif
};

#ifdef V3_PROF
void v3_dma_prof_report(struct v3_iommu *iommu);
#else
static inline void v3_dma_prof_report(struct v3_iommu *iommu) {}
#endif

/*
 * The per-page store ops, visible so that the map/unmap loops call them
 * through INDIRECT_CALL_2() (v3_store_*: a direct call when the pointer
 * matches; with retpolines an indirect call per page is measurable).
 */
void v3_tracked_erase(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages);
int v3_tracked_insert(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages, unsigned long vaddr_pfn, int prot);
bool v3_tracked_find(struct v3_iommu *iommu, unsigned long *pfn,
		     unsigned long last);
int v3_tracked_prot(struct v3_iommu *iommu, unsigned long pfn);
int v3_tracked_take(struct v3_iommu *iommu, unsigned long *pfn,
		    unsigned long first, unsigned long last);
void v3_direct_erase(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long npages);
int v3_direct_insert(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long npages, unsigned long vaddr_pfn, int prot);
bool v3_direct_find(struct v3_iommu *iommu, unsigned long *pfn,
		    unsigned long last);
int v3_direct_prot(struct v3_iommu *iommu, unsigned long pfn);
int v3_direct_take(struct v3_iommu *iommu, unsigned long *pfn,
		   unsigned long first, unsigned long last);

static inline bool v3_store_find(struct v3_iommu *iommu, unsigned long *pfn,
				 unsigned long last)
{
	return INDIRECT_CALL_2(iommu->store->find, v3_direct_find,
			       v3_tracked_find, iommu, pfn, last);
}

static inline int v3_store_insert(struct v3_iommu *iommu, unsigned long pfn,
				  unsigned long npages, unsigned long vaddr_pfn,
				  int prot)
{
	return INDIRECT_CALL_2(iommu->store->insert, v3_direct_insert,
			       v3_tracked_insert, iommu, pfn, npages,
			       vaddr_pfn, prot);
}

static inline int v3_store_take(struct v3_iommu *iommu, unsigned long *pfn,
				unsigned long first, unsigned long last)
{
	return INDIRECT_CALL_2(iommu->store->take, v3_direct_take,
			       v3_tracked_take, iommu, pfn, first, last);
}

static inline void v3_store_erase(struct v3_iommu *iommu, unsigned long pfn,
				  unsigned long npages)
{
	INDIRECT_CALL_2(iommu->store->erase, v3_direct_erase,
			v3_tracked_erase, iommu, pfn, npages);
}

/* Tracked mode entry bits below the vaddr page frame. */
#define V3_TRACKED_READ		BIT(0)
#define V3_TRACKED_WRITE	BIT(1)
#define V3_TRACKED_NOVADDR	BIT(2)
#define V3_TRACKED_SHIFT	3

/* dma.c */
int v3_dma_map(struct v3_iommu *iommu,
	       const struct vfio_iommu_type1v3_map_entry *entries,
	       u32 nr, u32 *failed, u64 *pages_done);
/* Take back a whole batch v3_dma_map() mapped, still under iommu->lock. */
void v3_dma_map_revert(struct v3_iommu *iommu,
		       const struct vfio_iommu_type1v3_map_entry *entries,
		       u32 nr, u64 total);
/* @entry_done: NULL, or @nr zeroed slots for each entry's own count */
int v3_dma_unmap(struct v3_iommu *iommu,
		 const struct vfio_iommu_type1v3_unmap_entry *entries,
		 u32 nr, u64 *pages_done, u64 *entry_done);
void v3_dma_unmap_all(struct v3_iommu *iommu);

/* The page count of an unmap entry at IOVA 0 that covers the whole space */
#define V3_DMA_ALL_PAGES	((U64_MAX >> PAGE_SHIFT) + 1)

/*
 * Turn a byte address and a page count into an inclusive page-frame range,
 * refusing unaligned starts, empty ranges and ranges past 2^64. Working in
 * page frames lets a range end exactly at the top of the address space.
 * Inline, as is v3_dma_phys(): unmap calls both once per entry or page.
 */
static inline int v3_dma_range(u64 iova, u64 npages, unsigned long *pfn,
			       unsigned long *last)
{
	u64 first = iova >> PAGE_SHIFT, end;

	if (!npages || !PAGE_ALIGNED(iova))
		return -EINVAL;
	if (check_add_overflow(first, npages - 1, &end) ||
	    end >= V3_DMA_ALL_PAGES)
		return -EINVAL;
	*pfn = first;
	*last = end;
	return 0;
}

/* What the first domain's page table holds at IOVA page @pfn, or 0. */
static inline phys_addr_t v3_dma_phys(struct v3_iommu *iommu,
				      unsigned long pfn)
{
	struct v3_domain *d = list_first_entry_or_null(&iommu->domains,
						       struct v3_domain, next);

	if (!d)
		return 0;
	return iommu_iova_to_phys(d->domain, (dma_addr_t)pfn << PAGE_SHIFT);
}

unsigned long v3_dma_piece(unsigned long pfn, unsigned long npages);
int v3_dma_map_run(struct iommu_domain *dom, unsigned long pfn,
		   phys_addr_t phys, unsigned long npages, int prot);
int v3_dma_set_vaddr(struct v3_iommu *iommu, u64 iova, u64 npages, u64 vaddr);
int v3_dma_invalidate_vaddr(struct v3_iommu *iommu, u64 iova, u64 npages,
			    u64 *done);

/* store_tracked.c */
/* Is every page of [pfn, last] in the tracked store? */
bool v3_tracked_full(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long last);
unsigned long v3_tracked_set_vaddr(struct v3_iommu *iommu, unsigned long pfn,
				   unsigned long last, unsigned long vaddr_pfn,
				   bool invalidate);

/* domain.c */
int v3_domain_attach(struct v3_iommu *iommu, struct iommu_group *group,
		     enum vfio_group_type type);
void v3_domain_detach(struct v3_iommu *iommu, struct iommu_group *group);
void v3_domain_release_all(struct v3_iommu *iommu);
bool v3_domain_iova_valid(struct v3_iommu *iommu, u64 start, u64 last);
const struct v3_range *v3_domain_iova_range(struct v3_iommu *iommu,
					    u64 start, u64 last);
bool v3_domain_coherent(struct v3_iommu *iommu);
struct iommu_domain *v3_domain_of_group(struct v3_iommu *iommu,
					struct iommu_group *group);

/* emulated.c */
int v3_emulated_pin_pages(void *data, struct iommu_group *group,
			  dma_addr_t iova, int npage, int prot,
			  struct page **pages);
void v3_emulated_unpin_pages(void *data, dma_addr_t iova, int npage);
int v3_emulated_dma_rw(void *data, dma_addr_t iova, void *buf,
		       size_t count, bool write);
void v3_emulated_register(void *data, struct vfio_device *vdev);
void v3_emulated_unregister(void *data, struct vfio_device *vdev);
bool v3_emulated_notify_held(struct v3_iommu *iommu,
			     const struct vfio_iommu_type1v3_unmap_entry *e,
			     u32 nr);
void v3_emulated_quiesce(struct v3_iommu *iommu,
			 const struct vfio_iommu_type1v3_unmap_entry *e, u32 nr);
void v3_emulated_release(struct v3_iommu *iommu);

#endif /* V3_TYPE1V3_H */
