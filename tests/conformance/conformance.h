/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The backend conformance suite: the semantics backend.h promises, checked
 * the same way against every backend (sim on the host; v3, type1 and
 * iommufd in the VM).
 *
 * The suite only sees the backend interface, so "is page p mapped" is
 * answered by unmapping it and reading pages_done; every case ends by
 * checking its area that way, which also empties it. Each case has its own
 * slice of the IOVA window, so a failing case cannot spoil the next.
 */
#ifndef VB_TESTS_CONFORMANCE_H
#define VB_TESTS_CONFORMANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "broker/backend.h"

struct conformance_env {
	const char *name;	/* prefix of the RESULT lines, e.g. "type1" */
	uint64_t iova_base;	/* page-aligned, usable by the domain */
	uint64_t iova_size;	/* at least 64 MiB */
	void *buf;		/* memory used as vaddrs (page-aligned) */
	size_t buf_size;	/* at least 64 pages */
	FILE *out;		/* RESULT lines; stdout if NULL */
	unsigned int large_pages; /* pages of the large-batch case; 0: 2048 */
	/*
	 * Optional: prove that a DMA to @iova reaches the page at @vaddr.
	 * 0 yes, -1 no (reported as a failure). The suite calls it on a few
	 * pages of split runs, where a wrong re-map would show.
	 */
	int (*check_page)(void *ctx, uint64_t iova, void *vaddr);
	void *check_ctx;
};

/*
 * Runs every case on domain @d of @be (empty, groups attached); prints
 * "RESULT <name>/<case> PASS" or "RESULT <name>/<case> FAIL <detail>" per
 * case. Returns the number of failed cases, or -EINVAL for an unusable env.
 */
int conformance_run(struct backend *be, struct backend_domain *d,
		    const struct conformance_env *env);

#endif /* VB_TESTS_CONFORMANCE_H */
