// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracked page store: one xarray value entry per mapped IOVA page frame.
 *
 * The entry is a single word built with xa_mk_value(): the user virtual
 * page frame the page was pinned from, shifted left by V3_TRACKED_SHIFT,
 * with the READ/WRITE protection and a "vaddr invalid" bit below it. User
 * page frames are below 2^52 on every supported architecture, so the packed
 * value stays below LONG_MAX as xa_mk_value() requires.
 *
 * Memory: a dense run costs one xa_node (576 bytes on 64-bit) per 64 pages,
 * about 9 bytes per page; a lone page costs a whole leaf node.
 */
#include <linux/slab.h>
#include <linux/xarray.h>

#include "type1v3.h"

static int v3_tracked_init(struct v3_iommu *iommu)
{
	xa_init(&iommu->pages);
	return 0;
}

static void v3_tracked_destroy(struct v3_iommu *iommu)
{
	V3_CHECK(xa_empty(&iommu->pages));
	xa_destroy(&iommu->pages);
}

/*
 * Called after each of @n entries a walk under the xa spinlock visited:
 * every 4096, drop the lock and let others run, so a huge range never
 * holds it (and preemption off) throughout. iommu->lock keeps the store
 * unchanged meanwhile.
 */
static void v3_tracked_breathe(struct xa_state *xas, unsigned long n)
{
	if (n % 4096)
		return;
	xas_pause(xas);
	xas_unlock(xas);
	cond_resched();
	xas_lock(xas);
}

bool v3_tracked_full(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long last)
{
	XA_STATE(xas, &iommu->pages, pfn);
	unsigned long count = 0;
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, last)
		v3_tracked_breathe(&xas, ++count);
	xas_unlock(&xas);
	return count == last - pfn + 1;
}

void v3_tracked_erase(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages)
{
	XA_STATE(xas, &iommu->pages, pfn);
	unsigned long last = pfn + npages - 1, n = 0;
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, last) {
		if (xa_to_value(entry) & V3_TRACKED_NOVADDR)
			iommu->vaddr_invalid--;
		xas_store(&xas, NULL);
		iommu->npages--;
		v3_tracked_breathe(&xas, ++n);
	}
	xas_unlock(&xas);
}

int v3_tracked_insert(struct v3_iommu *iommu, unsigned long pfn,
		      unsigned long npages, unsigned long vaddr_pfn,
		      int prot)
{
	unsigned long bits = 0, i;
	int ret;

	if (prot & IOMMU_READ)
		bits |= V3_TRACKED_READ;
	if (prot & IOMMU_WRITE)
		bits |= V3_TRACKED_WRITE;

	for (i = 0; i < npages; i++) {
		unsigned long v = ((vaddr_pfn + i) << V3_TRACKED_SHIFT) | bits;

		ret = xa_insert(&iommu->pages, pfn + i, xa_mk_value(v),
				GFP_KERNEL_ACCOUNT);
		if (ret) {
			iommu->npages += i;
			if (i)
				v3_tracked_erase(iommu, pfn, i);
			return ret == -EBUSY ? -EEXIST : ret;
		}
	}
	iommu->npages += npages;
	return 0;
}

bool v3_tracked_find(struct v3_iommu *iommu, unsigned long *pfn,
		     unsigned long last)
{
	return xa_find(&iommu->pages, pfn, last, XA_PRESENT);
}

static int v3_tracked_entry_prot(unsigned long v)
{
	return (v & V3_TRACKED_READ ? IOMMU_READ : 0) |
	       (v & V3_TRACKED_WRITE ? IOMMU_WRITE : 0);
}

int v3_tracked_take(struct v3_iommu *iommu, unsigned long *pfn,
		    unsigned long first, unsigned long last)
{
	XA_STATE(xas, &iommu->pages, *pfn);
	unsigned long v;
	void *entry;

	xas_lock(&xas);
	entry = xas_find(&xas, last);
	if (entry) {
		*pfn = xas.xa_index;
		if (*pfn >= first)
			xas_store(&xas, NULL);
	}
	xas_unlock(&xas);
	if (!entry)
		return 0;
	if (*pfn < first)
		return -EEXIST;
	v = xa_to_value(entry);
	if (v & V3_TRACKED_NOVADDR)
		iommu->vaddr_invalid--;
	iommu->npages--;
	return v3_tracked_entry_prot(v);
}

/*
 * VFIO_DMA_MAP_FLAG_VADDR / VFIO_DMA_UNMAP_FLAG_VADDR. Invalidating marks
 * the mapped pages of [pfn, last] and returns how many there were;
 * updating gives page pfn + i the user page frame vaddr_pfn + i, and the
 * caller has made sure every page of the range is mapped
 * (v3_tracked_full(), before it moves the container to its mm).
 */
unsigned long v3_tracked_set_vaddr(struct v3_iommu *iommu, unsigned long pfn,
				   unsigned long last, unsigned long vaddr_pfn,
				   bool invalidate)
{
	XA_STATE(xas, &iommu->pages, pfn);
	unsigned long count = 0;
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, last) {
		unsigned long v = xa_to_value(entry);
		unsigned long bits = v & (BIT(V3_TRACKED_SHIFT) - 1);

		if (v & V3_TRACKED_NOVADDR)
			iommu->vaddr_invalid--;
		if (invalidate) {
			bits |= V3_TRACKED_NOVADDR;
			iommu->vaddr_invalid++;
			v = (v & ~(BIT(V3_TRACKED_SHIFT) - 1)) | bits;
		} else {
			bits &= ~V3_TRACKED_NOVADDR;
			v = ((vaddr_pfn + (xas.xa_index - pfn)) <<
			     V3_TRACKED_SHIFT) | bits;
		}
		/* replacing a present value entry never allocates */
		xas_store(&xas, xa_mk_value(v));
		v3_tracked_breathe(&xas, ++count);
	}
	xas_unlock(&xas);
	return count;
}

/*
 * Count the xarray nodes a set of indices needs: one per distinct
 * index >> (6 * (level + 1)) at every level from the leaves up to the
 * root, the first level at which the largest index gives 0 (the tree is as
 * tall as its largest index needs, however few entries it holds). This
 * models the radix tree of XA_CHUNK_SHIFT == 6 exactly, except that a lone
 * entry at index 0 needs no node at all. One ascending pass counts every
 * level at once (an index that stays in its level-l node stays in the
 * nodes above it too), so a GET_INFO costs one walk of the entries.
 */
#define V3_XA_LEVELS	DIV_ROUND_UP(BITS_PER_LONG, XA_CHUNK_SHIFT)

u64 v3_tracked_count_nodes(struct xarray *xa)
{
	unsigned long key[V3_XA_LEVELS], count[V3_XA_LEVELS] = { 0 };
	unsigned long index, seen = 0;
	unsigned int l;
	u64 nodes = 0;
	void *entry;

	xa_for_each(xa, index, entry) {
		for (l = 0; l < V3_XA_LEVELS; l++) {
			unsigned int shift = XA_CHUNK_SHIFT * (l + 1);
			unsigned long k = shift < BITS_PER_LONG ?
					  index >> shift : 0;

			if (seen && k == key[l])
				break;
			key[l] = k;
			count[l]++;
		}
		if (!(++seen % 1024))
			cond_resched();
	}
	/* key[l] is now the largest index's: 0 at the root's level */
	for (l = 0; l < V3_XA_LEVELS && seen; l++) {
		nodes += count[l];
		if (!key[l])
			break;
	}
	return nodes;
}

int v3_tracked_prot(struct v3_iommu *iommu, unsigned long pfn)
{
	void *entry = xa_load(&iommu->pages, pfn);

	return entry ? v3_tracked_entry_prot(xa_to_value(entry)) : 0;
}

static u64 v3_tracked_metadata_bytes(struct v3_iommu *iommu)
{
	return v3_tracked_count_nodes(&iommu->pages) * sizeof(struct xa_node);
}

const struct v3_store_ops v3_tracked_ops = {
	.init		= v3_tracked_init,
	.destroy	= v3_tracked_destroy,
	.insert		= v3_tracked_insert,
	.erase		= v3_tracked_erase,
	.find		= v3_tracked_find,
	.prot		= v3_tracked_prot,
	.take		= v3_tracked_take,
	.metadata_bytes	= v3_tracked_metadata_bytes,
};
