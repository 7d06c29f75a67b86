/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memory.c: guest RAM is one sealed memfd per configured region, mapped in
 * the broker, and memory_fini() gives every one of them back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* F_GET_SEALS */
#endif
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "broker/config.h"
#include "broker/memory.h"
#include "check_main.h"
#include "fd_count.h"

static const char conf[] =
	"[ram lo]\nsize = 1M\n[ram hi]\ngpa = 4G\nsize = 2M\n"
	"[device 1]\ngroup = sim\niova = 0x100000 1M\n";

/*
 * Each region: a memfd sealed against resizing (every client maps it, so
 * one that shrank it would fault the others) and mapped at its size; and
 * memory_fini() closes them all (a broker that re-reads its config must
 * not leak guest RAM).
 */
START_TEST(regions_sealed_and_released)
{
	struct config *cfg = NULL;
	struct memory m;
	char err[256];
	int before = vb_count_fds();

	ck_assert_int_eq(config_parse(conf, "t", &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(memory_init(&m, cfg), 0);
	ck_assert_uint_eq(m.n, 2);
	ck_assert_int_eq(vb_count_fds(), before + 2);
	for (unsigned int i = 0; i < m.n; i++) {
		ck_assert_int_eq(fcntl(m.r[i].fd, F_GET_SEALS),
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		ck_assert_ptr_nonnull(m.r[i].va);
		memset(m.r[i].va + m.r[i].size - 1, 1, 1);	/* mapped whole */
	}
	ck_assert_uint_eq(m.r[1].gpa, 4ull << 30);
	memory_fini(&m);
	ck_assert_int_eq(vb_count_fds(), before);
	config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("regions");

	tcase_add_test(tc, regions_sealed_and_released);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
