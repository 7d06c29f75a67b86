// SPDX-License-Identifier: BSD-3-Clause
/*
 * DMA proofs with edu. "Reach": bytes written by the CPU into page A are
 * read by the device through IOVA A and written by the device through
 * IOVA B into page B, so both directions are verified byte for byte (two
 * 2048-byte halves cover each page). "Fault": after unmapping A, the device
 * writing to IOVA A leaves page A untouched, reading from it does not
 * deliver page A's bytes, and the guest kernel logs a DMAR fault for it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "edu.h"
#include "tests.h"

#define IOVA_A	0x0200000ull
#define IOVA_B	0x0300000ull
#define IOVA_C	0x0ff0000ull
#define IOVA_R	0x0400000ull	/* mapped read-only */

void t_dma_fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

int t_dma_copy(struct edu *e, uint64_t iova_src, const uint8_t *src,
	       uint64_t iova_dst, uint8_t *dst)
{
	unsigned int half;

	memset(dst, 0, VT_PAGE);
	for (half = 0; half < 2; half++) {
		RUN(edu_dma_from_ram(e, iova_src + half * EDU_DMA_MAX, EDU_DMA_MAX));
		RUN(edu_dma_to_ram(e, iova_dst + half * EDU_DMA_MAX, EDU_DMA_MAX));
	}
	CHECK(!memcmp(src, dst, VT_PAGE),
	      "DMA 0x%llx -> device -> 0x%llx: bytes differ (dst[0]=%02x src[0]=%02x)",
	      (unsigned long long)iova_src, (unsigned long long)iova_dst, dst[0], src[0]);
	return 0;
}

/* Copies page src, freshly filled, to page dst through the device. */
static int dma_reach(struct edu *e, uint64_t iova_src, uint8_t *src,
		     uint64_t iova_dst, uint8_t *dst, unsigned int seed)
{
	t_dma_fill(src, VT_PAGE, seed);
	return t_dma_copy(e, iova_src, src, iova_dst, dst);
}

/*
 * A fault counts as seen when the DMAR fault interrupt fired; the kernel's
 * fault message is only a note, because its printing is rate-limited.
 */
static int fault_wait(long long before, int kfd, const char *needle,
		      const char *what, int need_fault)
{
	int i, logged = 0;

	for (i = 0; i < 100; i++) {
		if (!logged)
			logged = harness_kmsg_find(kfd, needle);
		if (harness_dmar_faults() > before && logged)
			break;
		usleep(10000);
	}
	close(kfd);
	if (!need_fault) {
		if (harness_dmar_faults() == before)
			harness_note("%s: write refused; QEMU 7.2 raised no DMAR fault for it", what);
		return 0;
	}
	CHECK(harness_dmar_faults() > before, "%s: no DMAR fault interrupt", what);
	if (!logged)
		harness_note("%s: DMAR fault interrupt seen, message rate-limited", what);
	return 0;
}

/*
 * The device writing to iova a must not reach page a; b is mapped. QEMU
 * 7.2 refuses a write to a read-only page it has just translated for a
 * read without raising a DMAR fault, so there only the bytes are checked.
 */
static int dma_write_blocked(struct edu *e, uint64_t iova_a, uint8_t *a,
			     uint64_t iova_b, uint8_t *b, const char *what,
			     int need_fault)
{
	char needle[64];
	long long before;
	int kfd;

	snprintf(needle, sizeof(needle), "fault addr 0x%llx", (unsigned long long)iova_a);
	memset(a, 0x5c, VT_PAGE);
	t_dma_fill(b, VT_PAGE, 99);
	RUN(edu_dma_from_ram(e, iova_b, EDU_DMA_MAX));	/* device buffer := b */
	before = harness_dmar_faults();
	kfd = harness_kmsg_mark();
	RUN(edu_dma_to_ram(e, iova_a, EDU_DMA_MAX));
	RUN(fault_wait(before, kfd, needle, what, need_fault));
	for (size_t i = 0; i < VT_PAGE; i++)
		CHECK(a[i] == 0x5c, "%s: DMA write through IOVA 0x%llx landed at byte %zu",
		      what, (unsigned long long)iova_a, i);
	return 0;
}

/* IOVA a is unmapped (page a still ours); b is a mapped scratch page. */
static int dma_fault(struct edu *e, uint64_t iova_a, uint8_t *a,
		     uint64_t iova_b, uint8_t *b)
{
	char needle[64];
	long long before;
	int kfd;

	RUN(dma_write_blocked(e, iova_a, a, iova_b, b, "DMA write to unmapped IOVA", 1));

	/* Unmapped IOVA -> device: must not deliver page a's bytes. */
	snprintf(needle, sizeof(needle), "fault addr 0x%llx", (unsigned long long)iova_a);
	before = harness_dmar_faults();
	kfd = harness_kmsg_mark();
	RUN(edu_dma_from_ram(e, iova_a, EDU_DMA_MAX));
	RUN(fault_wait(before, kfd, needle, "DMA read from unmapped IOVA", 1));
	memset(b, 0, VT_PAGE);
	RUN(edu_dma_to_ram(e, iova_b, EDU_DMA_MAX));
	CHECK(memcmp(a, b, EDU_DMA_MAX), "DMA read through unmapped IOVA 0x%llx returned the page",
	      (unsigned long long)iova_a);
	return 0;
}

/* Maps page r read-only at IOVA_R (a v3 batch entry with only READ). */
static int map_readonly(struct vt_ctx *ctx, uint8_t *r)
{
	struct vfio_iommu_type1v3_map_entry e = {
		.iova = IOVA_R, .vaddr = (uintptr_t)r, .npages = 1,
		.flags = VFIO_DMA_MAP_FLAG_READ,
	};

	CHECK_OK(harness_v3_map(ctx->container, &e, 1, NULL, NULL), "read-only map");
	return 0;
}

/* Device reads the read-only page fine and cannot write it. */
static int dma_readonly(struct edu *e, uint8_t *r, uint8_t *b, unsigned int seed)
{
	RUN(dma_reach(e, IOVA_R, r, IOVA_B, b, seed));
	return dma_write_blocked(e, IOVA_R, r, IOVA_B, b, "DMA write to read-only IOVA", 0);
}

/* Maps two pages in one call: a two-entry batch on v3. */
static int map_pair(struct vt_ctx *ctx, uint64_t ia, void *a, uint64_t ib, void *b)
{
	struct vfio_iommu_type1v3_map_entry e[2] = {
		{ .iova = ia, .vaddr = (uintptr_t)a, .npages = 1,
		  .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE },
		{ .iova = ib, .vaddr = (uintptr_t)b, .npages = 1,
		  .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE },
	};
	uint32_t failed;
	uint64_t done;
	int ret;

	if (ctx->mode == VT_TYPE1) {
		CHECK_OK(harness_map(ctx, ia, a, 1), "type1 map A");
		CHECK_OK(harness_map(ctx, ib, b, 1), "type1 map B");
		return 0;
	}
	ret = harness_v3_map(ctx->container, e, 2, &failed, &done);
	CHECK_OK(ret, "v3 batch map A+B");
	CHECK(done == 2 && failed == ~0u, "pages_done %llu failed_index %u",
	      (unsigned long long)done, failed);
	return 0;
}

/*
 * Every DMA test's end: closing the container drops whatever the test left
 * mapped, the buffer goes, a test that split the domains (@unshared) puts
 * sharing back, and a test that passed must see every pin back where it
 * started (@p0).
 */
static int dma_end(struct vt_ctx *ctx, uint8_t *buf, unsigned int npages,
		   bool unshared, const struct vt_pins *p0, int rc,
		   const char *where)
{
	harness_close(ctx);
	if (buf)
		harness_free(buf, npages);
	if (unshared && harness_share_domains(1))
		rc = -1;
	if (!rc)
		rc = harness_pins_settle(p0, where);
	return rc;
}

int t_dma(enum vt_mode mode)
{
	struct vt_pins p0, p1;
	struct vt_ctx ctx;
	struct edu e;
	uint8_t *buf;
	int rc = -1;

	RUN(harness_pins(&p0));
	RUN(harness_open(&ctx, mode, 1));
	buf = harness_alloc(3);
	if (!buf || edu_open(&e, ctx.group[0], ctx.dev[0].addr))
		goto out;
	if (map_pair(&ctx, IOVA_A, buf, IOVA_B, buf + VT_PAGE))
		goto out_edu;
	if (harness_pins(&p1))
		goto out_edu;
	if (p1.acquired - p1.released < p0.acquired - p0.released + 2 ||
	    p1.vmlck_kb != p0.vmlck_kb + 8) {
		harness_fail(__FILE__, __LINE__, "mapping 2 pages: outstanding pins +%lld, VmLck +%lld kB",
			     (p1.acquired - p1.released) - (p0.acquired - p0.released),
			     p1.vmlck_kb - p0.vmlck_kb);
		goto out_edu;
	}
	if (dma_reach(&e, IOVA_A, buf, IOVA_B, buf + VT_PAGE, 1) ||
	    dma_reach(&e, IOVA_B, buf + VT_PAGE, IOVA_A, buf, 2))
		goto out_edu;
	if (mode != VT_TYPE1 &&
	    (map_readonly(&ctx, buf + 2 * VT_PAGE) ||
	     dma_readonly(&e, buf + 2 * VT_PAGE, buf + VT_PAGE, 8)))
		goto out_edu;
	if (harness_unmap(&ctx, IOVA_A, 1)) {
		harness_fail(__FILE__, __LINE__, "unmap A");
		goto out_edu;
	}
	if (dma_fault(&e, IOVA_A, buf, IOVA_B, buf + VT_PAGE))
		goto out_edu;
	if (harness_unmap(&ctx, IOVA_B, 1)) {
		harness_fail(__FILE__, __LINE__, "unmap B");
		goto out_edu;
	}
	rc = 0;
out_edu:
	edu_close(&e);
out:
	return dma_end(&ctx, buf, 3, false, &p0, rc, "after DMA test");
}

/*
 * Replay: group 2 joins a container that already has mappings, in an
 * IOMMU domain of its own (share_domains=0; a shared one would just be
 * joined, with nothing to replay). Its device must reach those pages (the
 * new domain's page tables grow as the replay fills them), pages mapped
 * afterwards must reach both devices, and an unmap must cut both off.
 */
int t_dma_replay(enum vt_mode mode)
{
	struct edu e0 = { .fd = -1 }, e1 = { .fd = -1 };
	long long pt0, pt1;
	struct vt_pins p0;
	struct vt_ctx ctx;
	uint8_t *buf;
	int rc = -1;

	RUN(harness_pins(&p0));
	RUN(harness_share_domains(0));
	if (harness_open(&ctx, mode, 1)) {
		harness_share_domains(1);
		return -1;
	}
	buf = harness_alloc(4);
	if (!buf || edu_open(&e0, ctx.group[0], ctx.dev[0].addr))
		goto out;
	if (map_pair(&ctx, IOVA_A, buf, IOVA_B, buf + VT_PAGE) ||
	    map_readonly(&ctx, buf + 3 * VT_PAGE))
		goto out_edu;
	if (ctx.ndevs < 2) {
		harness_fail(__FILE__, __LINE__, "replay needs a second edu device");
		goto out_edu;
	}
	harness_stat_refresh();
	pt0 = harness_vmstat("nr_iommu_pages");
	if (harness_attach(&ctx, 1) || edu_open(&e1, ctx.group[1], ctx.dev[1].addr))
		goto out_edu;
	harness_stat_refresh();
	pt1 = harness_vmstat("nr_iommu_pages");
	if (pt1 <= pt0) {
		harness_fail(__FILE__, __LINE__,
			     "late attach built no page tables (%lld -> %lld): nothing replayed",
			     pt0, pt1);
		goto out_edu;
	}
	if (dma_reach(&e1, IOVA_A, buf, IOVA_B, buf + VT_PAGE, 3) ||
	    dma_reach(&e1, IOVA_B, buf + VT_PAGE, IOVA_A, buf, 4) ||
	    dma_reach(&e0, IOVA_A, buf, IOVA_B, buf + VT_PAGE, 5))
		goto out_edu;
	/* the replay keeps the read-only protection */
	if (dma_readonly(&e1, buf + 3 * VT_PAGE, buf + VT_PAGE, 9))
		goto out_edu;
	if (harness_map(&ctx, IOVA_C, buf + 2 * VT_PAGE, 1)) {
		harness_fail(__FILE__, __LINE__, "map C after late attach");
		goto out_edu;
	}
	if (dma_reach(&e1, IOVA_C, buf + 2 * VT_PAGE, IOVA_B, buf + VT_PAGE, 6) ||
	    dma_reach(&e0, IOVA_C, buf + 2 * VT_PAGE, IOVA_B, buf + VT_PAGE, 7))
		goto out_edu;
	if (harness_unmap(&ctx, IOVA_A, 1)) {
		harness_fail(__FILE__, __LINE__, "unmap A");
		goto out_edu;
	}
	if (dma_fault(&e1, IOVA_A, buf, IOVA_B, buf + VT_PAGE) ||
	    dma_fault(&e0, IOVA_A, buf, IOVA_B, buf + VT_PAGE))
		goto out_edu;
	rc = 0;
out_edu:
	edu_close(&e1);
	edu_close(&e0);
out:
	return dma_end(&ctx, buf, 4, true, &p0, rc,
		       "after replay test (container closed with mappings)");
}

/*
 * Detach and re-attach: a group leaving a container with mappings takes
 * nothing with it (the other device still reaches the pages, no pin is
 * dropped); joining again replays (domains unshared, as above); when the
 * last group leaves, the backend is released and every pin is returned
 * although the container fd stays open.
 */
int t_dma_detach(enum vt_mode mode)
{
	struct edu e0 = { .fd = -1 }, e1 = { .fd = -1 };
	struct vt_pins p0, p1, p2;
	struct vt_ctx ctx;
	uint8_t *buf;
	int i, rc = -1;

	RUN(harness_pins(&p0));
	RUN(harness_share_domains(0));
	if (harness_open(&ctx, mode, 2)) {
		harness_share_domains(1);
		return -1;
	}
	buf = harness_alloc(2);
	if (!buf || edu_open(&e0, ctx.group[0], ctx.dev[0].addr))
		goto out;
	if (map_pair(&ctx, IOVA_A, buf, IOVA_B, buf + VT_PAGE) || harness_pins(&p1))
		goto out_edu;
	if (ioctl(ctx.group[1], VFIO_GROUP_UNSET_CONTAINER)) {
		harness_fail(__FILE__, __LINE__, "UNSET_CONTAINER group 2: %s", strerror(errno));
		goto out_edu;
	}
	close(ctx.group[1]);
	ctx.group[1] = -1;
	if (harness_pins(&p2) || harness_pins_equal(&p1, &p2, "after detaching group 2") ||
	    dma_reach(&e0, IOVA_A, buf, IOVA_B, buf + VT_PAGE, 10))
		goto out_edu;
	if (harness_attach(&ctx, 1) || edu_open(&e1, ctx.group[1], ctx.dev[1].addr) ||
	    dma_reach(&e1, IOVA_B, buf + VT_PAGE, IOVA_A, buf, 11))
		goto out_edu;
	edu_close(&e1);
	edu_close(&e0);
	for (i = 0; i < 2; i++) {
		if (ioctl(ctx.group[i], VFIO_GROUP_UNSET_CONTAINER)) {
			harness_fail(__FILE__, __LINE__, "UNSET_CONTAINER group %d: %s", i + 1,
				     strerror(errno));
			goto out;
		}
	}
	if (harness_pins_settle(&p0, "after the last group left (container fd open)"))
		goto out;
	rc = 0;
	goto out;
out_edu:
	edu_close(&e1);
	edu_close(&e0);
out:
	return dma_end(&ctx, buf, 2, true, &p0, rc, "after detach test");
}

/*
 * Cuts, proven with DMA. One 4-page mapping loses its middle two pages to
 * a batch unmap: its first and last page still reach the device, the
 * middle ones fault. Then a batch unmaps the pages either side of a mapped
 * one: the unmap may span the gap between the runs it removes only where
 * nothing of ours is mapped, so the page in between must still reach the
 * device.
 */
int t_dma_cut(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_unmap_entry u[2];
	struct vt_pins p0;
	struct vt_ctx ctx;
	struct edu e;
	uint8_t *buf, *b;
	uint64_t done;
	int rc = -1;

	RUN(harness_pins(&p0));
	RUN(harness_open(&ctx, mode, 1));
	buf = harness_alloc(8);
	if (!buf || edu_open(&e, ctx.group[0], ctx.dev[0].addr))
		goto out;
	b = buf + 4 * VT_PAGE;		/* the scratch page at IOVA_B */
	if (harness_v3_map1(ctx.container, IOVA_A, buf, 4) ||
	    harness_v3_map1(ctx.container, IOVA_B, b, 1) ||
	    harness_v3_map1(ctx.container, IOVA_C, buf + 5 * VT_PAGE, 3)) {
		harness_fail(__FILE__, __LINE__, "maps for the cut test");
		goto out_edu;
	}
	u[0] = (struct vfio_iommu_type1v3_unmap_entry){ IOVA_A + VT_PAGE, 2 };
	if (harness_v3_unmap(ctx.container, u, 1, NULL, &done) || done != 2) {
		harness_fail(__FILE__, __LINE__, "unmap of the middle two pages: %llu done",
			     (unsigned long long)done);
		goto out_edu;
	}
	if (dma_reach(&e, IOVA_A, buf, IOVA_B, b, 20) ||
	    dma_reach(&e, IOVA_A + 3 * VT_PAGE, buf + 3 * VT_PAGE, IOVA_B, b, 21) ||
	    dma_fault(&e, IOVA_A + VT_PAGE, buf + VT_PAGE, IOVA_B, b) ||
	    dma_fault(&e, IOVA_A + 2 * VT_PAGE, buf + 2 * VT_PAGE, IOVA_B, b))
		goto out_edu;

	/* C, C+1, C+2 mapped; unmap C and C+2 in one batch */
	u[0] = (struct vfio_iommu_type1v3_unmap_entry){ IOVA_C, 1 };
	u[1] = (struct vfio_iommu_type1v3_unmap_entry){ IOVA_C + 2 * VT_PAGE, 1 };
	if (harness_v3_unmap(ctx.container, u, 2, NULL, &done) || done != 2) {
		harness_fail(__FILE__, __LINE__, "unmap of C and C+2: %llu done",
			     (unsigned long long)done);
		goto out_edu;
	}
	if (dma_reach(&e, IOVA_C + VT_PAGE, buf + 6 * VT_PAGE, IOVA_B, b, 22) ||
	    dma_reach(&e, IOVA_B, b, IOVA_C + VT_PAGE, buf + 6 * VT_PAGE, 23) ||
	    dma_fault(&e, IOVA_C, buf + 5 * VT_PAGE, IOVA_B, b) ||
	    dma_fault(&e, IOVA_C + 2 * VT_PAGE, buf + 7 * VT_PAGE, IOVA_B, b))
		goto out_edu;
	rc = 0;
out_edu:
	edu_close(&e);
out:
	return dma_end(&ctx, buf, 8, false, &p0, rc, "after the cut test");
}
