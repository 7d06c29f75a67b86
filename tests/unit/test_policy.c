/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy.c: every errno of batch and entry validation, the order in which
 * they are reported, and the boundaries: window edges, the last byte of
 * RAM, ranges that touch or cross 2^64.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "broker/policy.h"
#include "check_main.h"

#define PG	VB_PAGE_SIZE
#define TOP	(UINT64_MAX - PG + 1)	/* last page of the 64-bit space */

static struct memory mem;
static struct vb_range win[3];
static struct policy_limits lim;

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	/* Two regions with a gap between; va values are never dereferenced. */
	mem.r[0] = (struct memory_region){ .gpa = 0, .size = 16 * PG,
					   .va = (uint8_t *)0x10000000 };
	mem.r[1] = (struct memory_region){ .gpa = 32 * PG, .size = 16 * PG,
					   .va = (uint8_t *)0x20000000 };
	/* The last region ends at the very top of the 64-bit space. */
	mem.r[2] = (struct memory_region){ .gpa = TOP - 3 * PG, .size = 4 * PG,
					   .va = (uint8_t *)0x30000000 };
	mem.n = 3;
	win[0] = (struct vb_range){ .start = 0x100000, .size = 16 * PG };
	win[1] = (struct vb_range){ .start = 0x100000 + 16 * PG, .size = 16 * PG };
	win[2] = (struct vb_range){ .start = TOP - 8 * PG, .size = 8 * PG };
	lim = (struct policy_limits){ .iova = win, .n_iova = 3, .mem = &mem,
				      .max_entries = 8 };
}

static int map(uint64_t iova, uint64_t gpa, uint64_t npages, uint32_t prot,
	       uint32_t reserved)
{
	struct vb_map_entry e = { iova, gpa, npages, prot, reserved };
	struct backend_map_entry out;

	return policy_check_map(&lim, &e, &out);
}

static int unmap(uint64_t iova, uint64_t npages)
{
	struct vb_unmap_entry e = { iova, npages };
	struct backend_unmap_entry out;

	return policy_check_unmap(&lim, &e, &out);
}

/* The quota counts pages across entries and names the entry crossing it. */
START_TEST(quota_rules)
{
	struct backend_map_entry e[3] = {
		{ .npages = 3 }, { .npages = 1 }, { .npages = 4 },
	};
	uint64_t pages = 0;
	uint32_t failed = VB_NO_INDEX;

	ck_assert_int_eq(policy_check_quota(8, e, 3, &pages, &failed), 0);
	ck_assert_uint_eq(pages, 8);
	ck_assert_uint_eq(failed, VB_NO_INDEX);
	ck_assert_int_eq(policy_check_quota(7, e, 3, &pages, &failed), -EDQUOT);
	ck_assert_uint_eq(failed, 2);
	ck_assert_int_eq(policy_check_quota(3, e, 3, &pages, &failed), -EDQUOT);
	ck_assert_uint_eq(failed, 1);
	ck_assert_int_eq(policy_check_quota(0, e, 3, &pages, &failed), -EDQUOT);
	ck_assert_uint_eq(failed, 0);
}
END_TEST

START_TEST(batch_limits)
{
	ck_assert_int_eq(policy_check_batch(&lim, 0, 0), -EINVAL);
	ck_assert_int_eq(policy_check_batch(&lim, 1, 1), -EINVAL);
	ck_assert_int_eq(policy_check_batch(&lim, 1, 0x80000000u), -EINVAL);
	ck_assert_int_eq(policy_check_batch(&lim, 1, 0), 0);
	ck_assert_int_eq(policy_check_batch(&lim, 8, 0), 0);
	ck_assert_int_eq(policy_check_batch(&lim, 9, 0), -E2BIG);
	ck_assert_int_eq(policy_check_batch(&lim, UINT32_MAX, 0), -E2BIG);
	/* count 0 is malformed even when flags are fine and max is 0 */
	lim.max_entries = 0;
	ck_assert_int_eq(policy_check_batch(&lim, 0, 0), -EINVAL);
}
END_TEST

START_TEST(map_einval)
{
	ck_assert_int_eq(map(0x100000 + 1, 0, 1, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000 + PG / 2, 0, 1, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 8, 1, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, 0, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, 1, 0, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, 1, 4, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, 1, VB_PROT_READ | 8, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, 1, 3, 1), -EINVAL);
	/* npages whose byte length does not fit in 64 bits */
	ck_assert_int_eq(map(0x100000, 0, (UINT64_MAX >> 12) + 1, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0x100000, 0, UINT64_MAX, 3, 0), -EINVAL);
	/* ... and one whose length wraps to a single page */
	ck_assert_int_eq(map(0x100000, 0, (UINT64_MAX >> 12) + 2, 3, 0), -EINVAL);
	/* iova + length past 2^64 */
	ck_assert_int_eq(map(TOP, 0, 2, 3, 0), -EINVAL);
	ck_assert_int_eq(map(TOP - PG, 0, 3, 3, 0), -EINVAL);
	/* gpa + length past 2^64 */
	ck_assert_int_eq(map(0x100000, TOP, 2, 3, 0), -EINVAL);
}
END_TEST

/* Each permission passes, and reaches the backend as it was asked. */
START_TEST(map_each_prot)
{
	static const uint32_t prots[] = {
		VB_PROT_READ, VB_PROT_WRITE, VB_PROT_READ | VB_PROT_WRITE,
	};

	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		struct vb_map_entry e = { 0x100000, PG, 2, prots[i], 0 };
		struct backend_map_entry out = { 0 };

		ck_assert_int_eq(policy_check_map(&lim, &e, &out), 0);
		ck_assert_uint_eq(out.prot, prots[i]);
		ck_assert_uint_eq(out.iova, 0x100000);
		ck_assert_uint_eq(out.npages, 2);
		ck_assert_ptr_eq((void *)(uintptr_t)out.vaddr,
				 mem.r[0].va + PG);
	}
}
END_TEST

START_TEST(map_window_edges)
{
	/* first and last page of window 0, and all of it */
	ck_assert_int_eq(map(0x100000, 0, 1, 3, 0), 0);
	ck_assert_int_eq(map(0x100000 + 15 * PG, 0, 1, 3, 0), 0);
	ck_assert_int_eq(map(0x100000, 0, 16, 3, 0), 0);
	/* one page before it, one past its end */
	ck_assert_int_eq(map(0x100000 - PG, 0, 1, 3, 0), -ERANGE);
	ck_assert_int_eq(map(0x100000 - PG, 0, 2, 3, 0), -ERANGE);
	/* window 1 directly follows window 0: crossing them is refused,
	 * a range must lie inside one window */
	ck_assert_int_eq(map(0x100000 + 15 * PG, 0, 2, 3, 0), -ERANGE);
	ck_assert_int_eq(map(0x100000 + 16 * PG, 0, 16, 3, 0), 0);
	ck_assert_int_eq(map(0x100000 + 16 * PG, 0, 17, 3, 0), -ERANGE);
	ck_assert_int_eq(map(0x100000 + 32 * PG, 0, 1, 3, 0), -ERANGE);
	ck_assert_int_eq(map(0, 0, 1, 3, 0), -ERANGE);
	/* a window ending one page below 2^64 */
	ck_assert_int_eq(map(TOP - 8 * PG, 0, 8, 3, 0), 0);
	ck_assert_int_eq(map(TOP - PG, 0, 1, 3, 0), 0);
	ck_assert_int_eq(map(TOP - 8 * PG, 0, 9, 3, 0), -ERANGE);
	ck_assert_int_eq(map(TOP, 0, 1, 3, 0), -ERANGE);
	ck_assert_int_eq(map(TOP - 9 * PG, 0, 1, 3, 0), -ERANGE);
}
END_TEST

START_TEST(map_ram_edges)
{
	struct vb_map_entry e = { 0x100000, 15 * PG, 1, 3, 0 };
	struct backend_map_entry out;

	/* last page of region 0, translated into its mapping */
	ck_assert_int_eq(policy_check_map(&lim, &e, &out), 0);
	ck_assert_uint_eq(out.vaddr, 0x10000000 + 15 * PG);
	ck_assert_uint_eq(out.iova, 0x100000);
	ck_assert_uint_eq(out.npages, 1);
	ck_assert_uint_eq(out.prot, 3);
	/* one page past its end, and into the gap */
	ck_assert_int_eq(map(0x100000, 15 * PG, 2, 3, 0), -EFAULT);
	ck_assert_int_eq(map(0x100000, 16 * PG, 1, 3, 0), -EFAULT);
	ck_assert_int_eq(map(0x100000, 31 * PG, 1, 3, 0), -EFAULT);
	/* spanning the gap from region 0 into region 1 */
	ck_assert_int_eq(map(0x100000, 0, 16, 3, 0), 0);
	ck_assert_int_eq(map(0x100000, 8 * PG, 16, 3, 0), -EFAULT);
	/* region 1: first and last page */
	e.gpa = 32 * PG;
	ck_assert_int_eq(policy_check_map(&lim, &e, &out), 0);
	ck_assert_uint_eq(out.vaddr, 0x20000000);
	ck_assert_int_eq(map(0x100000, 47 * PG, 1, 3, 0), 0);
	ck_assert_int_eq(map(0x100000, 47 * PG, 2, 3, 0), -EFAULT);
	/* region 2 ends exactly at 2^64: its last page is fine */
	e.gpa = TOP;
	ck_assert_int_eq(policy_check_map(&lim, &e, &out), 0);
	ck_assert_uint_eq(out.vaddr, 0x30000000 + 3 * PG);
	ck_assert_int_eq(map(0x100000, TOP - 3 * PG, 4, 3, 0), 0);
	ck_assert_int_eq(map(0x100000, TOP - 4 * PG, 1, 3, 0), -EFAULT);
}
END_TEST

START_TEST(map_error_order)
{
	/* malformed beats out-of-window beats outside-RAM */
	ck_assert_int_eq(map(0x1, 1ull << 50, 1, 3, 0), -EINVAL);
	ck_assert_int_eq(map(0, 1ull << 50, 1, 0, 0), -EINVAL);
	ck_assert_int_eq(map(0, 1ull << 50, 1, 3, 0), -ERANGE);
	ck_assert_int_eq(map(0x100000, 1ull << 50, 1, 3, 0), -EFAULT);
}
END_TEST

START_TEST(unmap_rules)
{
	struct vb_unmap_entry e = { 0x100000 + 3 * PG, 2 };
	struct backend_unmap_entry out;

	ck_assert_int_eq(policy_check_unmap(&lim, &e, &out), 0);
	ck_assert_uint_eq(out.iova, 0x100000 + 3 * PG);
	ck_assert_uint_eq(out.npages, 2);
	ck_assert_int_eq(unmap(0x100000 + 1, 1), -EINVAL);
	ck_assert_int_eq(unmap(0x100000, 0), -EINVAL);
	ck_assert_int_eq(unmap(0x100000, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(unmap(0x100000, (UINT64_MAX >> 12) + 2), -EINVAL);
	ck_assert_int_eq(unmap(TOP, 2), -EINVAL);
	ck_assert_int_eq(unmap(0x100000, 16), 0);
	ck_assert_int_eq(unmap(0x100000, 17 + 16), -ERANGE);
	ck_assert_int_eq(unmap(0x100000 - PG, 1), -ERANGE);
	ck_assert_int_eq(unmap(TOP - PG, 1), 0);
	ck_assert_int_eq(unmap(TOP, 1), -ERANGE);
	ck_assert_int_eq(policy_check_iova(&lim, 0x100000 + 16 * PG, 16), 0);
}
END_TEST

START_TEST(memory_translate_rules)
{
	uint64_t va = 0;

	ck_assert_int_eq(memory_translate(&mem, 0, 0, &va), -EFAULT);
	ck_assert_int_eq(memory_translate(&mem, 16 * PG - 1, 1, &va), 0);
	ck_assert_uint_eq(va, 0x10000000 + 16 * PG - 1);
	ck_assert_int_eq(memory_translate(&mem, 16 * PG - 1, 2, &va), -EFAULT);
	ck_assert_int_eq(memory_translate(&mem, UINT64_MAX, 1, &va), 0);
	ck_assert_int_eq(memory_translate(&mem, UINT64_MAX, 2, &va), -EFAULT);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, batch_limits);
	tcase_add_test(tc, quota_rules);
	tcase_add_test(tc, map_einval);
	tcase_add_test(tc, map_each_prot);
	tcase_add_test(tc, map_window_edges);
	tcase_add_test(tc, map_ram_edges);
	tcase_add_test(tc, map_error_order);
	tcase_add_test(tc, unmap_rules);
	tcase_add_test(tc, memory_translate_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(policy_suite());
}
