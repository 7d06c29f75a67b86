/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How many fds this process has open: tests take it before and after a
 * call to prove that the call left none behind.
 */
#ifndef VB_TESTS_FD_COUNT_H
#define VB_TESTS_FD_COUNT_H

#include <check.h>
#include <dirent.h>

static inline int vb_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

#endif /* VB_TESTS_FD_COUNT_H */
