/* SPDX-License-Identifier: BSD-3-Clause */
/* lru.c: order, move-to-front, removal anywhere, bounds; checked against a
 * naive array model over a long random sequence. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devproc/lru.h"
#include "check_main.h"

START_TEST(basic_order)
{
	struct lru l;

	ck_assert_int_eq(lru_init(&l, 8), 0);
	ck_assert_uint_eq(lru_pop_tail(&l), LRU_NONE);
	lru_touch(&l, 1);
	lru_touch(&l, 2);
	lru_touch(&l, 3);
	lru_touch(&l, 1);		/* 1 becomes most recent */
	ck_assert_uint_eq(l.count, 3);
	ck_assert(lru_contains(&l, 2));
	ck_assert(!lru_contains(&l, 4));
	ck_assert(!lru_contains(&l, 100));	/* out of range */
	lru_touch(&l, 100);			/* ignored */
	ck_assert_uint_eq(l.count, 3);
	ck_assert_uint_eq(lru_pop_tail(&l), 2);
	ck_assert_uint_eq(lru_pop_tail(&l), 3);
	lru_remove(&l, 1);
	lru_remove(&l, 1);			/* twice is harmless */
	ck_assert_uint_eq(l.count, 0);
	ck_assert_uint_eq(lru_pop_tail(&l), LRU_NONE);
	lru_touch(&l, 7);
	ck_assert_uint_eq(l.head, 7);
	ck_assert_uint_eq(l.tail, 7);
	lru_free(&l);
}
END_TEST

START_TEST(against_model)
{
	enum { N = 64 };
	uint32_t model[N];	/* model[0] = most recent */
	uint32_t n = 0;
	uint64_t x = 88172645463325252ull;
	struct lru l;

	ck_assert_int_eq(lru_init(&l, N), 0);
	for (int step = 0; step < 20000; step++) {
		uint32_t p, op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p = (uint32_t)(x % N);
		op = (uint32_t)((x >> 32) % 4);
		if (op < 2) {		/* touch */
			uint32_t i;

			for (i = 0; i < n && model[i] != p; i++)
				;
			if (i == n)
				n++;
			memmove(model + 1, model, i * sizeof(*model));
			model[0] = p;
			lru_touch(&l, p);
		} else if (op == 2) {	/* remove */
			for (uint32_t i = 0; i < n; i++) {
				if (model[i] == p) {
					memmove(model + i, model + i + 1,
						(n - i - 1) * sizeof(*model));
					n--;
					break;
				}
			}
			lru_remove(&l, p);
		} else {		/* evict */
			uint32_t want = n ? model[--n] : LRU_NONE;

			ck_assert_uint_eq(lru_pop_tail(&l), want);
		}
		ck_assert_uint_eq(l.count, n);
		ck_assert_uint_eq(l.head, n ? model[0] : LRU_NONE);
		ck_assert_uint_eq(l.tail, n ? model[n - 1] : LRU_NONE);
	}
	/* walking the list gives exactly the model's order */
	for (uint32_t i = 0, p = l.head; i < n; i++, p = l.next[p])
		ck_assert_uint_eq(p, model[i]);
	lru_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lru");
	TCase *tc = tcase_create("lru");

	tcase_add_test(tc, basic_order);
	tcase_add_test(tc, against_model);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
