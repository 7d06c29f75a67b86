// SPDX-License-Identifier: BSD-3-Clause
/*
 * Backend conformance cases (see conformance.h). Page numbers in a case are
 * relative to the case's own IOVA slice; vaddrs cycle through env->buf.
 *
 * A case stops at its first failed check and reports it; whatever it left
 * mapped is then unmapped by one whole-slice unmap, so the next case starts
 * from an empty slice of its own regardless.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define CF_PAGE		((uint64_t)VB_PAGE_SIZE)
#define CF_PROT		(VB_PROT_READ | VB_PROT_WRITE)
#define CF_SLICE_PAGES	1024	/* IOVA pages of each small case */

struct cf {
	struct backend *be;
	struct backend_domain *d;
	const struct conformance_env *env;
	uint64_t base;		/* IOVA of the current case's slice */
	uint64_t slice_pages;
	size_t buf_pages;
	bool failed;
	char detail[256];
};

static void cf_fail(struct cf *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cf_fail(struct cf *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return;
	c->failed = true;
	n = snprintf(c->detail, sizeof(c->detail), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(c->detail + n, sizeof(c->detail) - n, fmt, ap);
	va_end(ap);
}

#define CHECK(c, cond, ...)					\
	do {							\
		if (!(cond)) {					\
			cf_fail(c, __LINE__, __VA_ARGS__);	\
			return;					\
		}						\
	} while (0)

#define CHECK_RET(c, got, want, what)					\
	CHECK(c, (got) == (want), "%s returned %d, expected %d", what,	\
	      (int)(got), (int)(want))

static uint64_t cf_iova(struct cf *c, uint64_t page)
{
	return c->base + page * CF_PAGE;
}

static uint64_t cf_vaddr(struct cf *c, uint64_t page)
{
	return (uint64_t)(uintptr_t)c->env->buf +
	       (page % c->buf_pages) * CF_PAGE;
}

static void cf_me(struct cf *c, struct backend_map_entry *e, uint64_t page,
		  uint64_t npages)
{
	e->iova = cf_iova(c, page);
	/* Contiguous vaddrs inside the buffer where the run fits. */
	e->vaddr = cf_vaddr(c, page % c->buf_pages + npages <= c->buf_pages ?
			       page : 0);
	e->npages = npages;
	e->prot = CF_PROT;
}

static int cf_map(struct cf *c, uint64_t page, uint64_t npages,
		  struct backend_result *res)
{
	struct backend_map_entry e;

	cf_me(c, &e, page, npages);
	memset(res, 0, sizeof(*res));
	return c->be->ops->map(c->d, &e, 1, res);
}

static int cf_unmap(struct cf *c, uint64_t page, uint64_t npages,
		    uint64_t *done)
{
	struct backend_unmap_entry e = { cf_iova(c, page), npages };
	struct backend_result res;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = c->be->ops->unmap(c->d, &e, 1, &res);
	*done = res.pages_done;
	return ret;
}

/*
 * Compare pages [0, n) with @model page by page (single-page unmaps, so
 * this empties them), then check nothing is left anywhere in the slice.
 */
static void cf_verify(struct cf *c, const bool *model, uint64_t n)
{
	uint64_t p, done;
	int ret;

	for (p = 0; p < n; p++) {
		ret = cf_unmap(c, p, 1, &done);
		CHECK_RET(c, ret, 0, "verify unmap");
		CHECK(c, done == (model[p] ? 1u : 0u),
		      "page %llu is %s, expected %s", (unsigned long long)p,
		      done ? "mapped" : "not mapped",
		      model[p] ? "mapped" : "not mapped");
	}
	ret = cf_unmap(c, 0, c->slice_pages, &done);
	CHECK_RET(c, ret, 0, "slice unmap");
	CHECK(c, done == 0, "%llu pages mapped outside the checked range",
	      (unsigned long long)done);
}

/* Per-entry unmap counts: exactly @want, holes or not, on every backend. */
static bool cf_entry_pages_ok(const uint64_t *got, const uint64_t *want,
			      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

static void cf_set(bool *model, uint64_t first, uint64_t n, bool v)
{
	while (n--)
		model[first++] = v;
}

/* ---- cases ---- */

static void cf_case_map_unmap(struct cf *c)
{
	struct backend_result res;
	bool model[16] = { false };
	uint64_t done;
	int ret;

	ret = cf_map(c, 0, 4, &res);
	CHECK_RET(c, ret, 0, "map 4 pages");
	CHECK(c, res.pages_done == 4, "map pages_done %llu, expected 4",
	      (unsigned long long)res.pages_done);
	CHECK(c, res.failed_index == VB_NO_INDEX,
	      "failed_index %u after success", res.failed_index);
	ret = cf_unmap(c, 0, 4, &done);
	CHECK_RET(c, ret, 0, "unmap");
	CHECK(c, done == 4, "unmap pages_done %llu, expected 4",
	      (unsigned long long)done);
	ret = cf_unmap(c, 0, 4, &done);
	CHECK_RET(c, ret, 0, "second unmap");
	CHECK(c, done == 0, "second unmap pages_done %llu, expected 0",
	      (unsigned long long)done);
	ret = cf_map(c, 8, 1, &res);
	CHECK_RET(c, ret, 0, "map 1 page");
	model[8] = true;
	cf_verify(c, model, 16);
}

static void cf_case_remap(struct cf *c)
{
	struct backend_result res;
	bool model[16] = { false };
	uint64_t done;
	int i, ret;

	for (i = 0; i < 3; i++) {
		ret = cf_map(c, 2, 8, &res);
		CHECK_RET(c, ret, 0, "map");
		ret = cf_map(c, 2, 8, &res);
		CHECK_RET(c, ret, -EEXIST, "map over itself");
		ret = cf_unmap(c, 2, 8, &done);
		CHECK_RET(c, ret, 0, "unmap");
		CHECK(c, done == 8, "round %d: unmap pages_done %llu", i,
		      (unsigned long long)done);
	}
	ret = cf_map(c, 2, 8, &res);
	CHECK_RET(c, ret, 0, "final map");
	cf_set(model, 2, 8, true);
	cf_verify(c, model, 16);
}

/* A batch of 8 entries of 4 pages at 8-page strides: [8i, 8i + 4). */
static void cf_batch8(struct cf *c, struct backend_map_entry *e)
{
	int i;

	for (i = 0; i < 8; i++)
		cf_me(c, &e[i], 8 * i, 4);
}

static void cf_case_eexist_rollback(struct cf *c)
{
	struct backend_map_entry e[8];
	struct backend_result res;
	bool model[64] = { false };
	uint64_t done, blocker;
	int k, edge, ret;

	cf_batch8(c, e);
	for (k = 0; k < 8; k++) {
		for (edge = 0; edge < 2; edge++) {
			blocker = 8 * k + (edge ? 3 : 0);
			ret = cf_map(c, blocker, 1, &res);
			CHECK_RET(c, ret, 0, "map blocker");
			memset(&res, 0, sizeof(res));
			ret = c->be->ops->map(c->d, e, 8, &res);
			CHECK(c, ret == -EEXIST,
			      "blocker at entry %d: map returned %d, expected -EEXIST",
			      k, ret);
			CHECK(c, res.failed_index == (uint32_t)k,
			      "blocker at entry %d: failed_index %u", k,
			      res.failed_index);
			CHECK(c, res.pages_done == 0,
			      "blocker at entry %d: pages_done %llu", k,
			      (unsigned long long)res.pages_done);
			ret = cf_unmap(c, blocker, 1, &done);
			CHECK(c, !ret && done == 1,
			      "blocker at entry %d: blocker unmap %d/%llu", k,
			      ret, (unsigned long long)done);
			ret = cf_unmap(c, 0, 64, &done);
			CHECK(c, !ret && done == 0,
			      "blocker at entry %d (%s page): %llu pages left mapped after the failed batch",
			      k, edge ? "last" : "first",
			      (unsigned long long)done);
		}
	}
	memset(&res, 0, sizeof(res));
	ret = c->be->ops->map(c->d, e, 8, &res);
	CHECK_RET(c, ret, 0, "unblocked batch");
	CHECK(c, res.pages_done == 32, "unblocked batch pages_done %llu",
	      (unsigned long long)res.pages_done);
	for (k = 0; k < 8; k++)
		cf_set(model, 8 * k, 4, true);
	cf_verify(c, model, 64);
}

static void cf_case_intra_batch_overlap(struct cf *c)
{
	struct backend_map_entry e[8];
	struct backend_result res;
	uint64_t done;
	int k, ret;

	for (k = 1; k < 8; k++) {
		cf_batch8(c, e);
		/* Entry k starts inside entry k - 1's last two pages... */
		cf_me(c, &e[k], 8 * (k - 1) + 2, 4);
		memset(&res, 0, sizeof(res));
		ret = c->be->ops->map(c->d, e, 8, &res);
		CHECK(c, ret == -EEXIST && res.failed_index == (uint32_t)k,
		      "overlap of entry %d with %d: ret %d failed_index %u",
		      k, k - 1, ret, res.failed_index);
		ret = cf_unmap(c, 0, 64, &done);
		CHECK(c, !ret && done == 0,
		      "overlap at entry %d: %llu pages left mapped", k,
		      (unsigned long long)done);
		/* ...and an exact duplicate of entry 0. */
		cf_batch8(c, e);
		e[k] = e[0];
		memset(&res, 0, sizeof(res));
		ret = c->be->ops->map(c->d, e, 8, &res);
		CHECK(c, ret == -EEXIST && res.failed_index == (uint32_t)k,
		      "duplicate at entry %d: ret %d failed_index %u", k, ret,
		      res.failed_index);
		ret = cf_unmap(c, 0, 64, &done);
		CHECK(c, !ret && done == 0,
		      "duplicate at entry %d: %llu pages left mapped", k,
		      (unsigned long long)done);
	}
}

/* Pages {0}, [2,4), {5}, [7,10), {15}: 8 pages with holes between. */
static int cf_map_scattered(struct cf *c, bool *model)
{
	static const uint64_t at[][2] = {
		{ 0, 1 }, { 2, 2 }, { 5, 1 }, { 7, 3 }, { 15, 1 },
	};
	struct backend_map_entry e[5];
	struct backend_result res;
	int i;

	for (i = 0; i < 5; i++) {
		cf_me(c, &e[i], at[i][0], at[i][1]);
		if (model)
			cf_set(model, at[i][0], at[i][1], true);
	}
	memset(&res, 0, sizeof(res));
	return c->be->ops->map(c->d, e, 5, &res);
}

static void cf_case_unmap_holes(struct cf *c)
{
	struct backend_unmap_entry u[4];
	static const uint64_t want4[4] = { 3, 2, 0, 3 }, want2[2] = { 4, 2 };
	uint64_t per[4] = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
	struct backend_result res;
	bool model[32] = { false };
	uint64_t done;
	int ret;

	ret = cf_map_scattered(c, NULL);
	CHECK_RET(c, ret, 0, "scattered map");
	ret = cf_unmap(c, 0, 16, &done);
	CHECK(c, !ret && done == 8, "unmap over holes: ret %d pages_done %llu, expected 8",
	      ret, (unsigned long long)done);

	ret = cf_map_scattered(c, NULL);
	CHECK_RET(c, ret, 0, "scattered map again");
	u[0] = (struct backend_unmap_entry){ cf_iova(c, 0), 4 };  /* 3 */
	u[1] = (struct backend_unmap_entry){ cf_iova(c, 4), 4 };  /* 2 */
	u[2] = (struct backend_unmap_entry){ cf_iova(c, 10), 5 }; /* 0 */
	u[3] = (struct backend_unmap_entry){ cf_iova(c, 8), 8 };  /* 3 */
	memset(&res, 0, sizeof(res));
	res.entry_pages = per;
	ret = c->be->ops->unmap(c->d, u, 4, &res);
	CHECK_RET(c, ret, 0, "batched unmap over holes");
	CHECK(c, res.pages_done == 8, "batched unmap pages_done %llu, expected 8",
	      (unsigned long long)res.pages_done);
	CHECK(c, cf_entry_pages_ok(per, want4, 4),
	      "entry_pages %llu %llu %llu %llu, expected 3 2 0 3",
	      (unsigned long long)per[0], (unsigned long long)per[1],
	      (unsigned long long)per[2], (unsigned long long)per[3]);
	CHECK(c, res.failed_index == VB_NO_INDEX, "failed_index %u",
	      res.failed_index);

	/* Entries overlapping each other: a page counts once, for the first. */
	ret = cf_map(c, 20, 6, &res);
	CHECK_RET(c, ret, 0, "map [20,26)");
	u[0] = (struct backend_unmap_entry){ cf_iova(c, 20), 4 };
	u[1] = (struct backend_unmap_entry){ cf_iova(c, 22), 4 };
	memset(&res, 0, sizeof(res));
	per[0] = per[1] = UINT64_MAX;
	res.entry_pages = per;
	ret = c->be->ops->unmap(c->d, u, 2, &res);
	CHECK(c, !ret && res.pages_done == 6 &&
	      cf_entry_pages_ok(per, want2, 2),
	      "overlapping unmap entries: ret %d pages_done %llu per %llu %llu, expected 6: 4 2",
	      ret, (unsigned long long)res.pages_done,
	      (unsigned long long)per[0], (unsigned long long)per[1]);

	/* No holes: every backend must fill the counts. */
	ret = cf_map(c, 26, 2, &res);
	CHECK_RET(c, ret, 0, "map [26,28)");
	ret = cf_map(c, 29, 3, &res);
	CHECK_RET(c, ret, 0, "map [29,32)");
	u[0] = (struct backend_unmap_entry){ cf_iova(c, 26), 2 };
	u[1] = (struct backend_unmap_entry){ cf_iova(c, 29), 3 };
	memset(&res, 0, sizeof(res));
	per[0] = per[1] = UINT64_MAX;
	res.entry_pages = per;
	ret = c->be->ops->unmap(c->d, u, 2, &res);
	CHECK(c, !ret && res.pages_done == 5 && per[0] == 2 && per[1] == 3,
	      "hole-free unmap entries: ret %d pages_done %llu per %llu %llu, expected 5: 2 3",
	      ret, (unsigned long long)res.pages_done,
	      (unsigned long long)per[0], (unsigned long long)per[1]);
	cf_verify(c, model, 32);
}

static void cf_check_dma(struct cf *c, uint64_t page)
{
	void *va;

	if (!c->env->check_page || c->failed)
		return;
	va = (void *)(uintptr_t)cf_vaddr(c, page);
	CHECK(c, c->env->check_page(c->env->check_ctx, cf_iova(c, page),
				    va) == 0,
	      "DMA to page %llu did not reach its vaddr",
	      (unsigned long long)page);
}

static void cf_case_subrange(struct cf *c)
{
	struct backend_result res;
	bool model[64] = { false };
	uint64_t done;
	int ret;

	ret = cf_map(c, 0, 32, &res);
	CHECK_RET(c, ret, 0, "map [0,32)");
	cf_set(model, 0, 32, true);
	ret = cf_unmap(c, 0, 2, &done);
	CHECK(c, !ret && done == 2, "head unmap: ret %d pages_done %llu",
	      ret, (unsigned long long)done);
	ret = cf_unmap(c, 10, 3, &done);
	CHECK(c, !ret && done == 3, "middle unmap: ret %d pages_done %llu",
	      ret, (unsigned long long)done);
	ret = cf_unmap(c, 29, 3, &done);
	CHECK(c, !ret && done == 3, "tail unmap: ret %d pages_done %llu",
	      ret, (unsigned long long)done);
	cf_check_dma(c, 2);
	cf_check_dma(c, 13);
	cf_check_dma(c, 28);
	if (c->failed)
		return;
	/* The holes take maps again; their neighbours are still there. */
	ret = cf_map(c, 28, 2, &res);
	CHECK(c, ret == -EEXIST && res.failed_index == 0,
	      "map [28,30) over page 28: ret %d failed_index %u", ret,
	      res.failed_index);
	ret = cf_map(c, 0, 2, &res);
	CHECK_RET(c, ret, 0, "re-map head");
	ret = cf_map(c, 10, 3, &res);
	CHECK_RET(c, ret, 0, "re-map middle");
	ret = cf_map(c, 29, 3, &res);
	CHECK_RET(c, ret, 0, "re-map tail");

	/* One unmap cutting into two runs and a hole between them. */
	ret = cf_map(c, 40, 8, &res);
	CHECK_RET(c, ret, 0, "map [40,48)");
	ret = cf_map(c, 50, 8, &res);
	CHECK_RET(c, ret, 0, "map [50,58)");
	ret = cf_unmap(c, 44, 10, &done);
	CHECK(c, !ret && done == 8, "cross-run unmap: ret %d pages_done %llu, expected 8",
	      ret, (unsigned long long)done);
	cf_set(model, 40, 4, true);
	cf_set(model, 54, 4, true);
	cf_check_dma(c, 43);
	cf_check_dma(c, 54);
	if (c->failed)
		return;
	cf_verify(c, model, 64);
}

static void cf_case_pages_done(struct cf *c)
{
	struct backend_result res;
	bool model[16] = { false };
	uint64_t done;
	int ret;

	ret = cf_map(c, 0, 4, &res);
	CHECK_RET(c, ret, 0, "map [0,4)");
	ret = cf_map(c, 8, 4, &res);
	CHECK_RET(c, ret, 0, "map [8,12)");
	ret = cf_unmap(c, 2, 8, &done);
	CHECK(c, !ret && done == 4, "unmap [2,10): ret %d pages_done %llu, expected 4",
	      ret, (unsigned long long)done);
	ret = cf_unmap(c, 2, 8, &done);
	CHECK(c, !ret && done == 0, "unmap [2,10) again: ret %d pages_done %llu, expected 0",
	      ret, (unsigned long long)done);
	ret = cf_unmap(c, 0, 16, &done);
	CHECK(c, !ret && done == 4, "unmap [0,16): ret %d pages_done %llu, expected 4",
	      ret, (unsigned long long)done);
	cf_verify(c, model, 16);
}

static void cf_case_large_batch(struct cf *c)
{
	uint64_t n = c->env->large_pages ? c->env->large_pages : 2048;
	struct backend_map_entry *e = NULL;
	struct backend_unmap_entry *u = NULL;
	struct backend_result res;
	uint64_t i, done, *per = NULL;
	int ret;

	if (2 * n + 2 > c->slice_pages) {
		cf_fail(c, __LINE__, "slice of %llu pages too small for %llu",
			(unsigned long long)c->slice_pages,
			(unsigned long long)n);
		return;
	}
	e = calloc(n, sizeof(*e));
	u = calloc(n, sizeof(*u));
	per = calloc(n, sizeof(*per));
	if (!e || !u || !per) {
		cf_fail(c, __LINE__, "out of memory");
		goto out;
	}
	/* Every other page: n runs that cannot merge. */
	for (i = 0; i < n; i++)
		cf_me(c, &e[i], 2 * i, 1);
	memset(&res, 0, sizeof(res));
	ret = c->be->ops->map(c->d, e, n, &res);
	if (ret || res.pages_done != n) {
		cf_fail(c, __LINE__, "map of %llu entries: ret %d pages_done %llu",
			(unsigned long long)n, ret,
			(unsigned long long)res.pages_done);
		goto out;
	}
	/* The last entry again, behind n - 1 fresh ones: full rollback. */
	for (i = 0; i + 1 < n; i++)
		cf_me(c, &e[i], 2 * i + 1, 1);
	memset(&res, 0, sizeof(res));
	ret = c->be->ops->map(c->d, e, n, &res);
	if (ret != -EEXIST || res.failed_index != n - 1) {
		cf_fail(c, __LINE__, "late EEXIST: ret %d failed_index %u",
			ret, res.failed_index);
		goto out;
	}
	/* Unmap with n single-page entries, half of them holes. */
	for (i = 0; i < n; i++)
		u[i] = (struct backend_unmap_entry){ cf_iova(c, i), 1 };
	memset(&res, 0, sizeof(res));
	for (i = 0; i < n; i++)
		per[i] = UINT64_MAX;
	res.entry_pages = per;
	ret = c->be->ops->unmap(c->d, u, n, &res);
	if (ret || res.pages_done != (n + 1) / 2) {
		cf_fail(c, __LINE__, "unmap of %llu entries: ret %d pages_done %llu, expected %llu",
			(unsigned long long)n, ret,
			(unsigned long long)res.pages_done,
			(unsigned long long)(n + 1) / 2);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (per[i] != (i % 2 ? 0u : 1u)) {
			cf_fail(c, __LINE__, "entry_pages[%llu] = %llu",
				(unsigned long long)i,
				(unsigned long long)per[i]);
			goto out;
		}
	/* The rest in one entry across all of it. */
	ret = cf_unmap(c, 0, 2 * n, &done);
	if (ret || done != n - (n + 1) / 2)
		cf_fail(c, __LINE__, "span unmap: ret %d pages_done %llu, expected %llu",
			ret, (unsigned long long)done,
			(unsigned long long)(n - (n + 1) / 2));
out:
	free(e);
	free(u);
	free(per);
}

static void cf_case_usage(struct cf *c)
{
	struct backend_usage before, after, end;
	struct backend_result res;
	bool model[16] = { false };
	int ret;

	if (!c->be->ops->usage) {
		cf_fail(c, __LINE__, "backend has no usage op");
		return;
	}
	c->be->ops->usage(c->d, &before);
	ret = cf_map(c, 0, 3, &res);
	CHECK_RET(c, ret, 0, "map 3");
	ret = cf_map(c, 8, 2, &res);
	CHECK_RET(c, ret, 0, "map 2");
	c->be->ops->usage(c->d, &after);
	CHECK(c, after.mapped_pages == before.mapped_pages + 5,
	      "usage mapped_pages %llu -> %llu, expected +5",
	      (unsigned long long)before.mapped_pages,
	      (unsigned long long)after.mapped_pages);
	CHECK(c, after.bytes_self >= before.bytes_self,
	      "bytes_self shrank while mapping: %llu -> %llu",
	      (unsigned long long)before.bytes_self,
	      (unsigned long long)after.bytes_self);
	cf_set(model, 0, 3, true);
	cf_set(model, 8, 2, true);
	cf_verify(c, model, 16);
	if (c->failed)
		return;
	c->be->ops->usage(c->d, &end);
	CHECK(c, end.mapped_pages == before.mapped_pages,
	      "usage mapped_pages %llu after unmapping all, expected %llu",
	      (unsigned long long)end.mapped_pages,
	      (unsigned long long)before.mapped_pages);
}

struct cf_case {
	const char *name;
	void (*fn)(struct cf *c);
	bool large;	/* gets what the small slices leave of the window */
};

static const struct cf_case cf_cases[] = {
	{ "map_unmap", cf_case_map_unmap },
	{ "remap_after_unmap", cf_case_remap },
	{ "eexist_rollback_each_position", cf_case_eexist_rollback },
	{ "intra_batch_overlap", cf_case_intra_batch_overlap },
	{ "unmap_holes_entry_pages", cf_case_unmap_holes },
	{ "subrange_head_middle_tail", cf_case_subrange },
	{ "pages_done_exact", cf_case_pages_done },
	{ "large_batch", cf_case_large_batch, true },
	{ "usage_counts", cf_case_usage },
};

#define CF_NCASES (sizeof(cf_cases) / sizeof(cf_cases[0]))

int conformance_run(struct backend *be, struct backend_domain *d,
		    const struct conformance_env *env)
{
	FILE *out = env->out ? env->out : stdout;
	const char *name = env->name ? env->name : be->ops->name;
	uint64_t base = env->iova_base, large_slice, slice;
	int failures = 0;
	size_t i;

	if ((env->iova_base | env->iova_size) & (CF_PAGE - 1) ||
	    env->iova_size < 64ull << 20 || env->buf_size < 64 * CF_PAGE ||
	    (uintptr_t)env->buf & (CF_PAGE - 1)) {
		fprintf(out, "RESULT %s/env FAIL unusable environment\n", name);
		fflush(out);
		return -EINVAL;
	}
	large_slice = env->iova_size / CF_PAGE - (CF_NCASES - 1) * CF_SLICE_PAGES;
	for (i = 0; i < CF_NCASES; i++) {
		struct cf c = {
			.be = be,
			.d = d,
			.env = env,
			.base = base,
			.buf_pages = env->buf_size / CF_PAGE,
		};
		uint64_t left = 0;

		slice = cf_cases[i].large ? large_slice : CF_SLICE_PAGES;
		c.slice_pages = slice;
		base += slice * CF_PAGE;

		cf_cases[i].fn(&c);
		if (c.failed) {
			/* Clean the slice for whoever comes next. */
			cf_unmap(&c, 0, slice, &left);
			failures++;
			fprintf(out, "RESULT %s/%s FAIL %s\n", name,
				cf_cases[i].name, c.detail);
		} else {
			fprintf(out, "RESULT %s/%s PASS\n", name,
				cf_cases[i].name);
		}
		fflush(out);
	}
	return failures;
}
