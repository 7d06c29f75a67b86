/* SPDX-License-Identifier: BSD-3-Clause */
/* guest_mem.c: memfds mapped shared at their offsets, GPA lookups inside
 * one region only, overflow-safe bounds, bad geometry refused. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devproc/guest_mem.h"
#include "vfio-broker/client.h"
#include "check_main.h"

static struct vb_client_info in;

static void setup(void)
{
	memset(&in, 0, sizeof(in));
	in.n_ram = 2;
	for (int i = 0; i < 2; i++) {
		in.ram_fd[i] = memfd_create("ram", MFD_CLOEXEC);
		ck_assert_int_ge(in.ram_fd[i], 0);
		ck_assert_int_eq(ftruncate(in.ram_fd[i], 0x20000), 0);
	}
	in.ram[0] = (struct vb_ram_region){ .gpa = 0, .size = 0x10000 };
	/* region 1 starts 0x4000 into its memfd */
	in.ram[1] = (struct vb_ram_region){ .gpa = 0x100000, .size = 0x8000,
					    .offset = 0x4000 };
}

static void teardown(void)
{
	close(in.ram_fd[0]);
	close(in.ram_fd[1]);
}

START_TEST(lookup_and_sharing)
{
	struct guest_mem gm;
	uint8_t *p, v = 0;

	ck_assert_int_eq(guest_mem_map(&gm, &in, false), 0);
	ck_assert_uint_eq(gm.n, 2);
	ck_assert_ptr_nonnull(guest_mem_ptr(&gm, 0, 0x10000));
	ck_assert_ptr_null(guest_mem_ptr(&gm, 0, 0x10001));
	ck_assert_ptr_null(guest_mem_ptr(&gm, 0xffff, 2));
	ck_assert_ptr_null(guest_mem_ptr(&gm, 0x10000, 1));	/* gap */
	ck_assert_ptr_null(guest_mem_ptr(&gm, 0x100000, UINT64_MAX));
	ck_assert_ptr_null(guest_mem_ptr(&gm, UINT64_MAX, 2));
	p = guest_mem_ptr(&gm, 0x100000 + 0x7000, 0x1000);
	ck_assert_ptr_nonnull(p);
	/* a write at a GPA lands in the memfd at offset + (gpa - base) */
	*p = 0xa5;
	ck_assert_int_eq(pread(in.ram_fd[1], &v, 1, 0x4000 + 0x7000), 1);
	ck_assert_uint_eq(v, 0xa5);
	guest_mem_unmap(&gm);
	ck_assert_uint_eq(gm.n, 0);
}
END_TEST

START_TEST(bad_geometry)
{
	struct guest_mem gm;

	in.ram[1].offset = 0x123;		/* unaligned */
	ck_assert_int_eq(guest_mem_map(&gm, &in, false), -EINVAL);
	ck_assert_uint_eq(gm.n, 0);
	in.ram[1].offset = 0;
	in.ram[1].size = 0;
	ck_assert_int_eq(guest_mem_map(&gm, &in, false), -EINVAL);
	in.ram[1].size = 0x2000;
	in.ram[1].gpa = UINT64_MAX - 0xfff;	/* last page: end wraps */
	ck_assert_int_eq(guest_mem_map(&gm, &in, false), -EINVAL);
	in.ram[1].gpa = 0x100000;
	in.ram[1].size = 0x1000;
	close(in.ram_fd[1]);
	in.ram_fd[1] = -1;			/* mmap fails: EBADF */
	ck_assert_int_eq(guest_mem_map(&gm, &in, false), -EBADF);
	ck_assert_uint_eq(gm.n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("guest_mem");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lookup_and_sharing);
	tcase_add_test(tc, bad_geometry);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
