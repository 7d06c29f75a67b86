/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The userspace record of runs for backends whose kernel keeps one object
 * per map call and cannot split it (type1's struct vfio_dma, iommufd's
 * area). Each run is one kernel mapping: the exact (iova, vaddr, npages,
 * prot) it was created with, so a sub-range unmap can remove the whole run
 * and map the remainder(s) again, and the backend knows what is mapped
 * without asking the kernel (EEXIST, pages_done).
 *
 * The store is a sorted two-level array: an index of chunks, each holding up
 * to BACKEND_RUNS_CHUNK runs in IOVA order: 32 bytes per run when the
 * chunks are full, at most about 90 in a large store, whatever the order of
 * inserts and removes (neighbours holding 48 runs or fewer between them
 * are merged, so chunks average more than 24 runs); an insert or remove
 * moves at most two chunks' entries.
 *
 * backend_runs_map()/_unmap() give the backend.h semantics on top of a
 * kernel that only knows whole runs; the caller provides the two calls that
 * reach the kernel. Ranges use inclusive last addresses so a run ending at
 * the top of the address space does not overflow.
 */
#ifndef VB_BROKER_BACKEND_RUNS_H
#define VB_BROKER_BACKEND_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/backend.h"

#define BACKEND_RUNS_CHUNK	64
/* Neighbouring chunks holding this many runs or fewer are merged. */
#define BACKEND_RUNS_MERGE	(BACKEND_RUNS_CHUNK * 3 / 4)

struct backend_run {
	uint64_t iova;
	uint64_t vaddr;
	uint64_t npages;
	uint32_t prot;		/* VB_PROT_* */
	uint32_t pad;
};

struct backend_runs;

/* The kernel side: map or unmap exactly one whole run; -errno on failure. */
struct backend_runs_kernel {
	int (*map_run)(void *ctx, const struct backend_run *r);
	int (*unmap_run)(void *ctx, const struct backend_run *r);
	void *ctx;
};

struct backend_runs *backend_runs_new(void);
void backend_runs_free(struct backend_runs *rs);

size_t backend_runs_count(const struct backend_runs *rs);
uint64_t backend_runs_pages(const struct backend_runs *rs);
/* Bytes this store itself uses (userspace). */
size_t backend_runs_bytes(const struct backend_runs *rs);

/* First run whose last byte is >= @iova; -ENOENT if none. */
int backend_runs_find_from(const struct backend_runs *rs, uint64_t iova,
			   struct backend_run *out);
/* Does any run overlap [iova, iova + npages pages)? */
int backend_runs_overlaps(const struct backend_runs *rs, uint64_t iova,
			  uint64_t npages);
/* Insert a run that overlaps none; -ENOMEM. */
int backend_runs_insert(struct backend_runs *rs, const struct backend_run *r);
/* Remove the run starting exactly at @iova; -ENOENT. */
int backend_runs_remove(struct backend_runs *rs, uint64_t iova);

/* backend.h map/unmap semantics, one kernel call per run. */
int backend_runs_map(struct backend_runs *rs,
		     const struct backend_runs_kernel *k,
		     const struct backend_map_entry *e, size_t n,
		     struct backend_result *res);
int backend_runs_unmap(struct backend_runs *rs,
		       const struct backend_runs_kernel *k,
		       const struct backend_unmap_entry *e, size_t n,
		       struct backend_result *res);

/* Every run, in IOVA order (teardown, tests). Stops at a nonzero return. */
int backend_runs_each(const struct backend_runs *rs,
		      int (*fn)(void *arg, const struct backend_run *r),
		      void *arg);

#endif /* VB_BROKER_BACKEND_RUNS_H */
