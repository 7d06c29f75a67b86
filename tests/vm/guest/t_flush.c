// SPDX-License-Identifier: BSD-3-Clause
/*
 * IOTLB syncs per call, counted in the VT-d driver itself: kprobes on
 * intel_iommu_iotlb_sync_map (after mapping) and intel_iommu_tlb_sync (the
 * flush after unmapping), read back from the trace buffer for this process
 * only, so no other device's DMA mapping can be counted.
 *
 * v3 (both modes): one MAP_DMA_BATCH of 256 scattered single pages syncs
 * once, one UNMAP_DMA_BATCH of them flushes once (one domain here). The
 * same probes count one of each per type1-compatible MAP_DMA / UNMAP_DMA
 * call, which shows they count what they should. type1: one of each per
 * page, the cost the batch ioctls remove.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

#define FL_IOVA		0x4000000ull
#define FL_PAGES	256
#define FL_SINGLE	4

static int fl_setup(void)
{
	RUN(harness_tracefs());
	CHECK_OK(harness_tracefs_write("kprobe_events",
			  "p:vbflush/sync_map intel_iommu_iotlb_sync_map\n"
			  "p:vbflush/tlb_sync intel_iommu_tlb_sync\n", 1),
		 "kprobes on the VT-d sync functions");
	CHECK_OK(harness_tracefs_write("events/vbflush/enable", "1", 0), "enable kprobes");
	CHECK_OK(harness_tracefs_write("tracing_on", "1", 0), "tracing_on");
	return 0;
}

static void fl_teardown(void)
{
	harness_tracefs_write("events/vbflush/enable", "0", 0);
	harness_tracefs_write("kprobe_events", "-:vbflush/sync_map\n-:vbflush/tlb_sync\n", 1);
}

/* Events @name of this process since the last fl_clear(). */
static long fl_count(const char *name)
{
	char line[512], pid[32], ev[64];
	FILE *f = fopen(VT_TRACEFS "/trace", "r");
	long n = 0;

	if (!f)
		return -1;
	snprintf(pid, sizeof(pid), "-%d ", (int)getpid());
	snprintf(ev, sizeof(ev), " %s:", name);
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, pid) && strstr(line, ev))
			n++;
	fclose(f);
	return n;
}

static int fl_clear(void)
{
	return harness_tracefs_write("trace", "", 0);
}

/* Both counts since the last clear must be exactly as given. */
static int fl_expect(long sync_map, long tlb_sync, const char *what)
{
	long m = fl_count("sync_map"), t = fl_count("tlb_sync");

	CHECK(m == sync_map && t == tlb_sync,
	      "%s: %ld iotlb_sync_map and %ld tlb_sync calls, want %ld and %ld",
	      what, m, t, sync_map, tlb_sync);
	harness_note("%s: %ld iotlb_sync_map, %ld tlb_sync", what, m, t);
	return fl_clear();
}

static int fl_v3(struct vt_ctx *ctx, uint8_t *buf)
{
	struct vfio_iommu_type1v3_map_entry me[FL_PAGES];
	struct vfio_iommu_type1v3_unmap_entry ue[FL_PAGES];
	int i;

	for (i = 0; i < FL_PAGES; i++) {
		/* every other IOVA page: nothing to merge */
		me[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = FL_IOVA + 2ull * i * VT_PAGE,
			.vaddr = (uintptr_t)(buf + (size_t)i * VT_PAGE),
			.npages = 1,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};
		ue[i] = (struct vfio_iommu_type1v3_unmap_entry){
			.iova = me[i].iova, .npages = 1,
		};
	}
	RUN(fl_clear());
	CHECK_OK(harness_v3_map(ctx->container, me, FL_PAGES, NULL, NULL),
		 "MAP_DMA_BATCH");
	RUN(fl_expect(1, 0, "one batch map of 256 scattered pages"));
	CHECK_OK(harness_v3_unmap(ctx->container, ue, FL_PAGES, NULL, NULL),
		 "UNMAP_DMA_BATCH");
	RUN(fl_expect(0, 1, "one batch unmap of them"));
	return 0;
}

/* One MAP_DMA and one UNMAP_DMA per page: one sync of each per call. */
static int fl_single(struct vt_ctx *ctx, uint8_t *buf, int n)
{
	int i;

	RUN(fl_clear());
	for (i = 0; i < n; i++)
		CHECK_OK(harness_t1_map(ctx->container, FL_IOVA + 2ull * i * VT_PAGE,
					buf + (size_t)i * VT_PAGE, VT_PAGE),
			 "MAP_DMA");
	RUN(fl_expect(n, 0, "MAP_DMA per page"));
	for (i = 0; i < n; i++)
		CHECK_OK(harness_t1_unmap(ctx->container,
					  FL_IOVA + 2ull * i * VT_PAGE, VT_PAGE,
					  NULL), "UNMAP_DMA");
	RUN(fl_expect(0, n, "UNMAP_DMA per page"));
	return 0;
}

int t_flush(enum vt_mode mode)
{
	struct vt_ctx ctx;
	uint8_t *buf;
	int rc = -1;

	RUN(harness_open(&ctx, mode, 1));
	buf = harness_alloc(FL_PAGES);
	if (!buf || fl_setup())
		goto out;
	if (mode == VT_TYPE1)
		rc = fl_single(&ctx, buf, 16);
	else
		rc = fl_v3(&ctx, buf) || fl_single(&ctx, buf, FL_SINGLE) ? -1 : 0;
	fl_teardown();
out:
	harness_close(&ctx);
	if (buf)
		harness_free(buf, FL_PAGES);
	return rc;
}
