// SPDX-License-Identifier: BSD-3-Clause
/*
 * Host runner for the run-splitting engine (backend_runs.c) that the type1
 * and iommufd backends stand on: the conformance suite against it over a
 * fake kernel as strict as type1. The fake keeps its own list of mappings,
 * refuses overlaps (EEXIST), refuses any unmap that is not exactly one
 * whole mapping (type1 and iommufd cannot split), can run out of entries
 * (ENOSPC, like dma_entry_limit), and answers check_page from its own
 * record, so a wrong vaddr in a re-mapped remainder is caught.
 *
 * Before the suite, the store alone: random inserts and removes in random
 * order against a flat model, so chunk splits and frees in every position
 * are checked by find_from/overlaps/count.
 *
 * After the suite, the dma_entry_limit case: a middle unmap needs one more
 * mapping than it frees; at the limit the unmap reports ENOSPC with no
 * page unmapped, the whole run is mapped again as it was (same vaddr), and
 * the record still equals the fake kernel's list. An unmap of the run's
 * head, which needs no extra mapping, still works at the limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backend_runs.h"
#include "conformance.h"

struct fake_map {
	uint64_t iova, size, vaddr;
	uint32_t prot;
};

struct backend_domain {
	struct backend_runs *runs;
	struct backend_runs_kernel kernel;
	struct fake_map *maps;
	size_t n, cap, limit;
	unsigned long bad_unmaps;
	int fail_maps;		/* every map fails with ENOMEM */
};

static int fake_map_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	uint64_t size = r->npages * VB_PAGE_SIZE;
	size_t i;

	if (d->fail_maps)
		return -ENOMEM;
	for (i = 0; i < d->n; i++)
		if (r->iova < d->maps[i].iova + d->maps[i].size &&
		    d->maps[i].iova < r->iova + size)
			return -EEXIST;
	if (d->n == d->limit)
		return -ENOSPC;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct fake_map *m = realloc(d->maps, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		d->maps = m;
		d->cap = cap;
	}
	d->maps[d->n++] = (struct fake_map){ r->iova, size, r->vaddr, r->prot };
	return 0;
}

static int fake_unmap_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->maps[i].iova == r->iova &&
		    d->maps[i].size == r->npages * VB_PAGE_SIZE) {
			d->maps[i] = d->maps[--d->n];
			return 0;
		}
	d->bad_unmaps++;
	return -EINVAL;
}

static int fake_check_page(void *ctx, uint64_t iova, void *vaddr)
{
	struct backend_domain *d = ctx;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (iova >= d->maps[i].iova &&
		    iova - d->maps[i].iova < d->maps[i].size)
			return d->maps[i].vaddr + (iova - d->maps[i].iova) ==
			       (uint64_t)(uintptr_t)vaddr ? 0 : -1;
	return -1;
}

static int fake_domain_open(struct backend *be, uint32_t id,
			    struct backend_domain **out)
{
	struct backend_domain *d = calloc(1, sizeof(*d));

	(void)be;
	(void)id;
	if (!d || !(d->runs = backend_runs_new())) {
		free(d);
		return -ENOMEM;
	}
	d->kernel = (struct backend_runs_kernel){ fake_map_run,
						   fake_unmap_run, d };
	d->limit = SIZE_MAX;
	*out = d;
	return 0;
}

static void fake_domain_close(struct backend_domain *d)
{
	backend_runs_free(d->runs);
	free(d->maps);
	free(d);
}

static int fake_map(struct backend_domain *d,
		    const struct backend_map_entry *e, size_t n,
		    struct backend_result *res)
{
	return backend_runs_map(d->runs, &d->kernel, e, n, res);
}

static int fake_unmap(struct backend_domain *d,
		      const struct backend_unmap_entry *e, size_t n,
		      struct backend_result *res)
{
	return backend_runs_unmap(d->runs, &d->kernel, e, n, res);
}

static void fake_usage(struct backend_domain *d, struct backend_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->mapped_pages = backend_runs_pages(d->runs);
	u->extents = backend_runs_count(d->runs);
}

static const struct backend_ops fake_ops = {
	.name = "runs",
	.domain_open = fake_domain_open,
	.domain_close = fake_domain_close,
	.map = fake_map,
	.unmap = fake_unmap,
	.usage = fake_usage,
};

/* Every recorded run is exactly one fake-kernel mapping, and vice versa. */
static int record_matches_kernel(struct backend_domain *d)
{
	size_t i, found = 0;
	struct backend_run r;
	uint64_t at = 0;

	while (!backend_runs_find_from(d->runs, at, &r)) {
		for (i = 0; i < d->n; i++)
			if (d->maps[i].iova == r.iova &&
			    d->maps[i].size == r.npages * VB_PAGE_SIZE &&
			    d->maps[i].vaddr == r.vaddr &&
			    d->maps[i].prot == r.prot)
				break;
		if (i == d->n)
			return 0;
		found++;
		at = r.iova + r.npages * VB_PAGE_SIZE;
	}
	return found == d->n && found == backend_runs_count(d->runs);
}

static int entry_limit_case(struct backend *be, void *buf)
{
	struct backend_map_entry m[2] = {
		{ 0x100000, (uintptr_t)buf, 16, VB_PROT_READ },
		{ 0x200000, (uintptr_t)buf, 1, VB_PROT_READ },
	};
	struct backend_unmap_entry u = { 0x100000 + 4 * VB_PAGE_SIZE, 2 };
	struct backend_domain *d;
	struct backend_result res = { 0 };
	struct backend_run r;
	int ret, ret2, ok;

	if (be->ops->domain_open(be, 2, &d))
		return 0;
	d->limit = 2;
	ret = be->ops->map(d, m, 2, &res);
	ok = !ret && res.pages_done == 17;
	/* At the limit: the third entry of a batch fails, nothing stays. */
	m[0].iova = 0x300000;
	ret = be->ops->map(d, m, 1, &res);
	ok = ok && ret == -ENOSPC && res.failed_index == 0 &&
	     d->n == 2 && record_matches_kernel(d);
	/* Middle unmap of the 16-page run needs head + tail = one extra:
	 * refused whole, the run back as it was. */
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	ok = ok && ret == -ENOSPC && res.pages_done == 0 && d->n == 2 &&
	     record_matches_kernel(d) && d->bad_unmaps == 0 &&
	     !backend_runs_find_from(d->runs, 0x100000, &r) &&
	     r.iova == 0x100000 && r.npages == 16 &&
	     r.vaddr == (uintptr_t)buf;
	/* The head alone needs no extra mapping: done at the limit. */
	u.iova = 0x100000;
	memset(&res, 0, sizeof(res));
	ret2 = be->ops->unmap(d, &u, 1, &res);
	ok = ok && ret2 == 0 && res.pages_done == 2 && d->n == 2 &&
	     record_matches_kernel(d) && d->bad_unmaps == 0;
	printf("RESULT runs/dma_entry_limit_split %s middle unmap ret %d, head unmap ret %d pages_done %llu, kernel maps %zu record %zu\n",
	       ok ? "PASS" : "FAIL", ret, ret2,
	       (unsigned long long)res.pages_done, d->n,
	       backend_runs_count(d->runs));
	be->ops->domain_close(d);
	return ok;
}

/*
 * A middle unmap whose head can be neither re-mapped nor put back whole
 * (every map fails once the run is off): the remainders are lost, and
 * pages_done counts them with the asked pages, so a caller's count of
 * mapped pages (the broker's pages_current) stays true.
 */
static int lost_remainder_case(struct backend *be, void *buf)
{
	struct backend_map_entry m = { 0x100000, (uintptr_t)buf, 8, VB_PROT_READ };
	struct backend_unmap_entry u = { 0x100000 + 2 * VB_PAGE_SIZE, 3 };
	struct backend_result res = { 0 };
	struct backend_domain *d;
	int ret, ok;

	if (be->ops->domain_open(be, 3, &d))
		return 0;
	ok = !be->ops->map(d, &m, 1, &res) && res.pages_done == 8;
	d->fail_maps = 1;
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	ok = ok && ret == -ENOMEM && res.failed_index == 0 &&
	     res.pages_done == 8 && d->n == 0 &&
	     backend_runs_pages(d->runs) == 0 && record_matches_kernel(d);
	printf("RESULT runs/lost_remainders_counted %s unmap ret %d pages_done %llu (3 asked, 5 lost), kernel maps %zu record %llu\n",
	       ok ? "PASS" : "FAIL", ret, (unsigned long long)res.pages_done,
	       d->n, (unsigned long long)backend_runs_pages(d->runs));
	be->ops->domain_close(d);
	return ok;
}

/* The fake kernel's mapping at @iova has exactly @npages and @prot. */
static int kernel_has(const struct backend_domain *d, uint64_t iova,
		      uint64_t npages, uint32_t prot)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->maps[i].iova == iova)
			return d->maps[i].size == npages * VB_PAGE_SIZE &&
			       d->maps[i].prot == prot;
	return 0;
}

/*
 * The device gets the permission each entry asked for, read-only and
 * write-only alike, and the remainders a middle unmap maps again keep it.
 */
static int prot_case(struct backend *be, void *buf)
{
	struct backend_map_entry m[2] = {
		{ 0x100000, (uintptr_t)buf, 8, VB_PROT_READ },
		{ 0x200000, (uintptr_t)buf, 4, VB_PROT_WRITE },
	};
	struct backend_unmap_entry u = { 0x100000 + 2 * VB_PAGE_SIZE, 3 };
	struct backend_result res = { 0 };
	struct backend_domain *d;
	int ok;

	if (be->ops->domain_open(be, 4, &d))
		return 0;
	ok = !be->ops->map(d, m, 2, &res) &&
	     kernel_has(d, 0x100000, 8, VB_PROT_READ) &&
	     kernel_has(d, 0x200000, 4, VB_PROT_WRITE);
	memset(&res, 0, sizeof(res));
	ok = ok && !be->ops->unmap(d, &u, 1, &res) && res.pages_done == 3 &&
	     kernel_has(d, 0x100000, 2, VB_PROT_READ) &&
	     kernel_has(d, 0x100000 + 5 * VB_PAGE_SIZE, 3, VB_PROT_READ) &&
	     d->n == 3 && record_matches_kernel(d);
	printf("RESULT runs/prot_kept %s read-only and write-only runs, and a split's remainders, mapped as asked\n",
	       ok ? "PASS" : "FAIL");
	be->ops->domain_close(d);
	return ok;
}

/* Slot i of the model is the run [i * 8, i * 8 + len[i]) pages, 0 = none. */
#define STORE_SLOTS	3000

static int store_random_case(void)
{
	static uint8_t len[STORE_SLOTS];
	struct backend_runs *rs = backend_runs_new();
	struct backend_run r;
	uint64_t pages = 0;
	size_t count = 0, i, step;
	unsigned int seed = 12345;
	int ok = rs != NULL;

	memset(len, 0, sizeof(len));
	for (step = 0; ok && step < 60000; step++) {
		i = rand_r(&seed) % STORE_SLOTS;
		if (len[i]) {
			ok = !backend_runs_remove(rs, i * 8 * VB_PAGE_SIZE);
			pages -= len[i];
			count--;
			len[i] = 0;
		} else {
			len[i] = 1 + rand_r(&seed) % 7;
			r = (struct backend_run){ i * 8 * VB_PAGE_SIZE,
						  i * VB_PAGE_SIZE, len[i], 1, 0 };
			ok = !backend_runs_insert(rs, &r);
			pages += len[i];
			count++;
		}
		ok = ok && backend_runs_count(rs) == count &&
		     backend_runs_pages(rs) == pages;
		if (step % 997)
			continue;
		/* Full comparison now and then. */
		for (i = 0; ok && i < STORE_SLOTS; i++) {
			size_t j = i;
			uint64_t at = i * 8 * VB_PAGE_SIZE;
			int found = !backend_runs_find_from(rs, at, &r);

			while (j < STORE_SLOTS && !len[j])
				j++;
			if (j == STORE_SLOTS)
				ok = !found;
			else
				ok = found && r.iova == j * 8 * VB_PAGE_SIZE &&
				     r.npages == len[j] &&
				     r.vaddr == j * VB_PAGE_SIZE;
			ok = ok && backend_runs_overlaps(rs, at + 7 * VB_PAGE_SIZE, 1) == 0 &&
			     backend_runs_overlaps(rs, at, 8) == (len[i] != 0);
		}
	}
	printf("RESULT runs/store_random %s after %zu steps, %zu runs\n",
	       ok ? "PASS" : "FAIL", step, count);
	backend_runs_free(rs);
	return ok;
}

/*
 * The store's own memory stays bounded whatever a client unmaps: 6,400
 * one-page runs mapped in rising order fill their chunks (about 32 B per
 * run; halving each full chunk would leave 64), then all but every 32nd
 * are unmapped, which without merging would leave a 2 KiB chunk per run
 * kept. Then the rest goes, and everything with it.
 */
static int store_sparse_case(void)
{
	const size_t n = 6400, keep = 32;
	struct backend_runs *rs = backend_runs_new();
	size_t i, full = 0, sparse = 0;
	int ok = rs != NULL;

	for (i = 0; ok && i < n; i++) {
		struct backend_run r = { i * VB_PAGE_SIZE, 0, 1, 1, 0 };

		ok = !backend_runs_insert(rs, &r);
	}
	if (ok)
		full = backend_runs_bytes(rs) / n;
	for (i = 0; ok && i < n; i++)
		if (i % keep)
			ok = !backend_runs_remove(rs, i * VB_PAGE_SIZE);
	ok = ok && backend_runs_count(rs) == n / keep;
	if (ok)
		sparse = backend_runs_bytes(rs) / (n / keep);
	ok = ok && full <= 40 && sparse <= 100;
	for (i = 0; ok && i < n; i += keep)
		ok = !backend_runs_remove(rs, i * VB_PAGE_SIZE);
	ok = ok && backend_runs_count(rs) == 0 && backend_runs_pages(rs) == 0;
	printf("RESULT runs/store_sparse %s %zu B per run with %zu runs (at most 40), %zu B per run after keeping 1 in %zu (at most 100)\n",
	       ok ? "PASS" : "FAIL", full, n, sparse, keep);
	backend_runs_free(rs);
	return ok;
}

int main(void)
{
	struct backend be = { .ops = &fake_ops };
	struct conformance_env env = {
		.name = "runs",
		.iova_base = 1ull << 30,
		.iova_size = 256ull << 20,
		.buf_size = 1024 * VB_PAGE_SIZE,
		.large_pages = 4096,
		.check_page = fake_check_page,
	};
	struct backend_domain *d;
	int failed, consistent, store_ok;

	store_ok = store_random_case();
	store_ok = store_sparse_case() && store_ok;
	env.buf = aligned_alloc(VB_PAGE_SIZE, env.buf_size);
	if (!env.buf || fake_domain_open(&be, 1, &d))
		return 2;
	env.check_ctx = d;
	failed = conformance_run(&be, d, &env);
	if (!store_ok)
		failed++;
	consistent = record_matches_kernel(d) && d->n == 0 &&
		     d->bad_unmaps == 0;
	printf("RESULT runs/record_matches_kernel %s (%lu unmaps that would bisect)\n",
	       consistent ? "PASS" : "FAIL", d->bad_unmaps);
	fake_domain_close(d);
	if (!consistent)
		failed++;
	if (!entry_limit_case(&be, env.buf))
		failed++;
	if (!lost_remainder_case(&be, env.buf))
		failed++;
	if (!prot_case(&be, env.buf))
		failed++;
	free(env.buf);
	printf("conformance runs: %d failed\n", failed);
	return failed ? 1 : 0;
}
