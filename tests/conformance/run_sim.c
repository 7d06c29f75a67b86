// SPDX-License-Identifier: BSD-3-Clause
/*
 * Host runner: the conformance suite against the sim backend. Exit status
 * 0 only when every case passed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conformance.h"

int main(void)
{
	struct conformance_env env = {
		.name = "sim",
		.iova_base = 1ull << 30,
		.iova_size = 256ull << 20,
		.buf_size = 1024 * VB_PAGE_SIZE,
		.large_pages = 4096,
	};
	struct backend_domain *d;
	struct backend *be;
	int ret;

	env.buf = aligned_alloc(VB_PAGE_SIZE, env.buf_size);
	if (!env.buf || backend_sim_create(&be)) {
		fprintf(stderr, "run_sim: cannot set up the sim backend\n");
		return 2;
	}
	ret = be->ops->domain_open(be, 1, &d);
	if (ret) {
		fprintf(stderr, "run_sim: domain_open: %d\n", ret);
		return 2;
	}
	ret = conformance_run(be, d, &env);
	be->ops->domain_close(d);
	be->ops->destroy(be);
	free(env.buf);
	printf("conformance sim: %d failed\n", ret);
	return ret ? 1 : 0;
}
