// SPDX-License-Identifier: BSD-3-Clause
/* Tests not written yet: each fails loudly so nothing passes by absence. */
#include "tests.h"

int t_bench(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}
