// SPDX-License-Identifier: BSD-3-Clause
/*
 * Sparse two-level page bitmap for the sim backend.
 *
 * Level one is an array of slots sorted by chunk index (pfn / 512); level
 * two is one heap chunk per slot holding two 512-bit maps:
 *   mapped: the page is mapped;
 *   start:  the page is the first page of an extent as type1 would hold it.
 * Memory is O(chunks with a mapped page): a chunk is freed the moment its
 * last page is unmapped and the slot array shrinks with it, so an empty
 * store holds no heap memory at all.
 *
 * Extent invariant: every maximal run of mapped pages begins with a start
 * bit, and an extent runs from its start bit up to the next start bit or
 * hole. A map sets one start bit (one MAP_DMA = one vfio_dma). An unmap of
 * [a, b) clears the bits inside and then, if page b is mapped without a
 * start bit, gives it one: that one rule covers splitting an extent in the
 * middle (+1) and cutting its head (the start moves to b). So the extent
 * count is always the number of start bits and is kept incrementally.
 *
 * Ranges use an inclusive last pfn internally; pfns are below 2^52, so
 * pfn + npages never wraps once the range has been checked.
 *
 * A sorted array rather than a hash: unmap walks the chunks of a range in
 * order, and a range spanning a huge empty IOVA span costs only the chunks
 * that exist. Insertion merges all missing chunks of a range in one pass.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/sim_store.h"

#define CHUNK_WORDS	(SIM_STORE_CHUNK_PAGES / 64)
#define XA_SHIFT	6	/* xarray: 64 slots per node */

struct sim_chunk {
	uint64_t mapped[CHUNK_WORDS];
	uint64_t start[CHUNK_WORDS];
	uint32_t npages;	/* bits set in mapped */
};

struct sim_slot {
	uint64_t key;		/* pfn / SIM_STORE_CHUNK_PAGES */
	struct sim_chunk *chunk;
};

void sim_store_init(struct sim_store *s, uint64_t max_pages)
{
	memset(s, 0, sizeof(*s));
	s->max_pages = max_pages;
}

void sim_store_fini(struct sim_store *s)
{
	size_t i;

	for (i = 0; i < s->nslots; i++)
		free(s->slots[i].chunk);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static bool sim_store_range_ok(uint64_t pfn, uint64_t npages)
{
	return npages >= 1 && pfn < SIM_STORE_PFN_LIMIT &&
	       npages <= SIM_STORE_PFN_LIMIT - pfn;
}

/* First slot whose key is >= @key. */
static size_t sim_store_lower(const struct sim_store *s, uint64_t key)
{
	size_t lo = 0, hi = s->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->slots[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct sim_chunk *sim_store_find(const struct sim_store *s,
					uint64_t key)
{
	size_t i = sim_store_lower(s, key);

	return i < s->nslots && s->slots[i].key == key ? s->slots[i].chunk :
							  NULL;
}

/* Bits of word @w that fall in chunk-relative pages [lo, hi]. */
static uint64_t sim_store_mask(unsigned int w, unsigned int lo,
			       unsigned int hi)
{
	unsigned int b0 = w == lo / 64 ? lo % 64 : 0;
	unsigned int b1 = w == hi / 64 ? hi % 64 : 63;

	return (~0ull >> (63 - b1)) & (~0ull << b0);
}

/* Chunk-relative [lo, hi] of range [first, last] within chunk @key. */
static void sim_store_clip(uint64_t key, uint64_t first, uint64_t last,
			   unsigned int *lo, unsigned int *hi)
{
	uint64_t base = key * SIM_STORE_CHUNK_PAGES;

	*lo = first > base ? (unsigned int)(first - base) : 0;
	*hi = last < base + SIM_STORE_CHUNK_PAGES - 1 ?
	      (unsigned int)(last - base) : SIM_STORE_CHUNK_PAGES - 1;
}

static bool sim_store_any_mapped(const struct sim_store *s, uint64_t first,
				 uint64_t last)
{
	uint64_t lkey = last / SIM_STORE_CHUNK_PAGES;
	size_t i = sim_store_lower(s, first / SIM_STORE_CHUNK_PAGES);
	unsigned int lo, hi, w;

	for (; i < s->nslots && s->slots[i].key <= lkey; i++) {
		sim_store_clip(s->slots[i].key, first, last, &lo, &hi);
		for (w = lo / 64; w <= hi / 64; w++)
			if (s->slots[i].chunk->mapped[w] &
			    sim_store_mask(w, lo, hi))
				return true;
	}
	return false;
}

static int sim_store_reserve(struct sim_store *s, size_t need)
{
	struct sim_slot *n;
	size_t cap;

	if (need <= s->cap)
		return 0;
	cap = s->cap ? s->cap : 16;
	while (cap < need) {
		if (cap > SIZE_MAX / 2 / sizeof(*n))
			return -ENOMEM;
		cap *= 2;
	}
	n = realloc(s->slots, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->slots = n;
	s->cap = cap;
	return 0;
}

/* Shrink the slot array when it is mostly empty; freed entirely at zero. */
static void sim_store_shrink(struct sim_store *s)
{
	struct sim_slot *n;
	size_t cap;

	if (s->nslots == 0) {
		free(s->slots);
		s->slots = NULL;
		s->cap = 0;
		return;
	}
	if (s->cap <= 16 || s->nslots > s->cap / 4)
		return;
	cap = s->cap / 2;
	n = realloc(s->slots, cap * sizeof(*n));
	if (n) {	/* on failure the larger array is still valid */
		s->slots = n;
		s->cap = cap;
	}
}

/*
 * Make sure every chunk of keys [fkey, lkey] exists. The missing ones are
 * allocated first, so a failure leaves the store untouched; then the slot
 * array is merged from the back in one pass.
 */
static int sim_store_fill(struct sim_store *s, uint64_t fkey, uint64_t lkey)
{
	size_t pos = sim_store_lower(s, fkey);
	size_t end = sim_store_lower(s, lkey + 1);
	uint64_t span = lkey - fkey + 1;
	struct sim_chunk **fresh;
	size_t missing, i, r, w;
	uint64_t key;
	int ret;

	if (span > SIZE_MAX / sizeof(*fresh))
		return -ENOMEM;
	missing = (size_t)span - (end - pos);
	if (!missing)
		return 0;
	if (s->nslots > SIZE_MAX - missing)
		return -ENOMEM;
	ret = sim_store_reserve(s, s->nslots + missing);
	if (ret)
		return ret;
	fresh = malloc(missing * sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	for (i = 0; i < missing; i++) {
		fresh[i] = calloc(1, sizeof(**fresh));
		if (!fresh[i]) {
			while (i--)
				free(fresh[i]);
			free(fresh);
			return -ENOMEM;
		}
	}

	memmove(&s->slots[end + missing], &s->slots[end],
		(s->nslots - end) * sizeof(s->slots[0]));
	r = end;		/* one past the last existing slot to place */
	w = end + missing;	/* one past the last slot to write */
	i = missing;
	for (key = lkey + 1; key-- > fkey;) {
		w--;
		if (r > pos && s->slots[r - 1].key == key) {
			s->slots[w] = s->slots[--r];
		} else {
			s->slots[w].key = key;
			s->slots[w].chunk = fresh[--i];
		}
	}
	s->nslots += missing;
	free(fresh);
	return 0;
}

int sim_store_map(struct sim_store *s, uint64_t pfn, uint64_t npages)
{
	uint64_t last, fkey, lkey;
	struct sim_chunk *c;
	unsigned int lo, hi, w;
	size_t i;
	int ret;

	if (!sim_store_range_ok(pfn, npages))
		return -EINVAL;
	last = pfn + npages - 1;
	if (sim_store_any_mapped(s, pfn, last))
		return -EEXIST;
	if (npages > s->max_pages - s->mapped_pages)
		return -ENOSPC;
	fkey = pfn / SIM_STORE_CHUNK_PAGES;
	lkey = last / SIM_STORE_CHUNK_PAGES;
	ret = sim_store_fill(s, fkey, lkey);
	if (ret)
		return ret;

	/* Every chunk of the range now exists, in consecutive slots. */
	i = sim_store_lower(s, fkey);
	for (; i < s->nslots && s->slots[i].key <= lkey; i++) {
		c = s->slots[i].chunk;
		sim_store_clip(s->slots[i].key, pfn, last, &lo, &hi);
		for (w = lo / 64; w <= hi / 64; w++)
			c->mapped[w] |= sim_store_mask(w, lo, hi);
		c->npages += hi - lo + 1;
	}
	c = sim_store_find(s, fkey);
	lo = pfn % SIM_STORE_CHUNK_PAGES;
	c->start[lo / 64] |= 1ull << (lo % 64);
	s->extents++;
	s->mapped_pages += npages;
	return 0;
}

/* Give page @pfn a start bit if it is mapped without one. */
static void sim_store_mark_head(struct sim_store *s, uint64_t pfn)
{
	struct sim_chunk *c = sim_store_find(s, pfn / SIM_STORE_CHUNK_PAGES);
	unsigned int bit = pfn % SIM_STORE_CHUNK_PAGES;
	uint64_t m = 1ull << (bit % 64);

	if (c && (c->mapped[bit / 64] & m) && !(c->start[bit / 64] & m)) {
		c->start[bit / 64] |= m;
		s->extents++;
	}
}

int sim_store_unmap(struct sim_store *s, uint64_t pfn, uint64_t npages,
		    uint64_t *done)
{
	uint64_t last, lkey, cleared = 0, starts = 0;
	size_t i, w, end;
	unsigned int lo, hi, k;

	*done = 0;
	if (!sim_store_range_ok(pfn, npages))
		return -EINVAL;
	last = pfn + npages - 1;
	lkey = last / SIM_STORE_CHUNK_PAGES;
	i = sim_store_lower(s, pfn / SIM_STORE_CHUNK_PAGES);

	/* Clear, and compact away chunks that became empty, in one walk. */
	for (w = i; i < s->nslots && s->slots[i].key <= lkey; i++) {
		struct sim_chunk *c = s->slots[i].chunk;
		unsigned int n = 0;

		sim_store_clip(s->slots[i].key, pfn, last, &lo, &hi);
		for (k = lo / 64; k <= hi / 64; k++) {
			uint64_t m = sim_store_mask(k, lo, hi);

			n += __builtin_popcountll(c->mapped[k] & m);
			starts += __builtin_popcountll(c->start[k] & m);
			c->mapped[k] &= ~m;
			c->start[k] &= ~m;
		}
		c->npages -= n;
		cleared += n;
		if (c->npages)
			s->slots[w++] = s->slots[i];
		else
			free(c);
	}
	end = i;
	if (w != end) {
		memmove(&s->slots[w], &s->slots[end],
			(s->nslots - end) * sizeof(s->slots[0]));
		s->nslots -= end - w;
	}
	s->extents -= starts;
	s->mapped_pages -= cleared;
	if (last + 1 < SIM_STORE_PFN_LIMIT)
		sim_store_mark_head(s, last + 1);
	sim_store_shrink(s);
	*done = cleared;
	return 0;
}

unsigned int sim_store_page(const struct sim_store *s, uint64_t pfn)
{
	const struct sim_chunk *c;
	unsigned int bit, st = 0;
	uint64_t m;

	if (pfn >= SIM_STORE_PFN_LIMIT)
		return 0;
	c = sim_store_find(s, pfn / SIM_STORE_CHUNK_PAGES);
	if (!c)
		return 0;
	bit = pfn % SIM_STORE_CHUNK_PAGES;
	m = 1ull << (bit % 64);
	if (c->mapped[bit / 64] & m)
		st |= SIM_PAGE_MAPPED;
	if (c->start[bit / 64] & m)
		st |= SIM_PAGE_START;
	return st;
}

/*
 * xa_nodes an xarray indexed by chunk number would hold for these keys: at
 * each level, one node per distinct key >> (6 * level), up to the single
 * root whose range covers the largest key. A lone entry at index 0 lives in
 * xa_head with no node at all.
 */
static uint64_t sim_store_xa_nodes(const struct sim_store *s)
{
	uint64_t nodes = 0, maxkey;
	unsigned int shift = 0;
	size_t i;

	if (s->nslots == 0)
		return 0;
	maxkey = s->slots[s->nslots - 1].key;
	if (maxkey == 0)
		return 0;
	do {
		shift += XA_SHIFT;
		nodes++;
		for (i = 1; i < s->nslots; i++)
			if ((s->slots[i].key >> shift) !=
			    (s->slots[i - 1].key >> shift))
				nodes++;
	} while (shift < 64 && (maxkey >> shift) != 0);
	return nodes;
}

void sim_store_usage(const struct sim_store *s, struct sim_store_usage *u)
{
	u->mapped_pages = s->mapped_pages;
	u->extents = s->extents;
	u->chunks = s->nslots;
	u->bytes_self = sizeof(*s) + s->cap * sizeof(struct sim_slot) +
			s->nslots * sizeof(struct sim_chunk);
	u->bytes_v3 = s->nslots * (uint64_t)SIM_V3_CHUNK_BYTES +
		      sim_store_xa_nodes(s) * SIM_V3_XA_NODE_BYTES;
}
