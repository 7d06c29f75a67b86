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
 * device may have dirtied and replay keeps read-only pages read-only (a
 * write-only mapping comes back read+write); it is empty, and free, while
 * every mapping is writable.
 *
 * The last chunk of the mapped-page bitmap that was looked up is kept
 * (iommu->chunk): a batch's pages lie close together, so its finds,
 * inserts and erases mostly hit one chunk and skip the xarray walk. The
 * pointer is dropped when that chunk is freed; all of it is under
 * iommu->lock.
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
	iommu->chunk = NULL;
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
	iommu->chunk = NULL;
	v3_direct_free_chunks(&iommu->pages);
	v3_direct_free_chunks(&iommu->ro);
}

/* The chunk of bitmap @xa at @idx, through the cache for iommu->pages. */
static unsigned long *v3_direct_chunk(struct v3_iommu *iommu,
				      struct xarray *xa, unsigned long idx)
{
	unsigned long *chunk;

	if (xa != &iommu->pages)
		return xa_load(xa, idx);
	if (iommu->chunk && iommu->chunk_idx == idx)
		return iommu->chunk;
	chunk = xa_load(xa, idx);
	if (chunk) {
		iommu->chunk = chunk;
		iommu->chunk_idx = idx;
	}
	return chunk;
}

/*
 * First set bit at or after @bit in @chunk, or V3_DIRECT_CHUNK_PAGES.
 * Open-coded over the chunk's eight words: it runs for every page of an
 * unmap, and find_next_bit() is an out-of-line call for a 512-bit map.
 */
static inline unsigned int v3_direct_next(const unsigned long *chunk,
					  unsigned int bit)
{
	unsigned int w = bit / BITS_PER_LONG;
	unsigned long word;

	if (bit >= V3_DIRECT_CHUNK_PAGES)
		return V3_DIRECT_CHUNK_PAGES;
	word = chunk[w] & (~0UL << (bit % BITS_PER_LONG));
	while (!word) {
		if (++w == V3_DIRECT_CHUNK_PAGES / BITS_PER_LONG)
			return V3_DIRECT_CHUNK_PAGES;
		word = chunk[w];
	}
	return w * BITS_PER_LONG + __ffs(word);
}

static inline bool v3_direct_chunk_empty(const unsigned long *chunk)
{
	return v3_direct_next(chunk, 0) == V3_DIRECT_CHUNK_PAGES;
}

/*
 * Free @chunk, entry @idx of @xa, once its last bit has been cleared;
 * @bit was just cleared. The word holding it usually has other bits left,
 * which settles it without scanning the chunk once per unmapped page.
 */
static void v3_direct_put(struct v3_iommu *iommu, struct xarray *xa,
			  unsigned long *nchunks, unsigned long idx,
			  unsigned long *chunk, unsigned int bit)
{
	if (chunk[bit / BITS_PER_LONG] || !v3_direct_chunk_empty(chunk))
		return;
	if (chunk == iommu->chunk)
		iommu->chunk = NULL;
	xa_erase(xa, idx);
	kfree(chunk);
	(*nchunks)--;
}

/*
 * Clear bits [pfn, pfn + npages) of the bitmap @xa; returns how many were
 * set. Chunks left empty are freed.
 */
static unsigned long v3_direct_clear(struct v3_iommu *iommu, struct xarray *xa,
				     unsigned long *nchunks,
				     unsigned long pfn, unsigned long npages)
{
	unsigned long done = 0;

	while (npages) {
		unsigned long idx = pfn / V3_DIRECT_CHUNK_PAGES;
		unsigned int bit = pfn % V3_DIRECT_CHUNK_PAGES;
		unsigned int n = min_t(unsigned long, npages,
				       V3_DIRECT_CHUNK_PAGES - bit);
		unsigned long *chunk = v3_direct_chunk(iommu, xa, idx);

		if (chunk) {
			if (n == 1) {
				done += __test_and_clear_bit(bit, chunk);
			} else {
				done += bitmap_weight(chunk, bit + n) -
					bitmap_weight(chunk, bit);
				bitmap_clear(chunk, bit, n);
			}
			v3_direct_put(iommu, xa, nchunks, idx, chunk, bit);
		}
		pfn += n;
		npages -= n;
	}
	return done;
}

/*
 * Set bits [pfn, pfn + npages) of @xa, all or nothing: -EEXIST, with
 * nothing changed, if any of them is set already.
 */
static int v3_direct_set(struct v3_iommu *iommu, struct xarray *xa,
			 unsigned long *nchunks, unsigned long pfn,
			 unsigned long npages)
{
	unsigned long start = pfn, left = npages;
	int ret = 0;

	while (left) {
		unsigned long idx = pfn / V3_DIRECT_CHUNK_PAGES;
		unsigned int bit = pfn % V3_DIRECT_CHUNK_PAGES;
		unsigned int n = min_t(unsigned long, left,
				       V3_DIRECT_CHUNK_PAGES - bit);
		unsigned long *chunk = v3_direct_chunk(iommu, xa, idx);

		if (!chunk) {
			chunk = kzalloc(V3_DIRECT_CHUNK_BYTES,
					GFP_KERNEL_ACCOUNT);
			if (!chunk)
				ret = -ENOMEM;
			else
				ret = xa_insert(xa, idx, chunk,
						GFP_KERNEL_ACCOUNT);
			if (ret) {
				kfree(chunk);
				break;
			}
			(*nchunks)++;
		}
		if (n == 1) {
			if (__test_and_set_bit(bit, chunk)) {
				ret = -EEXIST;
				break;
			}
		} else {
			if (find_next_bit(chunk, bit + n, bit) < bit + n) {
				ret = -EEXIST;
				break;
			}
			bitmap_set(chunk, bit, n);
		}
		pfn += n;
		left -= n;
	}
	if (ret && pfn > start)
		v3_direct_clear(iommu, xa, nchunks, start, pfn - start);
	return ret;
}

void v3_direct_erase(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long npages)
{
	unsigned long cleared;

	cleared = v3_direct_clear(iommu, &iommu->pages, &iommu->nchunks, pfn,
				  npages);
	V3_CHECK(cleared == npages);
	iommu->npages -= cleared;
	if (iommu->nro_chunks)
		v3_direct_clear(iommu, &iommu->ro, &iommu->nro_chunks, pfn,
				npages);
}

int v3_direct_insert(struct v3_iommu *iommu, unsigned long pfn,
		     unsigned long npages, unsigned long vaddr_pfn,
		     int prot)
{
	int ret;

	/* the usual single writable page next to the last one: no walk */
	if (npages == 1 && (prot & IOMMU_WRITE) && iommu->chunk &&
	    iommu->chunk_idx == pfn / V3_DIRECT_CHUNK_PAGES) {
		if (__test_and_set_bit(pfn % V3_DIRECT_CHUNK_PAGES,
				       iommu->chunk))
			return -EEXIST;
		iommu->npages++;
		return 0;
	}
	ret = v3_direct_set(iommu, &iommu->pages, &iommu->nchunks, pfn, npages);
	if (ret)
		return ret;
	/* read-only pages are rare: their second bitmap usually is empty */
	if (!(prot & IOMMU_WRITE)) {
		ret = v3_direct_set(iommu, &iommu->ro, &iommu->nro_chunks, pfn,
				    npages);
		if (ret) {
			v3_direct_clear(iommu, &iommu->pages, &iommu->nchunks,
					pfn, npages);
			return ret;
		}
	}
	iommu->npages += npages;
	return 0;
}

/*
 * find(), inline so that take() runs it without a call. On success the
 * chunk holding *pfn is the cached one (iommu->chunk).
 */
static __always_inline bool __v3_direct_find(struct v3_iommu *iommu,
					     unsigned long *pfn,
					     unsigned long last)
{
	unsigned long idx = *pfn / V3_DIRECT_CHUNK_PAGES;
	unsigned long last_idx = last / V3_DIRECT_CHUNK_PAGES;
	unsigned long *chunk;

	if (iommu->chunk && iommu->chunk_idx == idx) {
		unsigned long base = idx * V3_DIRECT_CHUNK_PAGES;
		unsigned long bit = v3_direct_next(iommu->chunk, *pfn - base);

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

	while ((chunk = xa_find(&iommu->pages, &idx, last_idx, XA_PRESENT))) {
		unsigned long base = idx * V3_DIRECT_CHUNK_PAGES;
		unsigned long from = max(*pfn, base) - base;
		unsigned long bit = v3_direct_next(chunk, from);

		if (bit < V3_DIRECT_CHUNK_PAGES) {
			if (base + bit > last)
				return false;
			*pfn = base + bit;
			iommu->chunk = chunk;
			iommu->chunk_idx = idx;
			return true;
		}
		if (idx == last_idx)
			return false;
		idx++;
	}
	return false;
}

bool v3_direct_find(struct v3_iommu *iommu, unsigned long *pfn,
		    unsigned long last)
{
	return __v3_direct_find(iommu, pfn, last);
}

/*
 * Unmap's per-page step, without a call in the usual case (the next page
 * in the cached chunk, every bitmap holding writable pages only): under
 * emulation and with retpolines each call per page shows in the unmap rate.
 */
int v3_direct_take(struct v3_iommu *iommu, unsigned long *pfn,
		   unsigned long first, unsigned long last)
{
	unsigned long *chunk;
	int prot;

	if (!__v3_direct_find(iommu, pfn, last))
		return 0;
	if (*pfn < first)
		return -EEXIST;
	chunk = iommu->chunk;
	V3_CHECK(chunk && iommu->chunk_idx == *pfn / V3_DIRECT_CHUNK_PAGES);
	prot = iommu->nro_chunks ? v3_direct_prot(iommu, *pfn) :
				   IOMMU_READ | IOMMU_WRITE;
	__clear_bit(*pfn % V3_DIRECT_CHUNK_PAGES, chunk);
	iommu->npages--;
	if (iommu->nro_chunks)
		v3_direct_clear(iommu, &iommu->ro, &iommu->nro_chunks, *pfn, 1);
	v3_direct_put(iommu, &iommu->pages, &iommu->nchunks, iommu->chunk_idx,
		      chunk, *pfn % V3_DIRECT_CHUNK_PAGES);
	return prot;
}

int v3_direct_prot(struct v3_iommu *iommu, unsigned long pfn)
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
	.take		= v3_direct_take,
	.metadata_bytes	= v3_direct_metadata_bytes,
};
