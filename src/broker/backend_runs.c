// SPDX-License-Identifier: BSD-3-Clause
/*
 * Run store and run splitting for the type1 and iommufd backends (see
 * backend_runs.h for the structure).
 *
 * Invariants: runs never overlap; chunks are never empty; any two
 * neighbouring chunks hold more than BACKEND_RUNS_MERGE runs together;
 * runs are sorted by IOVA across the chunk index, so both a run's first
 * and its last address grow with its position and a binary search on
 * either is valid.
 *
 * Map reserves every entry in the store before it calls the kernel, which
 * both detects EEXIST (against mapped runs and earlier entries of the batch)
 * without a syscall and means a successful kernel call can never be followed
 * by a failed allocation.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backend_runs.h"
#include "common/log.h"

struct backend_runs_chunk {
	uint32_t n;
	struct backend_run r[BACKEND_RUNS_CHUNK];
};

struct backend_runs {
	struct backend_runs_chunk **c;
	size_t nc;
	size_t cap;
	size_t nruns;
	uint64_t npages;
};

static uint64_t backend_runs_last(const struct backend_run *r)
{
	return r->iova + (r->npages << VB_PAGE_SHIFT) - 1;
}

struct backend_runs *backend_runs_new(void)
{
	return calloc(1, sizeof(struct backend_runs));
}

void backend_runs_free(struct backend_runs *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->nc; i++)
		free(rs->c[i]);
	free(rs->c);
	free(rs);
}

size_t backend_runs_count(const struct backend_runs *rs)
{
	return rs->nruns;
}

uint64_t backend_runs_pages(const struct backend_runs *rs)
{
	return rs->npages;
}

size_t backend_runs_bytes(const struct backend_runs *rs)
{
	return sizeof(*rs) + rs->cap * sizeof(rs->c[0]) +
	       rs->nc * sizeof(struct backend_runs_chunk);
}

/* The last chunk whose first run starts at or below @iova, else 0. */
static size_t backend_runs_chunk_for(const struct backend_runs *rs,
				     uint64_t iova)
{
	size_t lo = 0, hi = rs->nc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->c[mid]->r[0].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/*
 * The first run of @ch whose last address (@by_last) or first address is
 * at or above @iova; ch->n if none is.
 */
static size_t backend_runs_search(const struct backend_runs_chunk *ch,
				  uint64_t iova, bool by_last)
{
	size_t lo = 0, hi = ch->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t key = by_last ? backend_runs_last(&ch->r[mid]) :
					 ch->r[mid].iova;

		if (key < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int backend_runs_find_from(const struct backend_runs *rs, uint64_t iova,
			   struct backend_run *out)
{
	const struct backend_runs_chunk *ch;
	size_t ci, lo;

	if (!rs->nc)
		return -ENOENT;
	ci = backend_runs_chunk_for(rs, iova);
	ch = rs->c[ci];
	lo = backend_runs_search(ch, iova, true);
	if (lo == ch->n) {
		if (++ci == rs->nc)
			return -ENOENT;
		ch = rs->c[ci];
		lo = 0;
	}
	*out = ch->r[lo];
	return 0;
}

int backend_runs_overlaps(const struct backend_runs *rs, uint64_t iova,
			  uint64_t npages)
{
	struct backend_run r;
	uint64_t last = iova + (npages << VB_PAGE_SHIFT) - 1;

	if (backend_runs_find_from(rs, iova, &r))
		return 0;
	return r.iova <= last;
}

static int backend_runs_index_insert(struct backend_runs *rs, size_t at,
				     struct backend_runs_chunk *ch)
{
	if (rs->nc == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct backend_runs_chunk **c;

		c = realloc(rs->c, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		rs->c = c;
		rs->cap = cap;
	}
	memmove(&rs->c[at + 1], &rs->c[at], (rs->nc - at) * sizeof(rs->c[0]));
	rs->c[at] = ch;
	rs->nc++;
	return 0;
}

int backend_runs_insert(struct backend_runs *rs, const struct backend_run *r)
{
	struct backend_runs_chunk *ch;
	size_t ci, pos;

	if (!rs->nc) {
		ch = calloc(1, sizeof(*ch));
		if (!ch)
			return -ENOMEM;
		if (backend_runs_index_insert(rs, 0, ch)) {
			free(ch);
			return -ENOMEM;
		}
	}
	ci = backend_runs_chunk_for(rs, r->iova);
	ch = rs->c[ci];
	for (pos = ch->n; pos && ch->r[pos - 1].iova > r->iova; pos--)
		;
	if (ch->n == BACKEND_RUNS_CHUNK) {
		/*
		 * Runs mapped in rising order (the usual way) go into a new
		 * last chunk and leave the full one full; anything else
		 * splits the chunk in halves.
		 */
		bool append = ci + 1 == rs->nc && pos == ch->n;
		const size_t half = append ? BACKEND_RUNS_CHUNK :
					     BACKEND_RUNS_CHUNK / 2;
		struct backend_runs_chunk *upper = malloc(sizeof(*upper));

		if (!upper)
			return -ENOMEM;
		if (backend_runs_index_insert(rs, ci + 1, upper)) {
			free(upper);
			return -ENOMEM;
		}
		upper->n = BACKEND_RUNS_CHUNK - half;
		memcpy(upper->r, &ch->r[half], upper->n * sizeof(ch->r[0]));
		ch->n = half;
		if (append || pos > half) {
			ch = upper;
			pos -= half;
		}
	}
	memmove(&ch->r[pos + 1], &ch->r[pos], (ch->n - pos) * sizeof(ch->r[0]));
	ch->r[pos] = *r;
	ch->n++;
	rs->nruns++;
	rs->npages += r->npages;
	return 0;
}

/* Free chunk @at and take it out of the index. */
static void backend_runs_index_remove(struct backend_runs *rs, size_t at)
{
	free(rs->c[at]);
	rs->nc--;
	memmove(&rs->c[at], &rs->c[at + 1], (rs->nc - at) * sizeof(rs->c[0]));
}

/* Append chunk @ci + 1 to chunk @ci. */
static void backend_runs_merge(struct backend_runs *rs, size_t ci)
{
	struct backend_runs_chunk *ch = rs->c[ci], *next = rs->c[ci + 1];

	memcpy(&ch->r[ch->n], next->r, next->n * sizeof(next->r[0]));
	ch->n += next->n;
	backend_runs_index_remove(rs, ci + 1);
}

int backend_runs_remove(struct backend_runs *rs, uint64_t iova)
{
	struct backend_runs_chunk *ch;
	size_t ci, lo;

	if (!rs->nc)
		return -ENOENT;
	ci = backend_runs_chunk_for(rs, iova);
	ch = rs->c[ci];
	lo = backend_runs_search(ch, iova, false);
	if (lo == ch->n || ch->r[lo].iova != iova)
		return -ENOENT;
	rs->nruns--;
	rs->npages -= ch->r[lo].npages;
	ch->n--;
	memmove(&ch->r[lo], &ch->r[lo + 1], (ch->n - lo) * sizeof(ch->r[0]));
	if (!ch->n) {
		backend_runs_index_remove(rs, ci);
		return 0;
	}
	/*
	 * Keep any two neighbouring chunks above BACKEND_RUNS_MERGE runs
	 * together, so that a client cannot leave a chunk per run it keeps
	 * (map many, unmap all but one of each chunk's). A split leaves two
	 * halves of 32 and an append a full chunk beside the new one, both
	 * above it, so no insert undoes a merge at once.
	 */
	if (ci + 1 < rs->nc && ch->n + rs->c[ci + 1]->n <= BACKEND_RUNS_MERGE)
		backend_runs_merge(rs, ci);
	else if (ci && rs->c[ci - 1]->n + ch->n <= BACKEND_RUNS_MERGE)
		backend_runs_merge(rs, ci - 1);
	return 0;
}

int backend_runs_each(const struct backend_runs *rs,
		      int (*fn)(void *arg, const struct backend_run *r),
		      void *arg)
{
	size_t ci, i;
	int ret;

	for (ci = 0; ci < rs->nc; ci++)
		for (i = 0; i < rs->c[ci]->n; i++) {
			ret = fn(arg, &rs->c[ci]->r[i]);
			if (ret)
				return ret;
		}
	return 0;
}

static void backend_runs_from_entry(struct backend_run *r,
				    const struct backend_map_entry *e)
{
	r->iova = e->iova;
	r->vaddr = e->vaddr;
	r->npages = e->npages;
	r->prot = e->prot;
	r->pad = 0;
}

/* Take back entries [0, n) of a batch: kernel runs first if @mapped. */
static void backend_runs_map_undo(struct backend_runs *rs,
				  const struct backend_runs_kernel *k,
				  const struct backend_map_entry *e, size_t n,
				  size_t mapped)
{
	struct backend_run r;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (i < mapped) {
			backend_runs_from_entry(&r, &e[i]);
			ret = k->unmap_run(k->ctx, &r);
			if (ret) {
				/* Still in the kernel: keep it recorded. */
				log_err("rollback of iova 0x%llx (%llu pages) failed: %d",
					(unsigned long long)r.iova,
					(unsigned long long)r.npages, ret);
				continue;
			}
		}
		backend_runs_remove(rs, e[i].iova);
	}
}

int backend_runs_map(struct backend_runs *rs,
		     const struct backend_runs_kernel *k,
		     const struct backend_map_entry *e, size_t n,
		     struct backend_result *res)
{
	struct backend_run r;
	uint64_t pages = 0;
	size_t i;
	int ret = 0;

	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	for (i = 0; i < n; i++) {
		if (backend_runs_overlaps(rs, e[i].iova, e[i].npages)) {
			ret = -EEXIST;
			break;
		}
		backend_runs_from_entry(&r, &e[i]);
		ret = backend_runs_insert(rs, &r);
		if (ret)
			break;
	}
	if (ret) {
		backend_runs_map_undo(rs, k, e, i, 0);
		res->failed_index = i;
		return ret;
	}
	for (i = 0; i < n; i++) {
		backend_runs_from_entry(&r, &e[i]);
		ret = k->map_run(k->ctx, &r);
		if (ret) {
			backend_runs_map_undo(rs, k, e, n, i);
			res->failed_index = i;
			return ret;
		}
		pages += e[i].npages;
	}
	res->pages_done = pages;
	return 0;
}

/*
 * Map one run and record it. It is recorded first so a failed allocation
 * cannot leave an unrecorded mapping.
 */
static int backend_runs_put(struct backend_runs *rs,
			    const struct backend_runs_kernel *k,
			    const struct backend_run *r)
{
	int ret = backend_runs_insert(rs, r);

	if (!ret) {
		ret = k->map_run(k->ctx, r);
		if (ret)
			backend_runs_remove(rs, r->iova);
	}
	return ret;
}

/* A remainder that could be neither re-mapped nor restored: its pages. */
static uint64_t backend_runs_lost(const struct backend_run *r, int err)
{
	log_err("re-map of the remainder iova 0x%llx (%llu pages) of a split run failed: %d; those pages are now unmapped",
		(unsigned long long)r->iova, (unsigned long long)r->npages,
		err);
	return r->npages;
}

/*
 * Unmap [first, last] from one run @r, re-mapping what lies outside. Not
 * atomic for what stays: between the unmap of @r and the re-map, a device
 * touching the head or tail faults (type1 and iommufd cannot cut a
 * mapping in place). A
 * middle unmap needs one mapping more than it frees (head and tail), which
 * type1 refuses at its dma_entry_limit: then the head comes off again and
 * the whole run goes back into the two slots that frees, so the unmap
 * fails with nothing lost and @r mapped as before. Should @r not go back
 * either, the remainders are lost: unmapped, and counted in *@lost.
 */
static int backend_runs_unmap_part(struct backend_runs *rs,
				   const struct backend_runs_kernel *k,
				   const struct backend_run *r, uint64_t first,
				   uint64_t last, uint64_t *lost)
{
	uint64_t r_last = backend_runs_last(r);
	struct backend_run head = *r, tail = *r;
	bool has_head = r->iova < first, has_tail = r_last > last;
	int ret;

	ret = k->unmap_run(k->ctx, r);
	if (ret)
		return ret;
	backend_runs_remove(rs, r->iova);
	head.npages = (first - r->iova) >> VB_PAGE_SHIFT;
	tail.iova = last + 1;
	tail.vaddr = r->vaddr + (last + 1 - r->iova);
	tail.npages = (r_last - last) >> VB_PAGE_SHIFT;
	if (has_head) {
		ret = backend_runs_put(rs, k, &head);
		if (ret) {
			/* nothing of @r is mapped: all of it can go back */
			if (backend_runs_put(rs, k, r)) {
				*lost += backend_runs_lost(&head, ret);
				if (has_tail)
					*lost += backend_runs_lost(&tail, ret);
			}
			return ret;
		}
	}
	if (!has_tail)
		return 0;
	ret = backend_runs_put(rs, k, &tail);
	if (!ret)
		return 0;
	if (has_head && !k->unmap_run(k->ctx, &head)) {
		backend_runs_remove(rs, head.iova);
		/* the head is off again: if @r cannot go back, it is lost too */
		if (!backend_runs_put(rs, k, r))
			return ret;
		*lost += backend_runs_lost(&head, ret);
	} else if (!has_head && !backend_runs_put(rs, k, r)) {
		return ret;
	}
	*lost += backend_runs_lost(&tail, ret);
	return ret;
}

int backend_runs_unmap(struct backend_runs *rs,
		       const struct backend_runs_kernel *k,
		       const struct backend_unmap_entry *e, size_t n,
		       struct backend_result *res)
{
	size_t i;
	int ret = 0;

	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	if (res->entry_pages)
		memset(res->entry_pages, 0, n * sizeof(res->entry_pages[0]));
	for (i = 0; i < n && !ret; i++) {
		uint64_t first = e[i].iova;
		uint64_t last = first + (e[i].npages << VB_PAGE_SHIFT) - 1;
		uint64_t cursor = first, done = 0;
		struct backend_run r;

		while (!backend_runs_find_from(rs, cursor, &r) &&
		       r.iova <= last) {
			uint64_t ov_first = r.iova > first ? r.iova : first;
			uint64_t ov_last = backend_runs_last(&r) < last ?
					   backend_runs_last(&r) : last;
			uint64_t lost = 0;
			int err = backend_runs_unmap_part(rs, k, &r, ov_first,
							  ov_last, &lost);

			/* A failed re-map still unmapped the asked part. */
			if (err && backend_runs_overlaps(rs, ov_first, 1)) {
				ret = err;
				break;
			}
			/* lost remainders count too: the caller's record
			 * must not hold them as mapped */
			done += ((ov_last - ov_first) >> VB_PAGE_SHIFT) + 1 + lost;
			if (err) {
				ret = err;
				break;
			}
			if (ov_last == last)
				break;
			cursor = ov_last + 1;
		}
		res->pages_done += done;
		if (res->entry_pages)
			res->entry_pages[i] = done;
		if (ret)
			res->failed_index = i;
	}
	return ret;
}
