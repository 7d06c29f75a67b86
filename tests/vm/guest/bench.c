// SPDX-License-Identifier: BSD-3-Clause
/*
 * Kernel backend benchmark (vmtest bench; driven by tests/vm/bench.sh).
 *
 * One guest, one run. Each case opens a fresh container, samples the
 * kernel's memory counters, maps, samples again, unmaps, samples a third
 * time and closes. Memory per mapped page comes from the growth of
 *  - slab: sum of active_objs * objsize over /proc/slabinfo, i.e. every
 *    kmalloc/kmem_cache object the backend keeps (type1's vfio_dma, v3's
 *    xarray nodes and bitmap chunks);
 *  - IOMMU page tables: nr_iommu_pages in /proc/vmstat;
 * both after /proc/sys/vm/stat_refresh, which folds per-CPU deltas. v3's
 * own metadata_bytes (info capability) is printed next to them.
 *
 * Scattered layout: page i sits at IOVA BASE + 2 i pages (never adjacent)
 * and is backed by a random page of the buffer (never contiguous), so no
 * backend can merge neighbours. Buffers are MADV_NOHUGEPAGE so each
 * IOMMU entry is one 4 KiB page. Rates are wall-clock over the whole map
 * (or unmap) loop, including the ioctl entry cost per batch.
 *
 * The scattered and sparse cases run BENCH_ROUNDS times, interleaved; the
 * host reports each figure's median over the rounds. Then PAIRS paired
 * speed passes (bench_pair) give the batch-64 ratios to type1.
 *
 * Output: one "VMBENCH key=value ..." line per case; the host formats.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tests.h"

#define NSCAT		65536ull
#define NDENSE		262144ull	/* 1 GiB */
#define SPARSE_STRIDE	64
#define BASE		0x100000000ull	/* 4 GiB: below QEMU's 39-bit aperture */
#define BENCH_ROUNDS	5
#define NPAIR		NSCAT
#define PAIRS		9

struct sample {
	long long slab;		/* bytes */
	long long iommu_pages;
	uint64_t meta;		/* v3 metadata_bytes */
};

struct bcase {
	const char *layout;	/* scattered, dense, sparse64 */
	enum vt_mode mode;
	uint32_t batch;		/* entries per ioctl; 0 = one entry for all */
};

static long long slab_bytes(void)
{
	char line[512];
	long long sum = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		long long active, total, size;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%127s %lld %lld %lld", name, &active, &total, &size) == 4)
			sum += active * size;
	}
	fclose(f);
	return sum;
}

static int sample(struct vt_ctx *ctx, struct sample *s)
{
	harness_stat_refresh();
	s->slab = slab_bytes();
	s->iommu_pages = harness_vmstat("nr_iommu_pages");
	s->meta = 0;
	if (ctx->mode != VT_TYPE1) {
		struct vt_info info;

		CHECK_OK(harness_info(ctx->container, &info), "info");
		s->meta = info.metadata_bytes;
	}
	CHECK(s->slab >= 0 && s->iommu_pages >= 0, "cannot read slabinfo/vmstat");
	return 0;
}

static uint8_t *bench_alloc(uint64_t npages)
{
	uint8_t *p = mmap(NULL, npages * VT_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t i;

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, npages * VT_PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++)
		p[i * VT_PAGE] = 1;
	return p;
}

/*
 * Every entry of a case, built before the clock starts: the timed loops
 * then hold nothing but each backend's own calls (type1 reads its IOVA and
 * vaddr from the same entries), so harness work per page does not dilute
 * the comparison.
 */
static void layout(const struct bcase *c, const uint32_t *perm, uint8_t *buf,
		   uint64_t n, struct vfio_iommu_type1v3_map_entry *e,
		   struct vfio_iommu_type1v3_unmap_entry *u)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t stride = strcmp(c->layout, "sparse64") ? 2 : SPARSE_STRIDE;

		e[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = BASE + stride * i * VT_PAGE,
			.vaddr = (uintptr_t)(buf + (uint64_t)perm[i] * VT_PAGE),
			.npages = 1,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};
		u[i] = (struct vfio_iommu_type1v3_unmap_entry){
			.iova = e[i].iova, .npages = 1,
		};
	}
}

static int do_map(struct vt_ctx *ctx, const struct bcase *c, uint64_t n,
		  uint8_t *buf, struct vfio_iommu_type1v3_map_entry *e)
{
	uint64_t i, done;
	uint32_t k, failed;

	if (c->batch == 0) {	/* the whole range as one mapping */
		if (ctx->mode == VT_TYPE1)
			CHECK_OK(harness_t1_map(ctx->container, BASE, buf, n * VT_PAGE), "type1 map");
		else
			CHECK_OK(harness_v3_map1(ctx->container, BASE, buf, n), "v3 map");
		return 0;
	}
	if (ctx->mode == VT_TYPE1) {
		for (i = 0; i < n; i++)
			CHECK_OK(harness_t1_map(ctx->container, e[i].iova,
						(void *)(uintptr_t)e[i].vaddr, VT_PAGE),
				 "type1 map");
		return 0;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < c->batch ? n - i : c->batch;
		CHECK_OK(harness_v3_map(ctx->container, e + i, k, &failed, &done), "v3 batch map");
		CHECK(done == k, "pages_done %llu", (unsigned long long)done);
	}
	return 0;
}

static int do_unmap(struct vt_ctx *ctx, const struct bcase *c, uint64_t n,
		    struct vfio_iommu_type1v3_unmap_entry *u)
{
	uint64_t i, done, total = 0;
	uint32_t k;

	if (c->batch == 0) {
		if (ctx->mode == VT_TYPE1) {
			CHECK_OK(harness_t1_unmap(ctx->container, BASE, n * VT_PAGE, &done), "type1 unmap");
			done /= VT_PAGE;
		} else {
			CHECK_OK(harness_v3_unmap1(ctx->container, BASE, n, &done), "v3 unmap");
		}
		CHECK(done == n, "unmapped %llu of %llu", (unsigned long long)done,
		      (unsigned long long)n);
		return 0;
	}
	for (i = 0; i < n; i += k) {
		if (ctx->mode == VT_TYPE1) {
			k = 1;
			CHECK_OK(harness_t1_unmap(ctx->container, u[i].iova, VT_PAGE, &done), "type1 unmap");
			total += done / VT_PAGE;
			continue;
		}
		k = n - i < c->batch ? n - i : c->batch;
		CHECK_OK(harness_v3_unmap(ctx->container, u + i, k, NULL, &done), "v3 batch unmap");
		total += done;
	}
	CHECK(total == n, "unmapped %llu of %llu", (unsigned long long)total,
	      (unsigned long long)n);
	return 0;
}

/*
 * Pin every page of a fresh buffer once, untimed. The guest's
 * movablecore= puts fresh user pages in ZONE_MOVABLE, which a long-term
 * pin first migrates out of; whichever case pinned a page first would
 * pay that for every page there (type1, which runs first).
 */
static int bench_settle(uint8_t *buf, uint64_t n)
{
	static const struct bcase whole = { "dense", VT_DIRECT, 0 };
	struct vt_ctx ctx;

	RUN(harness_open(&ctx, VT_DIRECT, 1));
	RUN(do_map(&ctx, &whole, n, buf, NULL));
	RUN(do_unmap(&ctx, &whole, n, NULL));
	harness_close(&ctx);
	return 0;
}

static int bench_case(const struct bcase *c, uint64_t n, const uint32_t *perm,
		      uint8_t *buf, int round)
{
	static struct vfio_iommu_type1v3_map_entry e[NSCAT];
	static struct vfio_iommu_type1v3_unmap_entry u[NSCAT];
	struct sample s0, s1, s2;
	struct vt_ctx ctx;
	uint64_t t0, t1, t2, t3;
	double tm, tu;

	if (c->batch)
		layout(c, perm, buf, n, e, u);
	RUN(harness_open(&ctx, c->mode, 1));
	RUN(sample(&ctx, &s0));
	t0 = harness_now_ns();
	RUN(do_map(&ctx, c, n, buf, e));
	t1 = harness_now_ns();
	RUN(sample(&ctx, &s1));
	t2 = harness_now_ns();
	RUN(do_unmap(&ctx, c, n, u));
	t3 = harness_now_ns();
	RUN(sample(&ctx, &s2));
	harness_close(&ctx);
	tm = (t1 - t0) / 1e9;
	tu = (t3 - t2) / 1e9;
	printf("VMBENCH round=%d backend=%s layout=%s batch=%u pages=%llu slab_bpp=%.3f iopt_bpp=%.3f meta_bpp=%.3f slab_left=%lld map_pps=%.0f unmap_pps=%.0f both_pps=%.0f\n",
	       round, harness_mode_name(c->mode), c->layout, c->batch, (unsigned long long)n,
	       (double)(s1.slab - s0.slab) / n,
	       (double)(s1.iommu_pages - s0.iommu_pages) * VT_PAGE / n,
	       (double)s1.meta / n, s2.slab - s0.slab, n / tm, n / tu, n / (tm + tu));
	return 0;
}

/*
 * Paired speed: the scattered layout's 65,536 pages mapped and unmapped by
 * type1, v3 direct and v3 tracked (batches of 64) back to back, PAIRS
 * times, each pair starting with another backend. In the rounds above a
 * backend's cases lie ten seconds apart, and a slow patch of the host moves
 * a single case by up to 2x here, hitting one backend and not the other;
 * the passes of a pair follow each other directly, so its ratios compare
 * like with like. No memory sampling: only the timed map and unmap loops.
 */
static int bench_pair(int pair, const uint32_t *perm, uint8_t *buf)
{
	static const struct bcase cases[] = {
		{ "scattered", VT_TYPE1, 1 },
		{ "scattered", VT_DIRECT, 64 },
		{ "scattered", VT_TRACKED, 64 },
	};
	static struct vfio_iommu_type1v3_map_entry e[NPAIR];
	static struct vfio_iommu_type1v3_unmap_entry u[NPAIR];
	double pps[3];
	struct vt_ctx ctx;
	uint64_t t0, t1;
	int i, k;

	layout(&cases[0], perm, buf, NPAIR, e, u);
	for (i = 0; i < 3; i++) {
		k = (pair + i) % 3;
		RUN(harness_open(&ctx, cases[k].mode, 1));
		t0 = harness_now_ns();
		RUN(do_map(&ctx, &cases[k], NPAIR, buf, e));
		RUN(do_unmap(&ctx, &cases[k], NPAIR, u));
		t1 = harness_now_ns();
		harness_close(&ctx);
		pps[k] = NPAIR / ((t1 - t0) / 1e9);
	}
	printf("VMBENCH pair=%d pages=%llu type1_pps=%.0f direct_pps=%.0f tracked_pps=%.0f\n",
	       pair, (unsigned long long)NPAIR, pps[0], pps[1], pps[2]);
	return 0;
}

/* The counters' own drift over one sample pair with nothing mapped. */
static int bench_noise(void)
{
	struct sample s0, s1;
	struct vt_ctx ctx;

	RUN(harness_open(&ctx, VT_DIRECT, 1));
	RUN(sample(&ctx, &s0));
	RUN(sample(&ctx, &s1));
	harness_close(&ctx);
	printf("VMBENCH noise slab_bytes=%lld iommu_pages=%lld\n", s1.slab - s0.slab,
	       s1.iommu_pages - s0.iommu_pages);
	return 0;
}

/* type1 refuses the 65,536th mapping by default. */
static int type1_limit(void)
{
	CHECK_OK(harness_write_file("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
				    "4194304", 0), "dma_entry_limit");
	return 0;
}

int t_bench(enum vt_mode unused)
{
	static const struct bcase scattered[] = {
		{ "scattered", VT_TYPE1, 1 },
		{ "scattered", VT_TRACKED, 1 }, { "scattered", VT_TRACKED, 16 },
		{ "scattered", VT_TRACKED, 64 }, { "scattered", VT_TRACKED, 512 },
		{ "scattered", VT_DIRECT, 1 }, { "scattered", VT_DIRECT, 16 },
		{ "scattered", VT_DIRECT, 64 }, { "scattered", VT_DIRECT, 512 },
		{ "sparse64", VT_TRACKED, 512 }, { "sparse64", VT_DIRECT, 512 },
	};
	static const struct bcase dense[] = {
		{ "dense", VT_TYPE1, 0 }, { "dense", VT_TRACKED, 0 }, { "dense", VT_DIRECT, 0 },
	};
	uint32_t *perm;
	uint8_t *buf;
	size_t k;
	int r;

	(void)unused;
	RUN(type1_limit());
	perm = malloc(NSCAT * sizeof(*perm));
	CHECK(perm, "malloc");
	harness_shuffle(perm, NSCAT);
	buf = bench_alloc(NSCAT);
	CHECK(buf, "alloc %llu pages", NSCAT);
	RUN(bench_settle(buf, NSCAT));
	RUN(bench_noise());
	/* rounds interleave the cases, so load on the host hits all alike */
	for (r = 0; r < BENCH_ROUNDS; r++)
		for (k = 0; k < sizeof(scattered) / sizeof(scattered[0]); k++)
			RUN(bench_case(&scattered[k], NSCAT, perm, buf, r));
	for (r = 0; r < PAIRS; r++)
		RUN(bench_pair(r, perm, buf));
	munmap(buf, NSCAT * VT_PAGE);
	buf = bench_alloc(NDENSE);
	CHECK(buf, "alloc %llu pages", NDENSE);
	RUN(bench_settle(buf, NDENSE));
	for (k = 0; k < sizeof(dense) / sizeof(dense[0]); k++)
		RUN(bench_case(&dense[k], NDENSE, NULL, buf, 0));
	munmap(buf, NDENSE * VT_PAGE);
	free(perm);
	return 0;
}
