/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coIOMMU pattern: the device touches guest pages in a skewed (zipf-like,
 * s = 1) order; a page is pinned (mapped) on its first access, and when
 * --working-set pages are resident the least recently used one is unpinned.
 * Unpins are collected and sent as one UNMAP of merged page runs when the
 * batch is full, without waiting for the reply; pins are synchronous
 * because the device needs the page now.
 *
 * With --dma-pages N each DMA operation covers 1..N pages (drawn at
 * random), and the ones not resident are pinned with one MAP of one entry
 * per page: coIOMMU's guest driver asks for the pages of a scatter-gather
 * list in one batched pin notification, which a VMM today turns into one
 * type1 map per page. N = 1 is one page per operation, the plain
 * notification.
 *
 * Page p of the accessed set lives at IOVA window + p pages and GPA
 * RAM region 0 + p pages. A page whose unpin is still queued is pinned
 * again only after that batch has been sent and answered, so a map never
 * races its own unmap.
 *
 * Checks: every pin maps exactly one page, every batch unmaps exactly its
 * pages, STATS pages_current equals the resident count at the end, and
 * after unpinning everything it is 0 (unless --keep-mapped leaves the
 * working set pinned).
 */
#include "devproc/devproc.h"
#include "devproc/lru.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* COI_PINNING: collected for the MAP of the operation in progress */
enum { COI_NONE, COI_RESIDENT, COI_PENDING, COI_PINNING };

struct coiommu {
	struct devproc *dp;
	uint64_t iova_base, gpa_base;
	uint32_t npages, cap, batch_max;
	uint32_t dma_max;	/* pages per DMA operation, at most */
	uint32_t *list;		/* the operation's pages */
	struct vb_map_entry *pin;	/* its misses, one entry each */
	struct lru lru;
	uint8_t *state;
	uint32_t *pending;
	uint32_t n_pending;
	uint64_t *cdf;		/* cumulative zipf weights by rank, x 2^40 */
	uint32_t stride;	/* rank -> page scatter, coprime to npages */
	uint64_t hits, misses;
};

struct coi_batch {
	struct devproc *dp;
	uint64_t pages;
};

static uint64_t coi_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int coi_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Integers only: a draw is some 16 compares, where floating point would
 * be a software routine each on an emulated CPU (the VM benchmarks), all
 * of it workload rather than mapping time.
 */
static uint32_t coi_pick(struct coiommu *co, uint64_t *rng)
{
	/* the total is below 2^46: the modulo's bias is below 2^-18 */
	uint64_t u = devproc_rand(rng) % co->cdf[co->npages - 1];
	uint32_t lo = 0, hi = co->npages - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (co->cdf[mid] <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Scatter the hot ranks over the range so they are not adjacent. */
	return (uint32_t)(((uint64_t)lo * co->stride) % co->npages);
}

static void coi_batch_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct coi_batch *b = arg;

	workload_note_unmap(b->dp, r);
	if (r->status || r->pages_done != b->pages)
		workload_fail(b->dp, "unpin batch id %llu: status %d pages_done %llu, expected 0 and %llu",
			      (unsigned long long)id, r->status,
			      (unsigned long long)r->pages_done,
			      (unsigned long long)b->pages);
	free(b);
}

/* Send the queued unpins as merged runs in UNMAP requests. */
static int coi_flush(struct coiommu *co, uint32_t *pages, uint32_t n)
{
	struct devproc *dp = co->dp;
	uint32_t max = dp->info->max_entries;
	struct vb_unmap_entry *e;
	uint32_t ne = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	e = calloc(n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (uint32_t i = 1; i < n; i++) {
		if (pages[i - 1] > pages[i]) {
			qsort(pages, n, sizeof(*pages), coi_cmp_u32);
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (ne && e[ne - 1].iova + e[ne - 1].npages * VB_PAGE_SIZE ==
			  co->iova_base + (uint64_t)pages[i] * VB_PAGE_SIZE) {
			e[ne - 1].npages++;
		} else {
			e[ne].iova = co->iova_base +
				     (uint64_t)pages[i] * VB_PAGE_SIZE;
			e[ne].npages = 1;
			ne++;
		}
		co->state[pages[i]] = COI_NONE;
	}
	for (uint32_t off = 0; off < ne && rc == 0; off += max) {
		uint32_t cnt = ne - off < max ? ne - off : max;
		struct coi_batch *b = calloc(1, sizeof(*b));

		if (!b) {
			rc = -ENOMEM;
			break;
		}
		b->dp = dp;
		for (uint32_t i = 0; i < cnt; i++)
			b->pages += e[off + i].npages;
		rc = workload_submit_unmap(dp, &e[off], cnt, coi_batch_done, b);
		if (rc)
			free(b);
	}
	free(e);
	return rc;
}

/* The page the operation's @i-th pin entry maps. */
static uint32_t coi_pin_page(const struct coiommu *co, uint32_t i)
{
	return (uint32_t)((co->pin[i].iova - co->iova_base) / VB_PAGE_SIZE);
}

/* A page of an operation that ends early was not pinned after all. */
static void coi_pin_abandon(struct coiommu *co, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		co->state[coi_pin_page(co, i)] = COI_NONE;
}

/* Room in the working set for one more page, by unpinning the LRU one. */
static int coi_make_room(struct coiommu *co, uint32_t incoming)
{
	int rc = 0;

	while (co->lru.count && co->lru.count + incoming >= co->cap && !rc) {
		uint32_t victim = lru_pop_tail(&co->lru);

		co->state[victim] = COI_PENDING;
		co->pending[co->n_pending++] = victim;
		if (co->n_pending == co->batch_max) {
			rc = coi_flush(co, co->pending, co->n_pending);
			co->n_pending = 0;
		}
	}
	return rc;
}

/*
 * One DMA operation over the @k pages of co->list: resident pages are
 * hits; the others are pinned together by one synchronous MAP before the
 * device touches any of them. A page whose unpin is still queued is
 * unpinned first (the batch is sent and answered), so a map never races
 * its own unmap. Victims are the least recently used pages, never one this
 * operation has touched: the cap is at least the operation's size.
 */
static int coi_dma(struct coiommu *co, uint32_t k, uint64_t tag)
{
	struct devproc *dp = co->dp;
	struct vb_reply r;
	uint32_t n = 0;
	int rc, lost;

	for (uint32_t i = 0; i < k; i++) {
		uint32_t p = co->list[i];

		if (co->state[p] == COI_RESIDENT) {
			co->hits++;
			lru_touch(&co->lru, p);
			workload_touch(dp, co->gpa_base +
				       (uint64_t)p * VB_PAGE_SIZE, 1, tag);
			continue;
		}
		if (co->state[p] == COI_PINNING)	/* twice in one list */
			continue;
		co->misses++;
		rc = 0;
		if (co->state[p] == COI_PENDING) {
			rc = coi_flush(co, co->pending, co->n_pending);
			co->n_pending = 0;
			if (!rc)
				rc = vb_client_wait(dp->client);
		}
		if (!rc)
			rc = coi_make_room(co, n);
		if (rc) {
			coi_pin_abandon(co, n);
			return rc;
		}
		co->state[p] = COI_PINNING;
		co->pin[n++] = (struct vb_map_entry){
			.iova = co->iova_base + (uint64_t)p * VB_PAGE_SIZE,
			.gpa = co->gpa_base + (uint64_t)p * VB_PAGE_SIZE,
			.npages = 1, .prot = VB_PROT_READ | VB_PROT_WRITE,
		};
	}
	if (n == 0)
		return 0;
	rc = workload_map(dp, co->pin, n, &r);
	lost = workload_lost(rc, &r);
	if (lost) {
		coi_pin_abandon(co, n);
		return lost;
	}
	if (rc || r.pages_done != n)
		workload_fail(dp, "pin of %u page(s) from page %u: status %d pages_done %llu",
			      n, coi_pin_page(co, 0), -rc,
			      (unsigned long long)r.pages_done);
	/* A failed map mapped nothing (all-or-nothing); a successful one
	 * with a wrong count still mapped the pages, so track them. */
	if (rc) {
		coi_pin_abandon(co, n);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = coi_pin_page(co, i);

		co->state[p] = COI_RESIDENT;
		lru_touch(&co->lru, p);
		workload_touch(dp, co->pin[i].gpa, 1, tag);
	}
	return 0;
}

/* Pages of the next operation: 1..dma_max, never more than @left. */
static uint32_t coi_dma_len(struct coiommu *co, uint64_t *rng, uint64_t left)
{
	uint64_t k = 1;

	/* one page per operation draws nothing: the same accesses as ever */
	if (co->dma_max > 1)
		k = 1 + devproc_rand(rng) % co->dma_max;
	return (uint32_t)(k < left ? k : left);
}

static int coi_setup(struct coiommu *co, struct devproc *dp)
{
	const struct vb_client_info *in = dp->info;
	uint64_t n = dp->opts.pages, gsize;
	double sum = 0;
	int rc;

	memset(co, 0, sizeof(*co));
	co->dp = dp;
	rc = workload_gpa_range(dp, &co->gpa_base, &gsize);
	if (rc)
		return rc;
	co->iova_base = in->iova[0].start;
	if (n > in->iova[0].size / VB_PAGE_SIZE)
		n = in->iova[0].size / VB_PAGE_SIZE;
	if (n > gsize / VB_PAGE_SIZE)
		n = gsize / VB_PAGE_SIZE;
	if (n > UINT32_MAX / 2)
		n = UINT32_MAX / 2;
	if (n == 0)
		return -EINVAL;
	co->npages = (uint32_t)n;
	co->cap = dp->opts.working_set < n ? (uint32_t)dp->opts.working_set :
					     co->npages;
	if (co->cap == 0)
		return -EINVAL;
	co->batch_max = in->max_entries < 64 ? in->max_entries : 64;
	co->dma_max = dp->opts.dma_pages ? (uint32_t)dp->opts.dma_pages : 1;
	if (co->dma_max > in->max_entries || co->dma_max > co->cap)
		return -E2BIG;
	co->state = calloc(n, 1);
	co->pending = calloc(co->batch_max, sizeof(*co->pending));
	co->cdf = calloc(n, sizeof(*co->cdf));
	co->list = calloc(co->dma_max, sizeof(*co->list));
	co->pin = calloc(co->dma_max, sizeof(*co->pin));
	if (!co->state || !co->pending || !co->cdf || !co->list || !co->pin ||
	    lru_init(&co->lru, co->npages))
		return -ENOMEM;
	/* H(n) < 23 for n < 2^32, so sums x 2^40 stay below 2^46 */
	for (uint64_t i = 0; i < n; i++) {
		sum += 1.0 / (double)(i + 1);
		co->cdf[i] = (uint64_t)(sum * (double)(1ULL << 40));
	}
	co->stride = (uint32_t)(n * 0.618) | 1;
	while (coi_gcd(co->stride, n) != 1)
		co->stride++;
	return 0;
}

static void coi_teardown(struct coiommu *co)
{
	workload_drain(co->dp);
	lru_free(&co->lru);
	free(co->state);
	free(co->pending);
	free(co->cdf);
	free(co->list);
	free(co->pin);
}

int workload_coiommu_run(struct devproc *dp)
{
	uint64_t rng = dp->opts.seed ? dp->opts.seed : 1;
	struct coiommu co;
	uint32_t *all;
	uint32_t n = 0;
	int rc;

	rc = coi_setup(&co, dp);
	if (rc) {
		workload_fail(dp, "setup: %s (needs guest RAM, --pages and --working-set > 0, --dma-pages at most the working set and max_entries)",
			      strerror(-rc));
		coi_teardown(&co);
		return rc;
	}
	for (uint64_t i = 0; i < dp->opts.iterations && rc == 0;) {
		uint32_t k = coi_dma_len(&co, &rng, dp->opts.iterations - i);

		for (uint32_t j = 0; j < k; j++)
			co.list[j] = coi_pick(&co, &rng);
		rc = coi_dma(&co, k, i);
		i += k;
	}
	if (rc == 0) {
		rc = coi_flush(&co, co.pending, co.n_pending);
		co.n_pending = 0;
	}
	if (rc == 0)
		rc = vb_client_wait(dp->client);
	if (rc) {
		coi_teardown(&co);
		return rc;
	}
	if (!dp->opts.quiet)
		log_info("dev %u: %llu accesses, %llu hits, %llu pins, %u resident",
			 dp->info->device_id,
			 (unsigned long long)dp->opts.iterations,
			 (unsigned long long)co.hits,
			 (unsigned long long)co.misses, co.lru.count);
	if (co.lru.count > co.cap)
		workload_fail(dp, "%u pages resident above the cap %u",
			      co.lru.count, co.cap);
	workload_check_stats(dp, co.lru.count);
	if (dp->opts.keep_mapped) {
		/* The working set stays pinned (for tests that inspect or
		 * kill a client holding mappings); the broker releases it
		 * when the connection ends. */
		coi_teardown(&co);
		return 0;
	}

	all = calloc(co.lru.count ? co.lru.count : 1, sizeof(*all));
	if (!all) {
		coi_teardown(&co);
		return -ENOMEM;
	}
	/* In page order, so coi_flush's sort has nothing to do. */
	for (uint32_t p = 0; p < co.npages; p++) {
		if (co.state[p] == COI_RESIDENT) {
			all[n++] = p;
			lru_remove(&co.lru, p);
		}
	}
	rc = coi_flush(&co, all, n);
	if (rc == 0)
		rc = vb_client_wait(dp->client);
	free(all);
	coi_teardown(&co);
	if (rc)
		return rc;
	workload_check_stats(dp, 0);
	return 0;
}
