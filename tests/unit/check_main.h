/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one way a unit test binary runs its suite: in fork mode (so a crash
 * or a SIGSYS fails one test instead of ending the run), exit status 1
 * when any test failed.
 */
#ifndef VB_TESTS_CHECK_MAIN_H
#define VB_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int vb_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* VB_TESTS_CHECK_MAIN_H */
