// SPDX-License-Identifier: BSD-3-Clause
/*
 * log_budget_take(): a burst at once, then the refill rate, never more
 * than the burst saved up, and every refused line counted.
 */
#include <check.h>
#include <stdlib.h>

#include "common/log.h"
#include "check_main.h"

#define MS	1000000ull	/* ns */

START_TEST(burst_then_rate)
{
	struct log_budget lb = { 0 };
	uint64_t t = 5000 * MS;
	unsigned int i;

	/* 10 at once, then refused */
	for (i = 0; i < 10; i++)
		ck_assert(log_budget_take(&lb, t, 10, 100));
	ck_assert(!log_budget_take(&lb, t, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 9 * MS, 10, 100));
	ck_assert_uint_eq(lb.dropped, 2);
	/* 100 a second: one every 10 ms */
	ck_assert(log_budget_take(&lb, t + 10 * MS, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 19 * MS, 10, 100));
	/* a top-up keeps what it did not use of a step: one token at
	 * t + 25 ms, and the next at t + 30 ms, not t + 35 ms */
	ck_assert(log_budget_take(&lb, t + 25 * MS, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 29 * MS, 10, 100));
	ck_assert(log_budget_take(&lb, t + 30 * MS, 10, 100));
	ck_assert_uint_eq(lb.dropped, 4);
}
END_TEST

START_TEST(idle_saves_at_most_the_burst)
{
	struct log_budget lb = { 0 };
	uint64_t t = 1;
	unsigned int i, passed = 0;

	ck_assert(log_budget_take(&lb, t, 5, 1000));
	/* an hour later: 5 again, not millions */
	t += 3600ull * 1000 * MS;
	for (i = 0; i < 20; i++)
		passed += log_budget_take(&lb, t, 5, 1000);
	ck_assert_uint_eq(passed, 5);
	ck_assert_uint_eq(lb.dropped, 15);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("budget");

	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, idle_saves_at_most_the_burst);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
