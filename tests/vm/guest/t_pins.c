// SPDX-License-Identifier: BSD-3-Clause
/*
 * Pin accounting: every pin taken by a map is dropped again by unmap, by a
 * failed batch's rollback, by closing the container with mappings left, and
 * by the death of the mapping process. Each case first asserts that the
 * pins really were taken (so a backend that pins nothing cannot pass).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "tests.h"

#define NP	64
#define IOVA0	0x1000000ull

static long long outstanding(const struct vt_pins *p)
{
	return p->acquired - p->released;
}

/*
 * Maps NP pages as 8 entries of 8 (one batch on v3, 8 ioctls on type1).
 * On v3 every other entry is read-only: those pins are dropped by their
 * own path (no dirtying), which must give them back just the same.
 */
static int map_many(struct vt_ctx *ctx, uint8_t *buf)
{
	struct vfio_iommu_type1v3_map_entry e[8];
	uint64_t done;
	uint32_t failed;
	int i;

	for (i = 0; i < 8; i++) {
		e[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = IOVA0 + i * 16 * VT_PAGE,	/* gaps between entries */
			.vaddr = (uintptr_t)(buf + i * 8 * VT_PAGE),
			.npages = 8,
			.flags = VFIO_DMA_MAP_FLAG_READ |
				 (i & 1 ? 0 : VFIO_DMA_MAP_FLAG_WRITE),
		};
		if (ctx->mode == VT_TYPE1)
			CHECK_OK(harness_map(ctx, e[i].iova, buf + i * 8 * VT_PAGE, 8), "type1 map");
	}
	if (ctx->mode != VT_TYPE1) {
		CHECK_OK(harness_v3_map(ctx->container, e, 8, &failed, &done), "v3 map 8x8");
		CHECK(done == NP, "pages_done %llu", (unsigned long long)done);
	}
	return 0;
}

static int unmap_many(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < 8; i++)
		CHECK_OK(harness_unmap(ctx, IOVA0 + i * 16 * VT_PAGE, 8), "unmap entry");
	return 0;
}

static int expect_pinned(const struct vt_pins *p0, long long npages, const char *where)
{
	struct vt_pins p;

	RUN(harness_pins(&p));
	CHECK(outstanding(&p) - outstanding(p0) >= npages &&
	      p.vmlck_kb - p0->vmlck_kb == npages * 4,
	      "%s: outstanding pins +%lld, VmLck +%lld kB, want +%lld pages",
	      where, outstanding(&p) - outstanding(p0), p.vmlck_kb - p0->vmlck_kb, npages);
	return 0;
}

static int pins_unmap(enum vt_mode mode, uint8_t *buf)
{
	struct vt_pins p0, p1;
	struct vt_ctx ctx;
	int rc;

	RUN(harness_open(&ctx, mode, 1));
	rc = harness_pins(&p0) || map_many(&ctx, buf) ||
	     expect_pinned(&p0, NP, "after map") || unmap_many(&ctx) ||
	     harness_pins(&p1) || harness_pins_equal(&p0, &p1, "after unmap");
	harness_close(&ctx);
	return rc ? -1 : 0;
}

/*
 * Rollback: a batch whose last entry runs into an already-mapped page
 * (EEXIST) and one whose vaddr runs into an unmapped hole (EFAULT, found
 * only while pinning). type1 has no batches; its single map must unwind
 * the partial pin of the EFAULT case the same way.
 */
static int pins_rollback(enum vt_mode mode, uint8_t *buf, uint8_t *hole)
{
	struct vfio_iommu_type1v3_map_entry e[4];
	struct vt_pins p0, p1;
	struct vt_ctx ctx;
	uint32_t failed;
	uint64_t done;
	int i, ret;

	RUN(harness_open(&ctx, mode, 1));
	if (harness_map(&ctx, IOVA0 + 31 * VT_PAGE, buf + 40 * VT_PAGE, 1))
		goto fail;
	RUN(harness_pins(&p0));
	if (mode == VT_TYPE1) {
		ret = harness_map(&ctx, IOVA0 + 24 * VT_PAGE, buf, 8);
		CHECK_ERR(ret, EEXIST, "type1 map over a mapped page");
		/* hole - 4 pages: 4 present, then the unmapped hole */
		ret = harness_map(&ctx, IOVA0 + 64 * VT_PAGE, hole - 4 * VT_PAGE, 8);
		CHECK(ret == -EFAULT || ret == -ENOMEM, "type1 map into a hole: %d", ret);
	} else {
		for (i = 0; i < 4; i++)
			e[i] = (struct vfio_iommu_type1v3_map_entry){
				.iova = IOVA0 + i * 8 * VT_PAGE,
				.vaddr = (uintptr_t)(buf + i * 8 * VT_PAGE),
				.npages = 8,
				.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			};
		ret = harness_v3_map(ctx.container, e, 4, &failed, &done);
		CHECK_ERR(ret, EEXIST, "batch whose last page is mapped");
		CHECK(failed == 3 && done == 0, "failed_index %u pages_done %llu", failed,
		      (unsigned long long)done);
		e[3].iova = IOVA0 + 64 * VT_PAGE;
		e[3].vaddr = (uintptr_t)(hole - 4 * VT_PAGE);
		ret = harness_v3_map(ctx.container, e, 4, &failed, &done);
		CHECK_ERR(ret, EFAULT, "batch whose last entry runs into a vaddr hole");
		CHECK(failed == 3 && done == 0, "failed_index %u pages_done %llu", failed,
		      (unsigned long long)done);
	}
	RUN(harness_pins(&p1));
	/* the rollbacks undid pins they had taken, or this proves nothing */
	CHECK(p1.acquired > p0.acquired,
	      "the failed maps pinned nothing before failing (%lld -> %lld acquired)",
	      p0.acquired, p1.acquired);
	RUN(harness_pins_equal(&p0, &p1, "after rolled-back maps"));
	harness_close(&ctx);
	return 0;
fail:
	harness_close(&ctx);
	return -1;
}

static int pins_close(enum vt_mode mode, uint8_t *buf)
{
	struct vt_pins p0;
	struct vt_ctx ctx;

	RUN(harness_pins(&p0));
	RUN(harness_open(&ctx, mode, 1));
	if (map_many(&ctx, buf) || expect_pinned(&p0, NP, "before close")) {
		harness_close(&ctx);
		return -1;
	}
	harness_close(&ctx);
	return harness_pins_settle(&p0, "after closing the container with mappings");
}

int t_pins(enum vt_mode mode)
{
	struct vt_pins p0;
	uint8_t *buf, *hole;
	int rc;

	RUN(harness_pins(&p0));
	/* NP pages, then a hole of 4 unmapped pages */
	buf = harness_alloc(NP + 4);
	if (!buf)
		return -1;
	hole = buf + NP * VT_PAGE;
	munmap(hole, 4 * VT_PAGE);
	rc = pins_unmap(mode, buf) || pins_rollback(mode, buf, hole) ||
	     pins_close(mode, buf);
	harness_free(buf, NP);
	if (rc)
		return -1;
	return harness_pins_settle(&p0, "end of pins test");
}

#define KILL_PAGES	16384

/* The child maps and unmaps KILL_PAGES single pages forever. */
static void kill_child(enum vt_mode mode, volatile long *progress)
{
	static struct vfio_iommu_type1v3_map_entry me[KILL_PAGES];
	struct vfio_iommu_type1v3_unmap_entry ue = { .iova = IOVA0, .npages = 2 * KILL_PAGES };
	struct vt_ctx ctx;
	uint8_t *buf;
	int i;

	if (harness_open(&ctx, mode, 1))
		_exit(1);
	buf = harness_alloc(KILL_PAGES);
	if (!buf)
		_exit(1);
	for (i = 0; i < KILL_PAGES; i++)
		me[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = IOVA0 + 2 * i * VT_PAGE,
			.vaddr = (uintptr_t)(buf + i * VT_PAGE),
			.npages = 1,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};
	for (;;) {
		if (mode == VT_TYPE1) {
			for (i = 0; i < KILL_PAGES; i++)
				if (harness_map(&ctx, me[i].iova, buf + i * VT_PAGE, 1))
					_exit(1);
			for (i = 0; i < KILL_PAGES; i++)
				if (harness_unmap(&ctx, me[i].iova, 1))
					_exit(1);
		} else {
			if (harness_v3_map(ctx.container, me, KILL_PAGES, NULL, NULL) ||
			    harness_v3_unmap(ctx.container, &ue, 1, NULL, NULL))
				_exit(1);
		}
		(*progress)++;
	}
}

/*
 * The parent kills the child once the global outstanding pin count shows
 * it partly through a map (between 1 and KILL_PAGES-1 pages pinned), or
 * after a deadline; it then waits for the count to return to its start.
 */
int t_pins_kill(enum vt_mode mode)
{
	volatile long *progress;
	int round, partial_seen = 0;

	progress = mmap(NULL, VT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(progress != MAP_FAILED, "mmap shared");
	for (round = 0; round < 3; round++) {
		struct vt_pins p0, p;
		uint64_t deadline;
		long long out = 0, maxout = 0;
		int status;
		pid_t pid;

		RUN(harness_pins(&p0));
		*progress = 0;
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0)
			kill_child(mode, progress);
		deadline = harness_now_ns() + 4000000000ull;
		while (harness_now_ns() < deadline) {
			if (harness_pins(&p))
				break;
			out = outstanding(&p) - outstanding(&p0);
			if (out > maxout)
				maxout = out;
			/* later rounds wait for a full cycle first */
			if (out > 0 && out < KILL_PAGES - 64 && *progress >= round)
				break;
			if (waitpid(pid, &status, WNOHANG) == pid) {
				harness_fail(__FILE__, __LINE__, "child exited early, status 0x%x", status);
				return -1;
			}
		}
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status),
		      "child not killed (status 0x%x)", status);
		if (out > 0 && out < KILL_PAGES - 64)
			partial_seen++;
		harness_note("round %d: killed with %lld pins outstanding (max seen %lld), %ld cycles done",
			     round, out, maxout, *progress);
		CHECK(maxout > 0, "child never pinned anything");
		RUN(harness_pins_settle(&p0, "after SIGKILL of the mapping process"));
	}
	CHECK(partial_seen > 0, "never caught the child part-way through a map");
	return 0;
}
