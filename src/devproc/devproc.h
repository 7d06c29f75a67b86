/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-devproc: a sandboxed device process that drives one device's DMA
 * mappings through libvfiobroker. Shared state of main and the workloads.
 *
 * Every workload checks its own results against what the broker reports;
 * a mismatch is counted in res.errors and makes the run FAIL.
 */
#ifndef VB_DEVPROC_DEVPROC_H
#define VB_DEVPROC_DEVPROC_H

#include <stdbool.h>
#include <stdint.h>

#include "devproc/guest_mem.h"
#include "vfio-broker/client.h"

struct replay_trace;

struct devproc_opts {
	uint32_t device_id;
	const char *workload;
	const char *trace_path;
	uint64_t iterations;
	uint64_t buffer_pages;	/* virtio-iommu: max pages per buffer */
	uint64_t buffers;	/* virtio-iommu: buffers per iteration */
	uint64_t working_set;	/* coiommu: resident page cap */
	uint64_t pages;		/* coiommu: guest pages accessed */
	uint64_t dma_pages;	/* coiommu: pages per DMA operation, at most */
	uint64_t seed;
	uint64_t gpa_base;	/* guest RAM this device DMAs into ... */
	uint64_t gpa_size;	/* ... (0: to the region's end) */
	bool has_gpa_base;	/* else: the first RAM region's start */
	unsigned int pipeline;	/* outstanding requests; 0: synchronous */
	bool coalesce;		/* virtio-iommu: a round's buffers per request */
	bool keep_mapped;	/* coiommu: no final unpin of the working set;
				 * virtio-iommu: the last round stays mapped;
				 * edu: leave one page mapped */
	bool has_foreign;	/* edu: aim at another device's mapping */
	uint64_t foreign_iova;
	uint64_t foreign_gpa;
	bool quiet;
	bool populate;		/* fault guest RAM in before the workload */
	bool no_touch;		/* no write and read-back of touched pages */
};

struct devproc_result {
	uint64_t requests;
	uint64_t maps;
	uint64_t unmaps;
	uint64_t pages_mapped;
	uint64_t pages_unmapped;
	uint64_t errors;
	double seconds;		/* wall-clock time of the workload alone */
};

struct devproc {
	struct vb_client *client;
	const struct vb_client_info *info;
	struct guest_mem gm;
	struct devproc_opts opts;
	struct devproc_result res;
	struct replay_trace *trace;	/* replay only, parsed before sandbox */
};

/* workload.c: helpers shared by the workloads */
__attribute__((format(printf, 2, 3)))
void workload_fail(struct devproc *dp, const char *fmt, ...);
unsigned int workload_depth(const struct devproc *dp);
/* Wait until fewer than the pipeline depth are outstanding. */
int workload_make_room(struct devproc *dp);
/*
 * Wait out whatever is still outstanding before a workload frees what its
 * callbacks point to: closing the handle would otherwise run them (with
 * ECANCELED) on freed memory.
 */
void workload_drain(struct devproc *dp);
int workload_submit_map(struct devproc *dp, const struct vb_map_entry *e,
			uint32_t n, vb_client_done_fn done, void *arg);
int workload_submit_unmap(struct devproc *dp, const struct vb_unmap_entry *e,
			  uint32_t n, vb_client_done_fn done, void *arg);
void workload_note_map(struct devproc *dp, const struct vb_reply *r);
void workload_note_unmap(struct devproc *dp, const struct vb_reply *r);
int workload_map(struct devproc *dp, const struct vb_map_entry *e, uint32_t n,
		 struct vb_reply *r);
int workload_unmap(struct devproc *dp, const struct vb_unmap_entry *e,
		   uint32_t n, struct vb_reply *r);
int workload_stats(struct devproc *dp, struct vb_stats *st);
/*
 * 0 if the broker answered the call that returned @rc with reply @r
 * (zeroed before the call); else the library failed it (a dead handle, a
 * malformed message, a timeout) and this is why, a negative errno. Only
 * an answer says anything about the request, and after a failure no
 * later call gets one either. The library writes the reply only when the
 * broker answered, so an answer is a reply whose status is the result.
 */
static inline int workload_lost(int rc, const struct vb_reply *r)
{
	return rc && r->status != -rc ? rc : 0;
}
/* STATS must agree with the workload's own totals and @current. */
void workload_check_stats(struct devproc *dp, uint64_t current);
/*
 * The guest memory this device's buffers live in: --gpa-base/--gpa-size, or
 * the whole first RAM region. Devices that run at the same time need
 * disjoint ranges, as a guest driver would give them, or their pattern
 * checks race. Fails the run if the range is not inside one RAM region.
 */
int workload_gpa_range(struct devproc *dp, uint64_t *base, uint64_t *size);
/* "DMA": write a pattern over [gpa, gpa + npages pages) and read it back. */
void workload_touch(struct devproc *dp, uint64_t gpa, uint64_t npages,
		    uint64_t tag);

/* Pages mapped plus unmapped per second of res->seconds (0 if none). */
double workload_pages_per_s(const struct devproc_result *res);

int workload_virtio_iommu_run(struct devproc *dp);
int workload_coiommu_run(struct devproc *dp);
int workload_replay_run(struct devproc *dp);
int workload_edu_run(struct devproc *dp);

/* xorshift64*: deterministic per --seed, good enough for access patterns */
static inline uint64_t devproc_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* VB_DEVPROC_DEVPROC_H */
