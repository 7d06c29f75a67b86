// SPDX-License-Identifier: BSD-3-Clause
/* Tests not written yet: each fails loudly so nothing passes by absence. */
#include "tests.h"

int t_conf_extension(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_info(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_map_basic(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_map_invalid(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_eexist(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_rollback(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_unmap(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_type1_compat(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_conf_memlock(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_stress(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}

int t_bench(enum vt_mode mode)
{
	harness_fail(__FILE__, __LINE__, "not written yet (mode %d)", mode);
	return -1;
}
