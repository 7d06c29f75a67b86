// SPDX-License-Identifier: BSD-3-Clause
/*
 * FOLL_LONGTERM proof. The guest boots with movablecore= (run.sh), so it
 * has a ZONE_MOVABLE, and user pages are taken from it first. A page there
 * must not stay pinned for DMA, or memory offlining and compaction could
 * never move it; a long-term pin migrates it out of the zone first. So
 * after mapping pages that were in ZONE_MOVABLE, every one of them must sit
 * outside the zone (its PFN, read from /proc/self/pagemap, changed), keep
 * the bytes it had, and be the page the device reaches through its IOVA:
 * the copy the process sees, not the old one. A plain pin (without
 * FOLL_LONGTERM) leaves the pages where they are, and this test fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edu.h"
#include "tests.h"

#define LT_ALLOC	4096	/* pages allocated to find movable ones */
#define LT_PAGES	32	/* of which this many are mapped */
#define LT_DMA_CHECKED	2	/* of which this many are checked by DMA */
#define LT_IOVA		0x0500000ull
#define LT_IOVA_SCRATCH	0x0600000ull

/* The PFN range of ZONE_MOVABLE from /proc/zoneinfo: 0, or -1 (reported). */
static int movable_zone(unsigned long long *start, unsigned long long *end)
{
	unsigned long long spanned = 0, pfn = 0;
	int in_movable = 0, found = 0;
	char line[256];
	FILE *f = fopen("/proc/zoneinfo", "r");

	CHECK(f, "/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char zone[32];
		int node;

		if (sscanf(line, "Node %d, zone %31s", &node, zone) == 2) {
			in_movable = !strcmp(zone, "Movable");
			continue;
		}
		if (!in_movable)
			continue;
		if (sscanf(line, " spanned %llu", &spanned) == 1)
			continue;
		if (sscanf(line, " start_pfn: %llu", &pfn) == 1)
			found = 1;
	}
	fclose(f);
	CHECK(found && spanned,
	      "no populated ZONE_MOVABLE in /proc/zoneinfo: the guest must boot with movablecore= (tests/vm/run.sh)");
	*start = pfn;
	*end = pfn + spanned;
	return 0;
}

/* The PFN backing vaddr p, from /proc/self/pagemap: 0 if none is visible. */
static unsigned long long pfn_of(int pagemap, const void *p)
{
	uint64_t ent;
	off_t off = (off_t)((uintptr_t)p / VT_PAGE) * sizeof(ent);

	if (pread(pagemap, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	if (!(ent & (1ull << 63)))
		return 0;
	return ent & ((1ull << 55) - 1);
}

struct lt_page {
	uint8_t *p;
	unsigned long long pfn;	/* before the map */
};

/* Up to LT_PAGES pages of buf lying in [start, end): how many. */
static int pick_movable(int pagemap, uint8_t *buf, unsigned long long start,
			unsigned long long end, struct lt_page *pg)
{
	int n = 0;
	size_t i;

	for (i = 0; i < LT_ALLOC && n < LT_PAGES; i++) {
		unsigned long long pfn = pfn_of(pagemap, buf + i * VT_PAGE);

		if (pfn >= start && pfn < end) {
			pg[n].p = buf + i * VT_PAGE;
			pg[n].pfn = pfn;
			n++;
		}
	}
	return n;
}

/* One batch on v3 (each page an entry), one MAP_DMA per page on type1. */
static int map_pages(struct vt_ctx *ctx, const struct lt_page *pg, int n)
{
	struct vfio_iommu_type1v3_map_entry e[LT_PAGES];
	uint64_t done;
	int i;

	if (ctx->mode == VT_TYPE1) {
		for (i = 0; i < n; i++)
			CHECK_OK(harness_map(ctx, LT_IOVA + i * VT_PAGE, pg[i].p, 1),
				 "type1 map");
		return 0;
	}
	for (i = 0; i < n; i++)
		e[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = LT_IOVA + i * VT_PAGE, .vaddr = (uintptr_t)pg[i].p,
			.npages = 1,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};
	CHECK_OK(harness_v3_map(ctx->container, e, n, NULL, &done), "v3 batch map");
	CHECK(done == (uint64_t)n, "pages_done %llu, want %d", (unsigned long long)done, n);
	return 0;
}

static int check_moved(struct vt_ctx *ctx, struct edu *e, int pagemap,
		       const struct lt_page *pg, int n, unsigned long long start,
		       unsigned long long end, uint8_t *scratch)
{
	uint8_t want[VT_PAGE];
	int i;

	for (i = 0; i < n; i++) {
		unsigned long long pfn = pfn_of(pagemap, pg[i].p);

		CHECK(pfn && (pfn < start || pfn >= end),
		      "page %d: PFN 0x%llx (0x%llx before the map) is still in ZONE_MOVABLE [0x%llx, 0x%llx): pinned without FOLL_LONGTERM",
		      i, pfn, pg[i].pfn, start, end);
		t_dma_fill(want, VT_PAGE, 1000 + i);
		CHECK(!memcmp(pg[i].p, want, VT_PAGE), "page %d lost its bytes in the move", i);
	}
	harness_note("%s: %d pages moved out of ZONE_MOVABLE [0x%llx, 0x%llx), e.g. PFN 0x%llx -> 0x%llx",
		     harness_mode_name(ctx->mode), n, start, end, pg[0].pfn,
		     pfn_of(pagemap, pg[0].p));
	/*
	 * The device reaches the page the process has: first the bytes written
	 * before the move, then bytes the CPU writes now.
	 */
	for (i = 0; i < LT_DMA_CHECKED; i++) {
		RUN(t_dma_copy(e, LT_IOVA + i * VT_PAGE, pg[i].p, LT_IOVA_SCRATCH, scratch));
		t_dma_fill(pg[i].p, VT_PAGE, 2000 + i);
		RUN(t_dma_copy(e, LT_IOVA + i * VT_PAGE, pg[i].p, LT_IOVA_SCRATCH, scratch));
	}
	return 0;
}

int t_longterm(enum vt_mode mode)
{
	struct lt_page pg[LT_PAGES];
	unsigned long long start, end;
	struct vt_pins p0, p1;
	struct vt_ctx ctx;
	struct edu e;
	uint8_t *buf, *scratch;
	int pagemap, n, i, rc = -1;

	RUN(movable_zone(&start, &end));
	RUN(harness_pins(&p0));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	CHECK(pagemap >= 0, "/proc/self/pagemap: %s", strerror(errno));
	buf = harness_alloc(LT_ALLOC);
	scratch = harness_alloc(1);
	if (!buf || !scratch)
		goto out_mem;	/* harness_free() of a failed one does nothing */
	n = pick_movable(pagemap, buf, start, end, pg);
	if (n < LT_PAGES) {
		harness_fail(__FILE__, __LINE__,
			     "only %d of %d fresh pages in ZONE_MOVABLE [0x%llx, 0x%llx), %d wanted",
			     n, LT_ALLOC, start, end, LT_PAGES);
		goto out_mem;
	}
	for (i = 0; i < n; i++)
		t_dma_fill(pg[i].p, VT_PAGE, 1000 + i);
	if (harness_open(&ctx, mode, 1))
		goto out_mem;
	if (edu_open(&e, ctx.group[0], ctx.dev[0].addr))
		goto out_ctx;
	if (harness_map(&ctx, LT_IOVA_SCRATCH, scratch, 1) || map_pages(&ctx, pg, n))
		goto out_edu;
	if (harness_pins(&p1))
		goto out_edu;
	if (p1.acquired - p1.released < p0.acquired - p0.released + n + 1) {
		harness_fail(__FILE__, __LINE__, "mapping %d pages: outstanding pins +%lld",
			     n + 1, (p1.acquired - p1.released) - (p0.acquired - p0.released));
		goto out_edu;
	}
	rc = check_moved(&ctx, &e, pagemap, pg, n, start, end, scratch);
	if (!rc && (harness_unmap(&ctx, LT_IOVA, n) ||
		    harness_unmap(&ctx, LT_IOVA_SCRATCH, 1)))
		rc = -1;
out_edu:
	edu_close(&e);
out_ctx:
	harness_close(&ctx);
out_mem:
	harness_free(buf, LT_ALLOC);
	harness_free(scratch, 1);
	close(pagemap);
	if (rc)
		return rc;
	return harness_pins_settle(&p0, "after unmapping the moved pages");
}
