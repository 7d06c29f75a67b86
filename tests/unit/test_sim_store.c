// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim_store tests: range primitives, exact type1-style extent counting
 * (checked against hand-worked cases and a naive per-page reference model
 * driven by random operations), 64-bit edge ranges, the v3 memory model
 * against hand-computed xarray shapes, and chunk freeing.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "broker/sim_store.h"

#define LIMIT	SIM_STORE_PFN_LIMIT
#define NODE	SIM_V3_XA_NODE_BYTES
#define CHUNK	SIM_V3_CHUNK_BYTES

static struct sim_store st;
static struct sim_store_usage base;

static void setup(void)
{
	sim_store_init(&st, SIM_STORE_DEFAULT_MAX_PAGES);
	sim_store_usage(&st, &base);
}

static void teardown(void)
{
	sim_store_fini(&st);
}

static struct sim_store_usage use(void)
{
	struct sim_store_usage u;

	sim_store_usage(&st, &u);
	return u;
}

static uint64_t unmap(uint64_t pfn, uint64_t n)
{
	uint64_t done = ~0ull;

	ck_assert_int_eq(sim_store_unmap(&st, pfn, n, &done), 0);
	return done;
}

static void assert_baseline(void)
{
	struct sim_store_usage u = use();

	ck_assert_uint_eq(u.mapped_pages, 0);
	ck_assert_uint_eq(u.extents, 0);
	ck_assert_uint_eq(u.chunks, 0);
	ck_assert_uint_eq(u.bytes_v3, 0);
	ck_assert_uint_eq(u.bytes_self, base.bytes_self);
}

START_TEST(test_empty)
{
	ck_assert_uint_eq(base.bytes_self, sizeof(struct sim_store));
	assert_baseline();
	ck_assert_uint_eq(sim_store_page(&st, 0), 0);
	ck_assert_uint_eq(sim_store_page(&st, LIMIT - 1), 0);
	ck_assert_uint_eq(sim_store_page(&st, LIMIT), 0);
	ck_assert_uint_eq(unmap(0, LIMIT), 0);
	assert_baseline();
}
END_TEST

START_TEST(test_map_basic)
{
	struct sim_store_usage u;
	uint64_t p;

	ck_assert_int_eq(sim_store_map(&st, 100, 1000), 0);
	u = use();
	ck_assert_uint_eq(u.mapped_pages, 1000);
	ck_assert_uint_eq(u.extents, 1);
	ck_assert_uint_eq(u.chunks, 3);		/* pfn 100..1099: chunks 0-2 */
	ck_assert_uint_eq(u.bytes_v3, 3 * CHUNK + 1 * NODE);
	ck_assert_uint_eq(sim_store_page(&st, 99), 0);
	ck_assert_uint_eq(sim_store_page(&st, 100),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	for (p = 101; p < 1100; p++)
		ck_assert_uint_eq(sim_store_page(&st, p), SIM_PAGE_MAPPED);
	ck_assert_uint_eq(sim_store_page(&st, 1100), 0);
	ck_assert_uint_eq(unmap(0, 2000), 1000);
	assert_baseline();
}
END_TEST

START_TEST(test_map_eexist)
{
	static const struct { uint64_t pfn, n; } clash[] = {
		{ 1000, 1 }, { 1099, 1 }, { 999, 2 }, { 1099, 5 },
		{ 990, 200 }, { 1050, 10 }, { 1000, 100 }, { 0, LIMIT },
	};
	struct sim_store_usage before, after;
	unsigned int i;

	ck_assert_int_eq(sim_store_map(&st, 1000, 100), 0);
	before = use();
	for (i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		ck_assert_int_eq(sim_store_map(&st, clash[i].pfn, clash[i].n),
				 -EEXIST);
		after = use();
		ck_assert_mem_eq(&after, &before, sizeof(after));
	}
	/* Touching but not overlapping is fine, and a separate extent. */
	ck_assert_int_eq(sim_store_map(&st, 999, 1), 0);
	ck_assert_int_eq(sim_store_map(&st, 1100, 1), 0);
	ck_assert_uint_eq(use().extents, 3);
	ck_assert_uint_eq(use().mapped_pages, 102);
}
END_TEST

START_TEST(test_bad_ranges)
{
	uint64_t done = 7;

	ck_assert_int_eq(sim_store_map(&st, 0, 0), -EINVAL);
	ck_assert_int_eq(sim_store_map(&st, LIMIT, 1), -EINVAL);
	ck_assert_int_eq(sim_store_map(&st, LIMIT - 1, 2), -EINVAL);
	ck_assert_int_eq(sim_store_map(&st, 1, LIMIT), -EINVAL);
	ck_assert_int_eq(sim_store_map(&st, 1, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(sim_store_map(&st, UINT64_MAX, 1), -EINVAL);
	ck_assert_int_eq(sim_store_unmap(&st, 0, 0, &done), -EINVAL);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(sim_store_unmap(&st, LIMIT - 1, 2, &done), -EINVAL);
	ck_assert_int_eq(sim_store_unmap(&st, UINT64_MAX - 1, 2, &done),
			 -EINVAL);
	assert_baseline();
}
END_TEST

/* One extent [0, 100), cut at head, middle and tail. */
START_TEST(test_extent_splits)
{
	ck_assert_int_eq(sim_store_map(&st, 0, 100), 0);
	ck_assert_uint_eq(unmap(0, 10), 10);		/* head */
	ck_assert_uint_eq(use().extents, 1);
	ck_assert_uint_eq(sim_store_page(&st, 10),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_uint_eq(unmap(50, 10), 10);		/* middle */
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(sim_store_page(&st, 60),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_uint_eq(sim_store_page(&st, 49), SIM_PAGE_MAPPED);
	ck_assert_uint_eq(unmap(90, 10), 10);		/* tail */
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(unmap(0, 60), 40);		/* first piece + hole */
	ck_assert_uint_eq(use().extents, 1);
	ck_assert_uint_eq(use().mapped_pages, 30);
	ck_assert_uint_eq(unmap(61, 28), 28);		/* leaves 60 and 89 */
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(sim_store_page(&st, 89),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_uint_eq(unmap(0, 1000), 2);
	assert_baseline();
}
END_TEST

/* An unmap across two adjacent extents keeps one piece of each. */
START_TEST(test_extent_across_two)
{
	ck_assert_int_eq(sim_store_map(&st, 0, 10), 0);
	ck_assert_int_eq(sim_store_map(&st, 10, 10), 0);
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(unmap(5, 10), 10);
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(sim_store_page(&st, 0),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_uint_eq(sim_store_page(&st, 15),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	/* Whole middle extent of three removed: the third keeps its start. */
	ck_assert_int_eq(sim_store_map(&st, 5, 10), 0);
	ck_assert_int_eq(sim_store_map(&st, 20, 5), 0);
	ck_assert_uint_eq(use().extents, 4);
	ck_assert_uint_eq(unmap(5, 10), 10);
	ck_assert_uint_eq(use().extents, 3);
	ck_assert_uint_eq(unmap(0, 25), 15);
	assert_baseline();
}
END_TEST

/* Splits across chunk boundaries (page 511/512) and word boundaries. */
START_TEST(test_extent_chunk_boundaries)
{
	ck_assert_int_eq(sim_store_map(&st, 0, 2048), 0);
	ck_assert_uint_eq(use().chunks, 4);
	ck_assert_uint_eq(unmap(511, 2), 2);
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(sim_store_page(&st, 513),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_uint_eq(unmap(1024, 512), 512);	/* whole chunk 2 */
	ck_assert_uint_eq(use().chunks, 3);
	ck_assert_uint_eq(use().extents, 3);
	ck_assert_uint_eq(unmap(63, 2), 2);
	ck_assert_uint_eq(use().extents, 4);
	ck_assert_uint_eq(use().mapped_pages, 2048 - 516);
	ck_assert_uint_eq(unmap(0, LIMIT), 2048 - 516);
	assert_baseline();
}
END_TEST

START_TEST(test_high_pfns)
{
	struct sim_store_usage u;

	ck_assert_int_eq(sim_store_map(&st, LIMIT - 1, 1), 0);
	u = use();
	ck_assert_uint_eq(u.mapped_pages, 1);
	ck_assert_uint_eq(u.chunks, 1);
	/* Chunk index 2^43 - 1 needs an xarray of height 8. */
	ck_assert_uint_eq(u.bytes_v3, CHUNK + 8 * NODE);
	ck_assert_int_eq(sim_store_map(&st, LIMIT - 1000, 1000), -EEXIST);
	ck_assert_int_eq(sim_store_map(&st, LIMIT - 1000, 999), 0);
	ck_assert_uint_eq(use().extents, 2);
	ck_assert_uint_eq(unmap(LIMIT - 500, 500), 500);
	ck_assert_uint_eq(use().extents, 1);
	ck_assert_uint_eq(unmap(LIMIT - 1000, 1), 1);	/* head moves */
	ck_assert_uint_eq(use().extents, 1);
	ck_assert_uint_eq(sim_store_page(&st, LIMIT - 999),
			  SIM_PAGE_MAPPED | SIM_PAGE_START);
	ck_assert_int_eq(sim_store_map(&st, 0, 1), 0);
	ck_assert_uint_eq(unmap(0, LIMIT), 500);
	assert_baseline();
}
END_TEST

/* bytes_v3 against xarray shapes worked out by hand. */
START_TEST(test_v3_model)
{
	/* A lone chunk at index 0 sits in xa_head: no node. */
	ck_assert_int_eq(sim_store_map(&st, 0, 1), 0);
	ck_assert_uint_eq(use().bytes_v3, CHUNK);
	/* Chunks 0..63: one leaf node. */
	ck_assert_int_eq(sim_store_map(&st, 1, 64 * 512 - 1), 0);
	ck_assert_uint_eq(use().chunks, 64);
	ck_assert_uint_eq(use().bytes_v3, 64 * CHUNK + NODE);
	/* Chunk 64 too: two leaves under a root. */
	ck_assert_int_eq(sim_store_map(&st, 64 * 512, 1), 0);
	ck_assert_uint_eq(use().bytes_v3, 65 * CHUNK + 3 * NODE);
	ck_assert_uint_eq(unmap(0, LIMIT), 64 * 512 + 1);

	/* Chunks 0, 64, 4096: root(shift 12), two shift-6 nodes, 3 leaves. */
	ck_assert_int_eq(sim_store_map(&st, 0, 1), 0);
	ck_assert_int_eq(sim_store_map(&st, 64 * 512, 1), 0);
	ck_assert_int_eq(sim_store_map(&st, 4096 * 512, 1), 0);
	ck_assert_uint_eq(use().bytes_v3, 3 * CHUNK + 6 * NODE);
	ck_assert_uint_eq(unmap(0, LIMIT), 3);

	/* A lone chunk at index 1 needs a node. */
	ck_assert_int_eq(sim_store_map(&st, 512, 1), 0);
	ck_assert_uint_eq(use().bytes_v3, CHUNK + NODE);
	ck_assert_uint_eq(unmap(0, LIMIT), 1);
	assert_baseline();
}
END_TEST

START_TEST(test_chunk_freeing)
{
	struct sim_store_usage u;
	uint64_t i;

	/* One page in each of 5000 chunks, spread over a large span. */
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(sim_store_map(&st, i * 512 * 97 + (i % 512),
					       1), 0);
	u = use();
	ck_assert_uint_eq(u.chunks, 5000);
	ck_assert_uint_eq(u.extents, 5000);
	ck_assert_uint_gt(u.bytes_self, base.bytes_self + 5000 * 128);
	/* Free every other chunk: memory follows. */
	for (i = 0; i < 5000; i += 2)
		ck_assert_uint_eq(unmap(i * 512 * 97, 512), 1);
	ck_assert_uint_eq(use().chunks, 2500);
	ck_assert_uint_lt(use().bytes_self, u.bytes_self);
	for (i = 1; i < 5000; i += 2)
		ck_assert_uint_eq(unmap(i * 512 * 97 + (i % 512), 1), 1);
	assert_baseline();
}
END_TEST

START_TEST(test_enospc)
{
	struct sim_store_usage before, after;

	sim_store_fini(&st);
	sim_store_init(&st, 1000);
	ck_assert_int_eq(sim_store_map(&st, 0, 999), 0);
	before = use();
	ck_assert_int_eq(sim_store_map(&st, 5000, 2), -ENOSPC);
	after = use();
	ck_assert_mem_eq(&after, &before, sizeof(after));
	ck_assert_int_eq(sim_store_map(&st, 5000, 1), 0);
	ck_assert_int_eq(sim_store_map(&st, 6000, 1), -ENOSPC);
	/* Overlap is reported before lack of room. */
	ck_assert_int_eq(sim_store_map(&st, 0, 1), -EEXIST);
	ck_assert_uint_eq(unmap(0, 1), 1);
	ck_assert_int_eq(sim_store_map(&st, 6000, 1), 0);
}
END_TEST

/*
 * Random operations against a naive model: owner[p] is the id of the map
 * that put page p in place (0 = unmapped). Extents as type1 holds them are
 * the maximal runs of one id, and each run starts where the store must have
 * a start bit.
 */
#define MODEL_PAGES	(6 * 512 + 77)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void model_check(const uint32_t *owner, uint64_t off)
{
	uint64_t p, mapped = 0, runs = 0;

	for (p = 0; p < MODEL_PAGES; p++) {
		bool head = owner[p] && (p == 0 || owner[p - 1] != owner[p]);
		unsigned int want = (owner[p] ? SIM_PAGE_MAPPED : 0) |
				    (head ? SIM_PAGE_START : 0);

		ck_assert_msg(sim_store_page(&st, off + p) == want,
			      "page %llu: %u != %u", (unsigned long long)p,
			      sim_store_page(&st, off + p), want);
		mapped += !!owner[p];
		runs += head;
	}
	ck_assert_uint_eq(use().mapped_pages, mapped);
	ck_assert_uint_eq(use().extents, runs);
}

static void model_run(uint64_t off)
{
	static uint32_t owner[MODEL_PAGES];
	uint32_t next_id = 1;
	unsigned int op;

	memset(owner, 0, sizeof(owner));
	for (op = 0; op < 3000; op++) {
		uint64_t p = rng() % MODEL_PAGES;
		uint64_t n = 1 + rng() % (rng() % 4 ? 40 : 1200);
		uint64_t i, was = 0;
		bool clash = false;

		if (n > MODEL_PAGES - p)
			n = MODEL_PAGES - p;
		for (i = p; i < p + n; i++) {
			clash |= owner[i] != 0;
			was += owner[i] != 0;
		}
		if (rng() % 2) {
			ck_assert_int_eq(sim_store_map(&st, off + p, n),
					 clash ? -EEXIST : 0);
			if (!clash) {
				for (i = p; i < p + n; i++)
					owner[i] = next_id;
				next_id++;
			}
		} else {
			ck_assert_uint_eq(unmap(off + p, n), was);
			for (i = p; i < p + n; i++)
				owner[i] = 0;
		}
		if (op % 50 == 0)
			model_check(owner, off);
	}
	model_check(owner, off);
	unmap(off, MODEL_PAGES);
	assert_baseline();
}

START_TEST(test_model_low)
{
	model_run(0);
}
END_TEST

START_TEST(test_model_unaligned)
{
	model_run(12345);
}
END_TEST

START_TEST(test_model_top)
{
	model_run(LIMIT - MODEL_PAGES);
}
END_TEST

static Suite *sim_store_suite(void)
{
	Suite *s = suite_create("sim_store");
	TCase *tc;	/* each gets 60 s: Check's 4 s default flakes under load */

	tc = tcase_create("basic");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_map_basic);
	tcase_add_test(tc, test_map_eexist);
	tcase_add_test(tc, test_bad_ranges);
	tcase_add_test(tc, test_enospc);
	suite_add_tcase(s, tc);

	tc = tcase_create("extents");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_extent_splits);
	tcase_add_test(tc, test_extent_across_two);
	tcase_add_test(tc, test_extent_chunk_boundaries);
	tcase_add_test(tc, test_high_pfns);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_v3_model);
	tcase_add_test(tc, test_chunk_freeing);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_model_low);
	tcase_add_test(tc, test_model_unaligned);
	tcase_add_test(tc, test_model_top);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(sim_store_suite());
}
