/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sim backend's page store: which IOVA page frames are mapped, and where
 * each type1-style extent starts. Range primitives only; batch semantics
 * (all-or-nothing, validation before effect) live in backend_sim.c.
 *
 * Ranges are [pfn, pfn + npages) over page frame numbers of 4 KiB pages, so
 * the whole 64-bit IOVA space is pfn 0 .. SIM_STORE_PFN_LIMIT - 1 and no
 * computation on a valid range can overflow.
 */
#ifndef VB_BROKER_SIM_STORE_H
#define VB_BROKER_SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_STORE_PFN_LIMIT	(1ull << 52)	/* 2^64 / 4096 */
#define SIM_STORE_CHUNK_PAGES	512u		/* one 64-byte bitmap */
/* Default cap on mapped pages: 1 TiB of IOVA. Beyond it, -ENOSPC. */
#define SIM_STORE_DEFAULT_MAX_PAGES	(1ull << 28)

/* Sizes the usage model charges, for tests and docs. */
#define SIM_V3_CHUNK_BYTES	64u	/* kmalloc-64 bitmap per chunk */
#define SIM_V3_XA_NODE_BYTES	576u	/* sizeof(struct xa_node), 64-bit */

struct sim_slot;

struct sim_store {
	struct sim_slot *slots;	/* sorted by chunk index */
	size_t nslots;
	size_t cap;
	uint64_t mapped_pages;
	uint64_t extents;	/* == number of start bits set */
	uint64_t max_pages;
};

struct sim_store_usage {
	uint64_t mapped_pages;
	uint64_t extents;
	uint64_t chunks;
	uint64_t bytes_self;	/* heap bytes this store requested */
	uint64_t bytes_v3;	/* v3 direct-mode store for the same set */
};

/* Page state bits returned by sim_store_page(). */
#define SIM_PAGE_MAPPED	(1u << 0)
#define SIM_PAGE_START	(1u << 1)

void sim_store_init(struct sim_store *s, uint64_t max_pages);
void sim_store_fini(struct sim_store *s);

/*
 * Map [pfn, pfn + npages) as one new extent. All or nothing: -EINVAL bad
 * range, -EEXIST some page already mapped, -ENOSPC over max_pages, -ENOMEM.
 */
int sim_store_map(struct sim_store *s, uint64_t pfn, uint64_t npages);

/*
 * Unmap whatever is mapped in [pfn, pfn + npages); holes are skipped.
 * *done gets the pages that were mapped. -EINVAL bad range (nothing done).
 */
int sim_store_unmap(struct sim_store *s, uint64_t pfn, uint64_t npages,
		    uint64_t *done);

unsigned int sim_store_page(const struct sim_store *s, uint64_t pfn);
void sim_store_usage(const struct sim_store *s, struct sim_store_usage *u);

#endif /* VB_BROKER_SIM_STORE_H */
