// SPDX-License-Identifier: GPL-2.0-only
/*
 * Direct page store: a sparse bitmap of mapped IOVA page frames.
 *
 * No vaddr and no PFN is kept: the IOMMU page table is the record of
 * IOVA -> PFN, and this bitmap only says which IOVA pages hold a pin of
 * ours, so that unmap, release and late-attach replay know which frames to
 * read back with iommu_iova_to_phys(). The bitmap is two-level: an xarray
 * indexed by pfn / V3_DIRECT_CHUNK_PAGES whose entries point to 64-byte
 * chunks of V3_DIRECT_CHUNK_PAGES bits. A chunk is freed when its last bit
 * is cleared, so an empty store holds no memory. A second bitmap of the
 * same shape marks the read-only pages, so unmap knows which pages the
 * device may have dirtied and replay keeps the protection; it is empty,
 * and free, while every mapping is writable.
 *
 * Memory: dense, 64 bytes per 512 pages plus one xa_node per 64 chunks,
 * about 0.14 bytes per page; one page in 64, about 8 bytes per page plus
 * the same node share (about 9 bytes).
 */
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "type1v3.h"

#define V3_DIRECT_CHUNK_BYTES	64
#define V3_DIRECT_CHUNK_PAGES	(V3_DIRECT_CHUNK_BYTES * BITS_PER_BYTE)

static int v3_direct_init(struct v3_iommu *iommu)
{
	xa_init(&iommu->pages);
	xa_init(&iommu->ro);
	iommu->nchunks = 0;
	iommu->nro_chunks = 0;
	return 0;
}

static void v3_direct_free_chunks(struct xarray *xa)
{
	unsigned long index;
	void *chunk;

	xa_for_each(xa, index, chunk)
		kfree(chunk);
	xa_destroy(xa);
}

static void v3_direct_destroy(struct v3_iommu *iommu)
{
	V3_CHECK(xa_empty(&iommu->pages) && xa_empty(&iommu->ro));
	/* nothing should be left; free defensively so memory never leaks */
	v3_direct_free_chunks(&iommu->pages);
	v3_direct_free_chunks(&iommu->ro);
}

/*
 * Clear bits [pfn, pfn + npages) of the bitmap @xa; returns how many were
 * set. Chunks left empty are freed.
 */
static unsigned long v3_direct_clear(struct xarray *xa, unsigned long *nchunks,
				     unsigned long pfn, unsigned long npages)
{
	unsigned long done = 0;

	while (npages) {
		unsigned long idx = pfn / V3_DIRECT_CHUNK_PAGES;
		unsigned int bit = pfn % V3_DIRECT_CHUNK_PAGES;
		unsigned int n = min_t(unsigned long, npages,
				       V3_DIRECT_CHUNK_PAGES - bit);
		unsigned long *chunk = xa_load(xa, idx);

		if (chunk) {
			done += bitmap_weight(chunk, bit + n) -
				bitmap_weight(chunk, bit);
			bitmap_clear(chunk, bit, n);
			if (bitmap_empty(chunk, V3_DIRECT_CHUNK_PAGES)) {
				xa_erase(xa, idx);
				kfree(chunk);
				(*nchunks)--;
			}
		}
		pfn += n;
		npages -= n;
	}
	return done;
}

/* Set bits [pfn, pfn + npages) of @xa, all or nothing. */
static int v3_direct_set(struct xarray *xa, unsigned long *nchunks,
			 unsigned long pfn, unsigned long npages)
{
	unsigned long start = pfn, left = npages;

	while (left) {
		unsigned long idx = pfn / V3_DIRECT_CHUNK_PAGES;
		unsigned int bit = pfn % V3_DIRECT_CHUNK_PAGES;
		unsigned int n = min_t(unsigned long, left,
				       V3_DIRECT_CHUNK_PAGES - bit);
		unsigned long *chunk = xa_load(xa, idx);

		if (!chunk) {
			int ret;

			chunk = kzalloc(V3_DIRECT_CHUNK_BYTES,
					GFP_KERNEL_ACCOUNT);
			if (!chunk)
				ret = -ENOMEM;
			else
				ret = xa_insert(xa, idx, chunk,
						GFP_KERNEL_ACCOUNT);
			if (ret) {
				kfree(chunk);
				v3_direct_clear(xa, nchunks, start, pfn - start);
				return ret;
			}
			(*nchunks)++;
		}
		V3_CHECK(find_next_bit(chunk, bit + n, bit) == bit + n);
		bitmap_set(chunk, bit, n);
		pfn += n;
		left -= n;
	}
	return 0;
}

static void v3_direct_erase(struct v3_iommu *iommu, unsigned long pfn,
			    unsigned long npages)
{
	unsigned long cleared;

	cleared = v3_direct_clear(&iommu->pages, &iommu->nchunks, pfn, npages);
	V3_CHECK(cleared == npages);
	iommu->npages -= cleared;
	if (iommu->nro_chunks)
		v3_direct_clear(&iommu->ro, &iommu->nro_chunks, pfn, npages);
}

static int v3_direct_insert(struct v3_iommu *iommu, unsigned long pfn,
			    unsigned long npages, unsigned long vaddr_pfn,
			    int prot)
{
	int ret;

	ret = v3_direct_set(&iommu->pages, &iommu->nchunks, pfn, npages);
	if (ret)
		return ret;
	/* read-only pages are rare: their second bitmap usually is empty */
	if (!(prot & IOMMU_WRITE)) {
		ret = v3_direct_set(&iommu->ro, &iommu->nro_chunks, pfn,
				    npages);
		if (ret) {
			v3_direct_clear(&iommu->pages, &iommu->nchunks, pfn,
					npages);
			return ret;
		}
	}
	iommu->npages += npages;
	return 0;
}

static bool v3_direct_find(struct v3_iommu *iommu, unsigned long *pfn,
			   unsigned long last)
{
	unsigned long idx = *pfn / V3_DIRECT_CHUNK_PAGES;
	unsigned long last_idx = last / V3_DIRECT_CHUNK_PAGES;
	unsigned long *chunk;

	while ((chunk = xa_find(&iommu->pages, &idx, last_idx, XA_PRESENT))) {
		unsigned long base = idx * V3_DIRECT_CHUNK_PAGES;
		unsigned long from = max(*pfn, base) - base;
		unsigned long bit = find_next_bit(chunk, V3_DIRECT_CHUNK_PAGES,
						  from);

		if (bit < V3_DIRECT_CHUNK_PAGES) {
			if (base + bit > last)
				return false;
			*pfn = base + bit;
			return true;
		}
		if (idx == last_idx)
			return false;
		idx++;
	}
	return false;
}

static int v3_direct_prot(struct v3_iommu *iommu, unsigned long pfn)
{
	unsigned long *chunk;

	if (!iommu->nro_chunks)
		return IOMMU_READ | IOMMU_WRITE;
	chunk = xa_load(&iommu->ro, pfn / V3_DIRECT_CHUNK_PAGES);
	if (chunk && test_bit(pfn % V3_DIRECT_CHUNK_PAGES, chunk))
		return IOMMU_READ;
	return IOMMU_READ | IOMMU_WRITE;
}

static u64 v3_direct_metadata_bytes(struct v3_iommu *iommu)
{
	u64 chunks = (u64)iommu->nchunks + iommu->nro_chunks;

	return chunks * V3_DIRECT_CHUNK_BYTES +
	       (v3_tracked_count_nodes(&iommu->pages) +
		v3_tracked_count_nodes(&iommu->ro)) * sizeof(struct xa_node);
}

const struct v3_store_ops v3_direct_ops = {
	.init		= v3_direct_init,
	.destroy	= v3_direct_destroy,
	.insert		= v3_direct_insert,
	.erase		= v3_direct_erase,
	.find		= v3_direct_find,
	.prot		= v3_direct_prot,
	.metadata_bytes	= v3_direct_metadata_bytes,
};
