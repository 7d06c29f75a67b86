// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim backend tests: the v3 batch semantics through struct backend_ops
 * (all-or-nothing map with rollback at every position, intra-batch overlap,
 * validation before effect on unmap, holes, per-entry pages), 64-bit edge
 * IOVAs, usage() numbers against hand-computed values, and speed.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "broker/backend.h"

#define PG	4096ull
#define TOP	(0ull - PG)	/* the last page of the 64-bit IOVA space */
#define RW	(VB_PROT_READ | VB_PROT_WRITE)

static struct backend *be;
static struct backend_domain *dom;
static struct backend_usage base;

static void usage(struct backend_usage *u)
{
	be->ops->usage(dom, u);
}

static void setup(void)
{
	ck_assert_int_eq(backend_sim_create(&be), 0);
	ck_assert_str_eq(be->ops->name, "sim");
	ck_assert_int_eq(be->ops->domain_open(be, 1, &dom), 0);
	usage(&base);
}

static void teardown(void)
{
	be->ops->domain_close(dom);
	be->ops->destroy(be);
}

static int map(const struct backend_map_entry *e, size_t n,
	       struct backend_result *r)
{
	memset(r, 0xa5, sizeof(*r));
	r->entry_pages = NULL;
	return be->ops->map(dom, e, n, r);
}

static int unmap(const struct backend_unmap_entry *e, size_t n,
		 struct backend_result *r, uint64_t *per_entry)
{
	memset(r, 0xa5, sizeof(*r));
	r->entry_pages = per_entry;
	return be->ops->unmap(dom, e, n, r);
}

/* Unmap the whole IOVA space; returns the pages that were mapped. */
static uint64_t unmap_all(void)
{
	struct backend_unmap_entry e = { 0, 1ull << 52 };
	struct backend_result r;

	ck_assert_int_eq(unmap(&e, 1, &r, NULL), 0);
	return r.pages_done;
}

static void assert_same_usage(const struct backend_usage *a)
{
	struct backend_usage u;

	usage(&u);
	ck_assert_mem_eq(&u, a, sizeof(u));
}

START_TEST(test_lifecycle)
{
	struct backend_domain *d2, *d3;
	struct backend_map_entry e = { 0, 0x1000, 1, RW };
	struct backend_result r = { 0 };
	struct backend_usage u;

	ck_assert_int_eq(base.mapped_pages, 0);
	ck_assert_int_eq(base.extents, 0);
	ck_assert_int_eq(base.bytes_type1, 0);
	ck_assert_int_eq(base.bytes_iommufd, 0);
	ck_assert_int_eq(base.bytes_v3, 0);
	ck_assert_uint_gt(base.bytes_self, 0);

	ck_assert_int_eq(be->ops->domain_open(be, 1, &d2), -EEXIST);
	ck_assert_int_eq(be->ops->domain_open(be, 2, &d2), 0);
	ck_assert_int_eq(be->ops->domain_open(be, 3, &d3), 0);
	/* Domains are separate IOVA spaces. */
	ck_assert_int_eq(be->ops->map(d2, &e, 1, &r), 0);
	ck_assert_int_eq(be->ops->map(d3, &e, 1, &r), 0);
	ck_assert_int_eq(map(&e, 1, &r), 0);
	be->ops->usage(d2, &u);
	ck_assert_uint_eq(u.mapped_pages, 1);
	be->ops->domain_close(d2);
	/* d3 is left open: destroy must reclaim it (ASan would see a leak). */
}
END_TEST

START_TEST(test_map_unmap_basic)
{
	struct backend_map_entry e[3] = {
		{ 0x10000, 0x7f0000000000, 16, VB_PROT_READ },
		{ 0x100000, 0x7f0000100000, 1, VB_PROT_WRITE },
		{ 0x200000, 0x7f0000200000, 512, RW },
	};
	struct backend_unmap_entry u[3] = {
		{ 0x10000, 16 }, { 0x100000, 1 }, { 0x200000, 512 },
	};
	uint64_t per[3] = { 9, 9, 9 };
	struct backend_result r;

	ck_assert_int_eq(map(e, 3, &r), 0);
	ck_assert_uint_eq(r.pages_done, 529);
	ck_assert_uint_eq(r.failed_index, VB_NO_INDEX);
	ck_assert_int_eq(unmap(u, 3, &r, per), 0);
	ck_assert_uint_eq(r.pages_done, 529);
	ck_assert_uint_eq(r.failed_index, VB_NO_INDEX);
	ck_assert_uint_eq(per[0], 16);
	ck_assert_uint_eq(per[1], 1);
	ck_assert_uint_eq(per[2], 512);
	assert_same_usage(&base);
}
END_TEST

/*
 * A batch of 8 entries; a page one entry covers is mapped beforehand. The
 * batch fails at exactly that entry with EEXIST and leaves nothing of its
 * own behind, for every position of the clash and every page of the entry.
 */
START_TEST(test_map_eexist_every_position)
{
	struct backend_map_entry e[8], pre;
	struct backend_usage before;
	struct backend_result r;
	unsigned int k, i, page;

	for (i = 0; i < 8; i++) {
		e[i].iova = (uint64_t)(i * 10) * PG;
		e[i].vaddr = 0x7f0000000000ull + i * 10 * PG;
		e[i].npages = 3;
		e[i].prot = RW;
	}
	for (k = 0; k < 8; k++) {
		for (page = 0; page < 3; page++) {
			pre = e[k];
			pre.iova += page * PG;
			pre.npages = 1;
			ck_assert_int_eq(map(&pre, 1, &r), 0);
			usage(&before);
			ck_assert_int_eq(map(e, 8, &r), -EEXIST);
			ck_assert_uint_eq(r.failed_index, k);
			ck_assert_uint_eq(r.pages_done, 0);
			assert_same_usage(&before);
			/* Only the pre-mapped page is there. */
			ck_assert_uint_eq(unmap_all(), 1);
		}
	}
	assert_same_usage(&base);
}
END_TEST

START_TEST(test_map_intra_batch_overlap)
{
	struct backend_map_entry e[4] = {
		{ 0 * PG, 0, 4, RW },
		{ 10 * PG, 0, 4, RW },
		{ 20 * PG, 0, 4, RW },
		{ 13 * PG, 0, 2, RW },	/* overlaps entry 1's last page */
	};
	struct backend_result r;

	ck_assert_int_eq(map(e, 4, &r), -EEXIST);
	ck_assert_uint_eq(r.failed_index, 3);
	assert_same_usage(&base);

	/* The same range twice in one batch. */
	e[3] = e[0];
	ck_assert_int_eq(map(e, 4, &r), -EEXIST);
	ck_assert_uint_eq(r.failed_index, 3);
	e[1] = e[0];
	ck_assert_int_eq(map(e, 2, &r), -EEXIST);
	ck_assert_uint_eq(r.failed_index, 1);
	assert_same_usage(&base);
}
END_TEST

START_TEST(test_map_invalid_entries)
{
	static const struct backend_map_entry bad[] = {
		{ 0x1001, 0, 1, RW },		/* unaligned */
		{ 0x2000, 0, 0, RW },		/* npages 0 */
		{ TOP, 0, 2, RW },		/* passes 2^64 */
		{ 0x2000, 0, UINT64_MAX, RW },	/* absurd npages */
		{ 0x2000, 0, 1, 0 },		/* no prot */
		{ 0x2000, 0, 1, 4 },		/* unknown prot bit */
	};
	struct backend_map_entry e[3] = {
		{ 0x100000, 0, 8, RW }, { 0x200000, 0, 8, RW },
	};
	struct backend_result r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e[2] = bad[i];
		ck_assert_int_eq(map(e, 3, &r), -EINVAL);
		ck_assert_uint_eq(r.failed_index, 2);
		ck_assert_uint_eq(r.pages_done, 0);
		assert_same_usage(&base);
	}
}
END_TEST

/*
 * Batch size is not limited by the interface (the v3 backend splits above
 * VFIO_TYPE1v3_MAX_BATCH itself); an empty batch does nothing.
 */
START_TEST(test_batch_counts)
{
	static struct backend_map_entry e[65537];
	static struct backend_unmap_entry u[65537];
	struct backend_result r;
	size_t i;

	for (i = 0; i < 65537; i++) {
		e[i].iova = i * PG;
		e[i].npages = 1;
		e[i].prot = RW;
		u[i].iova = i * PG;
		u[i].npages = 1;
	}
	ck_assert_int_eq(map(e, 0, &r), 0);
	ck_assert_uint_eq(r.pages_done, 0);
	ck_assert_uint_eq(r.failed_index, VB_NO_INDEX);
	ck_assert_int_eq(unmap(u, 0, &r, NULL), 0);
	ck_assert_uint_eq(r.pages_done, 0);
	assert_same_usage(&base);
	ck_assert_int_eq(map(e, 65537, &r), 0);
	ck_assert_uint_eq(r.pages_done, 65537);
	/* The last entry of a big batch clashing rolls back all the rest. */
	ck_assert_int_eq(unmap(&u[65536], 1, &r, NULL), 0);
	ck_assert_int_eq(unmap(u, 65536, &r, NULL), 0);
	ck_assert_uint_eq(r.pages_done, 65536);
	assert_same_usage(&base);
	ck_assert_int_eq(map(&e[65536], 1, &r), 0);
	ck_assert_int_eq(map(e, 65537, &r), -EEXIST);
	ck_assert_uint_eq(r.failed_index, 65536);
	ck_assert_uint_eq(unmap_all(), 1);
	assert_same_usage(&base);
}
END_TEST

START_TEST(test_unmap_holes_and_validation)
{
	struct backend_map_entry e[2] = {
		{ 0, 0, 10, RW }, { 100 * PG, 0, 10, RW },
	};
	struct backend_unmap_entry u[4] = {
		{ 5 * PG, 200 },	/* covers a hole, 5 + 10 mapped */
		{ 50 * PG, 5 },		/* all hole */
		{ 0, 5 },		/* the rest of entry 0 */
		{ 0x1800, 1 },		/* unaligned: fails the batch */
	};
	uint64_t per[4] = { 7, 7, 7, 7 };
	struct backend_usage before;
	struct backend_result r;

	ck_assert_int_eq(map(e, 2, &r), 0);
	usage(&before);
	/* One invalid entry: nothing at all is unmapped. */
	ck_assert_int_eq(unmap(u, 4, &r, per), -EINVAL);
	ck_assert_uint_eq(r.failed_index, 3);
	ck_assert_uint_eq(r.pages_done, 0);
	assert_same_usage(&before);
	u[3].iova = TOP;
	u[3].npages = 2;		/* passes 2^64 */
	ck_assert_int_eq(unmap(u, 4, &r, per), -EINVAL);
	ck_assert_uint_eq(r.failed_index, 3);
	u[3].npages = 0;
	ck_assert_int_eq(unmap(u, 4, &r, per), -EINVAL);
	assert_same_usage(&before);

	ck_assert_int_eq(unmap(u, 3, &r, per), 0);
	ck_assert_uint_eq(r.pages_done, 20);
	ck_assert_uint_eq(per[0], 15);
	ck_assert_uint_eq(per[1], 0);
	ck_assert_uint_eq(per[2], 5);
	assert_same_usage(&base);
	/* Unmapping nothing at all is not an error. */
	ck_assert_int_eq(unmap(u, 3, &r, NULL), 0);
	ck_assert_uint_eq(r.pages_done, 0);
}
END_TEST

/* type1-style extents through the interface: head, middle, tail cuts. */
START_TEST(test_subrange_extents)
{
	struct backend_map_entry e = { 0x40000000, 0, 1000, RW };
	struct backend_unmap_entry cut[3] = {
		{ 0x40000000, 100 },			/* head */
		{ 0x40000000 + 400 * PG, 100 },		/* middle */
		{ 0x40000000 + 900 * PG, 100 },		/* tail */
	};
	static const uint64_t want_ext[3] = { 1, 2, 2 };
	struct backend_result r;
	struct backend_usage u;
	unsigned int i;

	ck_assert_int_eq(map(&e, 1, &r), 0);
	usage(&u);
	ck_assert_uint_eq(u.extents, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(unmap(&cut[i], 1, &r, NULL), 0);
		ck_assert_uint_eq(r.pages_done, 100);
		usage(&u);
		ck_assert_uint_eq(u.extents, want_ext[i]);
		ck_assert_uint_eq(u.mapped_pages, 1000 - 100 * (i + 1));
		ck_assert_uint_eq(u.bytes_type1, 96 * want_ext[i]);
		ck_assert_uint_eq(u.bytes_iommufd, 384 * want_ext[i]);
	}
	/* Remapping the middle hole adds an extent; the cut pieces stay. */
	e.iova = 0x40000000 + 400 * PG;
	e.npages = 100;
	ck_assert_int_eq(map(&e, 1, &r), 0);
	usage(&u);
	ck_assert_uint_eq(u.extents, 3);
	ck_assert_uint_eq(unmap_all(), 800);
	assert_same_usage(&base);
}
END_TEST

START_TEST(test_high_iova)
{
	struct backend_map_entry e[2] = {
		{ TOP, 0, 1, RW }, { TOP - 1023 * PG, 0, 1023, RW },
	};
	struct backend_unmap_entry u = { TOP - 511 * PG, 512 };
	struct backend_result r;
	struct backend_usage us;

	ck_assert_int_eq(map(e, 2, &r), 0);
	ck_assert_uint_eq(r.pages_done, 1024);
	usage(&us);
	ck_assert_uint_eq(us.extents, 2);
	ck_assert_int_eq(map(e, 1, &r), -EEXIST);
	ck_assert_uint_eq(r.failed_index, 0);
	ck_assert_int_eq(unmap(&u, 1, &r, NULL), 0);
	ck_assert_uint_eq(r.pages_done, 512);
	usage(&us);
	ck_assert_uint_eq(us.extents, 1);
	ck_assert_uint_eq(us.mapped_pages, 512);
	ck_assert_uint_eq(unmap_all(), 512);
	assert_same_usage(&base);
}
END_TEST

/*
 * Three entries: 512 pages at 0 (chunk 0), 1 page at 1 GiB (chunk 512),
 * 1024 pages at 1 TiB (chunks 2^19, 2^19+1). The xarray over chunk indices
 * has height 4: root, two shift-12 nodes, two shift-6 nodes, three leaves.
 */
START_TEST(test_usage_numbers)
{
	struct backend_map_entry e[3] = {
		{ 0, 0, 512, RW },
		{ 1ull << 30, 0, 1, RW },
		{ 1ull << 40, 0, 1024, RW },
	};
	struct backend_result r;
	struct backend_usage u;

	ck_assert_int_eq(map(e, 3, &r), 0);
	usage(&u);
	ck_assert_uint_eq(u.mapped_pages, 1537);
	ck_assert_uint_eq(u.extents, 3);
	ck_assert_uint_eq(u.bytes_type1, 288);
	ck_assert_uint_eq(u.bytes_iommufd, 1152);
	ck_assert_uint_eq(u.bytes_v3, 4 * 64 + 8 * 576);
	ck_assert_uint_gt(u.bytes_self, base.bytes_self);
	ck_assert_uint_eq(unmap_all(), 1537);
	assert_same_usage(&base);
}
END_TEST

/*
 * CPU time of this process, not wall time: the speed bound must hold on a
 * machine busy with parallel builds and tests without turning flaky.
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#if defined(__SANITIZE_ADDRESS__)
#define SPEED_LIMIT	5.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPEED_LIMIT	5.0
#endif
#endif
#ifndef SPEED_LIMIT
#define SPEED_LIMIT	1.0
#endif

/* A million single pages in 1024 batches of 1024, then unmapped again. */
START_TEST(test_speed)
{
	static struct backend_map_entry e[1024];
	static struct backend_unmap_entry u[1024];
	struct backend_result r;
	struct backend_usage us;
	unsigned int b, i;
	double t0, t1;

	t0 = now();
	for (b = 0; b < 1024; b++) {
		for (i = 0; i < 1024; i++) {
			/* Interleave batches so inserts land mid-array. */
			e[i].iova = ((uint64_t)i * 1024 + (b * 7 % 1024)) * PG;
			e[i].npages = 1;
			e[i].prot = RW;
		}
		ck_assert_int_eq(map(e, 1024, &r), 0);
	}
	t1 = now();
	usage(&us);
	ck_assert_uint_eq(us.mapped_pages, 1024 * 1024);
	ck_assert_uint_eq(us.extents, 1024 * 1024);
	ck_assert_uint_eq(us.bytes_v3, 2048 * 64 + (32 + 1) * 576);
	ck_assert_msg(t1 - t0 < SPEED_LIMIT, "map took %.3f s CPU", t1 - t0);
	for (b = 0; b < 1024; b++) {
		for (i = 0; i < 1024; i++) {
			u[i].iova = ((uint64_t)b * 1024 + i) * PG;
			u[i].npages = 1;
		}
		ck_assert_int_eq(unmap(u, 1024, &r, NULL), 0);
		ck_assert_uint_eq(r.pages_done, 1024);
	}
	t0 = now();
	ck_assert_msg(t0 - t1 < SPEED_LIMIT, "unmap took %.3f s CPU", t0 - t1);
	assert_same_usage(&base);
}
END_TEST

static Suite *backend_sim_suite(void)
{
	Suite *s = suite_create("backend_sim");
	TCase *tc;	/* each gets 60 s: Check's 4 s default flakes under load */

	tc = tcase_create("semantics");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_map_unmap_basic);
	tcase_add_test(tc, test_map_eexist_every_position);
	tcase_add_test(tc, test_map_intra_batch_overlap);
	tcase_add_test(tc, test_map_invalid_entries);
	tcase_add_test(tc, test_batch_counts);
	tcase_add_test(tc, test_unmap_holes_and_validation);
	tcase_add_test(tc, test_subrange_extents);
	tcase_add_test(tc, test_high_iova);
	suite_add_tcase(s, tc);

	tc = tcase_create("accounting");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_usage_numbers);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(backend_sim_suite());
}
