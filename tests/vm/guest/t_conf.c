// SPDX-License-Identifier: BSD-3-Clause
/*
 * v3 conformance: every ioctl of the v3 backend and every error path, in
 * both modes. After each step conf_expect() checks three things against
 * the test's own count of what must be mapped: the v3 info capability's
 * mapped_pages, the global outstanding pin count and this process's
 * locked_vm. So a failed call that leaves a page mapped or pinned, or a
 * successful one that maps too little, fails where it happens.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <grp.h>

#include "tests.h"

#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define X	0x4000000ull	/* a base IOVA well inside the aperture */
#define PG(n)	((uint64_t)(n) * VT_PAGE)
#define HOLE	8		/* unmapped pages after the buffer */

struct conf {
	struct vt_ctx ctx;
	struct vt_pins p0;
	uint8_t *buf;
	uint8_t *hole;
	size_t np;
};

static struct vfio_iommu_type1v3_map_entry me(uint64_t iova, const void *va,
					      uint64_t npages)
{
	return (struct vfio_iommu_type1v3_map_entry){
		.iova = iova, .vaddr = (uintptr_t)va, .npages = npages, .flags = RW,
	};
}

static struct vfio_iommu_type1v3_unmap_entry ue(uint64_t iova, uint64_t npages)
{
	return (struct vfio_iommu_type1v3_unmap_entry){ .iova = iova, .npages = npages };
}

/* np usable pages, followed by HOLE pages that are not mapped. */
static int conf_begin(struct conf *c, enum vt_mode mode, size_t np)
{
	memset(c, 0, sizeof(*c));
	RUN(harness_pins(&c->p0));
	c->buf = harness_alloc(np + HOLE);
	if (!c->buf)
		return -1;
	c->np = np;
	c->hole = c->buf + PG(np);
	munmap(c->hole, PG(HOLE));
	return harness_open(&c->ctx, mode, 1);
}

static int conf_end(struct conf *c)
{
	harness_close(&c->ctx);
	harness_free(c->buf, c->np);
	return harness_pins_settle(&c->p0, "after closing the container");
}

static int conf_expect_at(struct conf *c, uint64_t mapped, const char *where,
			  int line)
{
	struct vt_pins p;
	uint64_t got;
	int ret;

	ret = harness_mapped_pages(c->ctx.container, &got);
	if (ret) {
		harness_fail(__FILE__, line, "%s: no v3 info capability (%d)", where, ret);
		return -1;
	}
	RUN(harness_pins(&p));
	if (got != mapped ||
	    (p.acquired - p.released) - (c->p0.acquired - c->p0.released) != (long long)mapped ||
	    p.vmlck_kb - c->p0.vmlck_kb != (long long)mapped * 4) {
		harness_fail(__FILE__, line,
			     "%s: want %llu pages mapped+pinned+locked; mapped_pages %llu, pins +%lld, VmLck +%lld kB",
			     where, (unsigned long long)mapped, (unsigned long long)got,
			     (p.acquired - p.released) - (c->p0.acquired - c->p0.released),
			     p.vmlck_kb - c->p0.vmlck_kb);
		return -1;
	}
	return 0;
}
#define conf_expect(c, n, where) RUN(conf_expect_at(c, n, where, __LINE__))

/* A batch expected to fail with err at index idx, changing nothing. */
static int map_fails_at(struct conf *c, struct vfio_iommu_type1v3_map_entry *e,
			uint32_t n, int err, uint32_t idx, uint64_t mapped,
			const char *what, int line)
{
	uint32_t failed;
	uint64_t done;
	int ret = harness_v3_map(c->ctx.container, e, n, &failed, &done);

	if (ret != -err || failed != idx || done != 0) {
		harness_fail(__FILE__, line,
			     "%s: ret %d (%s) failed_index %u pages_done %llu; want -%d (%s) at %u, 0 done",
			     what, ret, strerror(-ret), failed, (unsigned long long)done,
			     err, strerror(err), idx);
		return -1;
	}
	return conf_expect_at(c, mapped, what, line);
}
#define MAP_FAILS(c, e, n, err, idx, mapped, what) \
	RUN(map_fails_at(c, e, n, err, idx, mapped, what, __LINE__))

static int map_ok_at(struct conf *c, struct vfio_iommu_type1v3_map_entry *e,
		     uint32_t n, uint64_t mapped, const char *what, int line)
{
	uint64_t done, want = 0;
	uint32_t failed, i;
	int ret;

	for (i = 0; i < n; i++)
		want += e[i].npages;
	ret = harness_v3_map(c->ctx.container, e, n, &failed, &done);
	if (ret || failed != ~0u || done != want) {
		harness_fail(__FILE__, line,
			     "%s: ret %d (%s) failed_index %u pages_done %llu, want 0, ~0, %llu",
			     what, ret, strerror(-ret), failed, (unsigned long long)done,
			     (unsigned long long)want);
		return -1;
	}
	return conf_expect_at(c, mapped, what, line);
}
#define MAP_OK(c, e, n, mapped, what) RUN(map_ok_at(c, e, n, mapped, what, __LINE__))

static int unmap_ok_at(struct conf *c, struct vfio_iommu_type1v3_unmap_entry *e,
		       uint32_t n, uint64_t want_done, uint64_t mapped,
		       const char *what, int line)
{
	uint64_t done;
	uint32_t failed;
	int ret = harness_v3_unmap(c->ctx.container, e, n, &failed, &done);

	if (ret || done != want_done) {
		harness_fail(__FILE__, line, "%s: ret %d (%s) pages_done %llu, want 0, %llu",
			     what, ret, strerror(-ret), (unsigned long long)done,
			     (unsigned long long)want_done);
		return -1;
	}
	return conf_expect_at(c, mapped, what, line);
}
#define UNMAP_OK(c, e, n, want, mapped, what) \
	RUN(unmap_ok_at(c, e, n, want, mapped, what, __LINE__))

int t_conf_extension(enum vt_mode mode)
{
	int type = harness_iommu_type(mode);
	struct vt_ctx ctx;
	int fd, ret;

	fd = open("/dev/vfio/vfio", O_RDWR);
	CHECK(fd >= 0, "open /dev/vfio/vfio");
	CHECK(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v3_IOMMU) == 1, "tracked type not offered");
	CHECK(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v3_DIRECT_IOMMU) == 1, "direct type not offered");
	CHECK(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1, "stock type1v2 not offered");
	CHECK(ioctl(fd, VFIO_CHECK_EXTENSION, 100001) == 0, "type 100001 unexpectedly offered");
	close(fd);

	RUN(harness_open(&ctx, mode, 1));
	ret = ioctl(ctx.container, VFIO_CHECK_EXTENSION, type);
	CHECK(ret == 1, "CHECK_EXTENSION(%d) on a %s container: %d", type,
	      harness_mode_name(mode), ret);
	ret = ioctl(ctx.container, VFIO_SET_IOMMU, type) ? -errno : 0;
	CHECK(ret == -EINVAL, "second SET_IOMMU: %d", ret);	/* vfio core's answer */
	harness_close(&ctx);
	return 0;
}

int t_conf_info(enum vt_mode mode)
{
	struct vfio_iommu_type1_info small;
	struct vt_info info;
	struct conf c;
	int i, ret;

	RUN(conf_begin(&c, mode, 16));
	memset(&small, 0, sizeof(small));
	small.argsz = 8;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_GET_INFO, &small) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "GET_INFO argsz 8");

	/* Room for the header only: caps are announced, not written. */
	memset(&small, 0, sizeof(small));
	small.argsz = sizeof(small);
	ret = ioctl(c.ctx.container, VFIO_IOMMU_GET_INFO, &small) ? -errno : 0;
	CHECK_OK(ret, "GET_INFO without room for caps");
	CHECK(small.flags & VFIO_IOMMU_INFO_PGSIZES, "no PGSIZES flag");
	CHECK(small.flags & VFIO_IOMMU_INFO_CAPS, "no CAPS flag");
	CHECK(small.argsz > sizeof(small), "argsz not raised to the needed size (%u)", small.argsz);
	CHECK(small.cap_offset == 0, "cap_offset %u without room for caps", small.cap_offset);

	CHECK_OK(harness_info(c.ctx.container, &info), "GET_INFO");
	CHECK(info.pgsizes & VT_PAGE, "4 KiB not in iova_pgsizes 0x%llx",
	      (unsigned long long)info.pgsizes);
	CHECK(info.has_v3, "no v3 capability");
	CHECK(info.mode == (mode == VT_TRACKED ? VFIO_TYPE1v3_MODE_TRACKED : VFIO_TYPE1v3_MODE_DIRECT),
	      "mode %u", info.mode);
	CHECK(info.nranges >= 1, "no IOVA range capability");
	for (i = 0; i < info.nranges; i++) {
		CHECK(info.range_start[i] <= info.range_end[i], "range %d inverted", i);
		CHECK(!(info.range_start[i] <= 0xfee00000ull && 0xfee00000ull <= info.range_end[i]),
		      "range %d [0x%llx, 0x%llx] includes the MSI window", i,
		      (unsigned long long)info.range_start[i], (unsigned long long)info.range_end[i]);
		harness_note("%s: IOVA range [0x%llx, 0x%llx]", harness_mode_name(mode),
			     (unsigned long long)info.range_start[i],
			     (unsigned long long)info.range_end[i]);
	}
	conf_expect(&c, 0, "fresh container");
	{
		struct vfio_iommu_type1v3_map_entry e[3] = {
			me(X, c.buf, 3), me(X + PG(8), c.buf + PG(3), 1),
			me(X + PG(10), c.buf + PG(4), 1),
		};
		MAP_OK(&c, e, 3, 5, "map 5 pages");
	}
	CHECK_OK(harness_info(c.ctx.container, &info), "GET_INFO");
	{
		/* xarray nodes (576 bytes) from a leaf up to the root */
		uint64_t key = X / VT_PAGE, nodes = 1, want;

		if (mode == VT_DIRECT)
			key /= 512;	/* one 64-byte bitmap chunk per 512 pages */
		while ((key >>= 6))
			nodes++;
		want = nodes * 576 + (mode == VT_DIRECT ? 64 : 0);
		CHECK(info.metadata_bytes == want,
		      "metadata_bytes %llu with 5 pages mapped, want %llu",
		      (unsigned long long)info.metadata_bytes,
		      (unsigned long long)want);
	}
	harness_note("%s: metadata_bytes %llu with 5 pages mapped", harness_mode_name(mode),
		     (unsigned long long)info.metadata_bytes);
	return conf_end(&c);
}

int t_conf_map_basic(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry e[512];
	struct vfio_iommu_type1v3_unmap_entry u[2];
	struct conf c;
	int i, ret;

	RUN(conf_begin(&c, mode, 1024));
	e[0] = me(X, c.buf, 1);
	MAP_OK(&c, e, 1, 1, "one page");
	e[0] = me(X + PG(2), c.buf + PG(1), 1);
	e[1] = me(X + PG(4), c.buf + PG(2), 16);
	e[2] = me(X + PG(32), c.buf + PG(18), 7);
	MAP_OK(&c, e, 3, 25, "three entries of 1, 16 and 7 pages");
	e[0] = me(X + PG(40), c.buf + PG(25), 1);
	e[0].flags = VFIO_DMA_MAP_FLAG_READ;
	e[1] = me(X + PG(41), c.buf + PG(26), 1);
	e[1].flags = VFIO_DMA_MAP_FLAG_WRITE;
	MAP_OK(&c, e, 2, 27, "read-only and write-only entries");
	/* the same user page may back several IOVAs */
	e[0] = me(X + PG(42), c.buf, 1);
	MAP_OK(&c, e, 1, 28, "second IOVA for one page");
	u[0] = ue(X, 32);
	u[1] = ue(X + PG(32), 11);
	UNMAP_OK(&c, u, 2, 28, 0, "unmap everything in two entries");

	for (i = 0; i < 512; i++)
		e[i] = me(X + PG(2 * i), c.buf + PG(i), 1);
	MAP_OK(&c, e, 512, 512, "512 scattered single pages");
	u[0] = ue(X, 1024);
	UNMAP_OK(&c, u, 1, 512, 0, "unmap 512 pages with holes between");

	/* argsz may be larger than the kernel's struct (VFIO rule) */
	e[0] = me(X, c.buf, 1);
	{
		struct { struct vfio_iommu_type1v3_map_batch b; uint64_t extra; } big;

		memset(&big, 0, sizeof(big));
		big.b.argsz = sizeof(big);
		big.b.nr_entries = 1;
		big.b.entries = (uintptr_t)e;
		ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &big) ? -errno : 0;
		CHECK_OK(ret, "argsz larger than the struct");
		CHECK(big.b.pages_done == 1, "pages_done %llu", (unsigned long long)big.b.pages_done);
	}
	conf_expect(&c, 1, "after large-argsz map");
	return conf_end(&c);
}

/* Each bad entry sits at index 1 behind a good one, which must not stay. */
int t_conf_map_invalid(enum vt_mode mode)
{
	static const struct {
		const char *what;
		uint64_t iova, vaddr_off, npages;
		uint32_t flags, reserved;
		int err, alt;	/* alt: a second acceptable errno, or 0 */
	} bad[] = {
		{ "unaligned iova", X + 0x800, 0, 1, RW, 0, EINVAL, 0 },
		{ "unaligned vaddr", X, 0x800, 1, RW, 0, EINVAL, 0 },
		{ "npages 0", X, 0, 0, RW, 0, EINVAL, 0 },
		{ "iova + size overflows", 0xfffffffffffff000ull, 0, 2, RW, 0, EINVAL, 0 },
		{ "npages * 4096 overflows", X, 0, 1ull << 52, RW, 0, EINVAL, 0 },
		{ "no prot flags", X, 0, 1, 0, 0, EINVAL, 0 },
		{ "unknown flag VADDR", X, 0, 1, RW | VFIO_DMA_MAP_FLAG_VADDR, 0, EINVAL, 0 },
		{ "unknown flag bit 31", X, 0, 1, RW | (1u << 31), 0, EINVAL, 0 },
		{ "reserved nonzero", X, 0, 1, RW, 1, EINVAL, 0 },
		{ "iova beyond the aperture", 1ull << 50, 0, 1, RW, 0, EINVAL, ERANGE },
		{ "iova range ends beyond the aperture", (1ull << 39) - VT_PAGE, 0, 2, RW, 0, EINVAL, ERANGE },
		{ "iova in the MSI window", 0xfee00000ull, 0, 1, RW, 0, EINVAL, ERANGE },
		{ "iova range crossing into the MSI window", 0xfedff000ull, 0, 2, RW, 0, EINVAL, ERANGE },
	};
	struct vfio_iommu_type1v3_map_entry e[2];
	struct vfio_iommu_type1v3_map_batch b;
	struct conf c;
	uint32_t failed;
	uint64_t done;
	size_t i;
	int ret;

	RUN(conf_begin(&c, mode, 16));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e[0] = me(X + PG(64), c.buf, 1);
		e[1] = me(bad[i].iova, c.buf + PG(1) + bad[i].vaddr_off, bad[i].npages);
		e[1].flags = bad[i].flags;
		e[1].__reserved = bad[i].reserved;
		ret = harness_v3_map(c.ctx.container, e, 2, &failed, &done);
		CHECK(ret == -bad[i].err || (bad[i].alt && ret == -bad[i].alt),
		      "%s: got %d (%s)", bad[i].what, ret, strerror(-ret));
		CHECK(failed == 1 && done == 0, "%s: failed_index %u pages_done %llu",
		      bad[i].what, failed, (unsigned long long)done);
		conf_expect(&c, 0, bad[i].what);
	}
	/* vaddr problems found only when pinning */
	e[0] = me(X + PG(64), c.buf, 1);
	e[1] = me(X, c.hole, 1);
	MAP_FAILS(&c, e, 2, EFAULT, 1, 0, "vaddr not mapped");
	e[1] = me(X, c.hole - PG(2), 4);
	MAP_FAILS(&c, e, 2, EFAULT, 1, 0, "vaddr range running into a hole");
	e[1] = me(X, (void *)0xffff888000000000ull, 1);
	ret = harness_v3_map(c.ctx.container, e, 2, &failed, &done);
	CHECK(ret == -EFAULT || ret == -EINVAL, "kernel vaddr: %d", ret);
	conf_expect(&c, 0, "kernel vaddr");
	e[1] = me(X, (void *)0xfffffffffffff000ull, 2);
	ret = harness_v3_map(c.ctx.container, e, 2, &failed, &done);
	CHECK(ret == -EINVAL || ret == -EFAULT, "vaddr + size overflows: %d", ret);
	conf_expect(&c, 0, "vaddr overflow");

	/* Batch header errors. */
	e[1] = me(X, c.buf + PG(1), 1);
	memset(&b, 0, sizeof(b));
	b.argsz = offsetof(struct vfio_iommu_type1v3_map_batch, pages_done);
	b.nr_entries = 2;
	b.entries = (uintptr_t)e;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "argsz too small");
	/* one byte short of the last field the kernel reads */
	b.argsz = offsetof(struct vfio_iommu_type1v3_map_batch, pages_done) +
		  sizeof(b.pages_done) - 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "argsz one byte short");
	b.argsz = 0;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "argsz 0");
	b.argsz = sizeof(b);
	b.flags = 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "batch flags 1");
	b.flags = 1u << 31;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "batch flags bit 31");
	b.flags = 0;
	b.nr_entries = 0;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "nr_entries 0");
	b.nr_entries = VFIO_TYPE1v3_MAX_BATCH + 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK(ret == -E2BIG || ret == -EINVAL, "nr_entries MAX+1: %d", ret);
	b.nr_entries = 2;
	b.entries = 0;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EFAULT, "entries NULL");
	b.entries = (uintptr_t)c.hole;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EFAULT, "entries unreadable");
	conf_expect(&c, 0, "after header errors");
	MAP_OK(&c, e, 2, 2, "the same two entries, valid");
	return conf_end(&c);
}

int t_conf_eexist(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry e[3];
	struct conf c;
	int ret;

	RUN(conf_begin(&c, mode, 32));
	e[0] = me(X, c.buf, 1);
	MAP_OK(&c, e, 1, 1, "map P");
	e[0] = me(X + PG(8), c.buf + PG(1), 1);
	e[1] = me(X, c.buf + PG(2), 1);
	MAP_FAILS(&c, e, 2, EEXIST, 1, 1, "second entry on P");
	e[0] = me(X - PG(2), c.buf + PG(1), 4);
	MAP_FAILS(&c, e, 1, EEXIST, 0, 1, "range covering P");
	e[0] = me(X + PG(16), c.buf + PG(1), 1);
	e[1] = me(X + PG(16), c.buf + PG(2), 1);
	MAP_FAILS(&c, e, 2, EEXIST, 1, 1, "same IOVA twice in one batch");
	e[0] = me(X + PG(16), c.buf + PG(1), 4);
	e[1] = me(X + PG(24), c.buf + PG(5), 1);
	e[2] = me(X + PG(19), c.buf + PG(6), 2);
	MAP_FAILS(&c, e, 3, EEXIST, 2, 1, "overlap with an earlier entry of the batch");
	ret = harness_t1_map(c.ctx.container, X, c.buf + PG(3), VT_PAGE);
	CHECK_ERR(ret, EEXIST, "type1 MAP_DMA over P");
	conf_expect(&c, 1, "after type1 EEXIST");
	/* nothing of the failed batches remains: they map cleanly now */
	e[0] = me(X + PG(8), c.buf + PG(1), 1);
	e[1] = me(X + PG(16), c.buf + PG(2), 4);
	e[2] = me(X - PG(2), c.buf + PG(6), 2);
	MAP_OK(&c, e, 3, 8, "the failed batches' pages, now without conflict");
	return conf_end(&c);
}

/*
 * A batch whose header the kernel can read but not write back to (a
 * read-only page): it would map, but the caller could not learn so, so
 * it fails with EFAULT and leaves nothing mapped, pinned or charged.
 */
static int map_unanswerable(struct conf *c,
			    struct vfio_iommu_type1v3_map_entry *e, uint32_t n)
{
	struct vfio_iommu_type1v3_map_batch *b;
	int ret;

	b = mmap(NULL, VT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return -1;
	*b = (struct vfio_iommu_type1v3_map_batch){
		.argsz = sizeof(*b), .nr_entries = n,
		.failed_index = 0x5a5a5a5a, .entries = (uintptr_t)e,
		.pages_done = 0x5a5a5a5a,
	};
	mprotect(b, VT_PAGE, PROT_READ);
	ret = ioctl(c->ctx.container, VFIO_IOMMU_MAP_DMA_BATCH, b) ? -errno : 0;
	munmap(b, VT_PAGE);
	CHECK_ERR(ret, EFAULT, "a batch whose answer cannot be written");
	conf_expect(c, 0, "after the unanswerable batch");
	return 0;
}

/*
 * Batch of 8 entries of 1, 4 or 7 pages; entry k fails in turn, by an
 * already-mapped last page (EEXIST), by a vaddr running into a hole
 * (EFAULT, found while pinning after entries 0..k-1 are mapped) and by an
 * unaligned IOVA (EINVAL, found by validation); then the whole batch with
 * an answer that cannot be written back (EFAULT, taken back whole).
 */
int t_conf_rollback(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry e[8];
	struct vfio_iommu_type1v3_unmap_entry u;
	uint64_t total = 0, off = 0;
	struct conf c;
	char what[96];
	int i, k;

	RUN(conf_begin(&c, mode, 64));
	for (i = 0; i < 8; i++) {
		uint64_t n = 1 + (i % 3) * 3;

		e[i] = me(X + PG(16 * i), c.buf + PG(off), n);
		off += n;
		total += n;
	}
	for (k = 0; k < 8; k++) {
		struct vfio_iommu_type1v3_map_entry saved = e[k];
		uint64_t last = e[k].iova + PG(e[k].npages - 1);

		CHECK_OK(harness_v3_map1(c.ctx.container, last, c.buf + PG(63), 1), "pre-map");
		snprintf(what, sizeof(what), "EEXIST at entry %d", k);
		MAP_FAILS(&c, e, 8, EEXIST, (uint32_t)k, 1, what);
		CHECK_OK(harness_v3_unmap1(c.ctx.container, last, 1, NULL), "unmap pre-mapped");

		e[k].vaddr = (uintptr_t)(c.hole - PG(e[k].npages - 1));
		snprintf(what, sizeof(what), "EFAULT at entry %d", k);
		MAP_FAILS(&c, e, 8, EFAULT, (uint32_t)k, 0, what);
		e[k] = saved;

		e[k].iova += 0x100;
		snprintf(what, sizeof(what), "EINVAL at entry %d", k);
		MAP_FAILS(&c, e, 8, EINVAL, (uint32_t)k, 0, what);
		e[k] = saved;
	}
	RUN(map_unanswerable(&c, e, 8));
	MAP_OK(&c, e, 8, total, "the whole batch");
	u = ue(X, 16 * 8);
	UNMAP_OK(&c, &u, 1, total, 0, "unmap the batch");
	return conf_end(&c);
}

int t_conf_unmap(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_unmap_batch b;
	struct vfio_iommu_type1v3_unmap_entry u[3];
	struct vfio_iommu_type1v3_map_entry e[1];
	struct conf c;
	uint32_t failed;
	uint64_t done;
	int ret;

	RUN(conf_begin(&c, mode, 32));
	e[0] = me(X, c.buf, 16);
	MAP_OK(&c, e, 1, 16, "16 pages");
	u[0] = ue(X + PG(4), 4);
	UNMAP_OK(&c, u, 1, 4, 12, "sub-range 4..7");
	u[0] = ue(X - PG(4), 6);
	UNMAP_OK(&c, u, 1, 2, 10, "range from a hole into pages 0..1");
	CHECK(u[0].npages == 6, "entry rewritten without ENTRY_DONE: npages %llu",
	      (unsigned long long)u[0].npages);
	u[0] = ue(X + PG(4), 4);
	UNMAP_OK(&c, u, 1, 0, 10, "the same sub-range again");
	u[0] = ue(X + PG(1000), 100);
	UNMAP_OK(&c, u, 1, 0, 10, "a range with nothing mapped");
	e[0] = me(X + PG(5), c.buf + PG(20), 1);
	MAP_OK(&c, e, 1, 11, "map inside the unmapped sub-range");
	e[0] = me(X + PG(8), c.buf + PG(21), 1);
	MAP_FAILS(&c, e, 1, EEXIST, 0, 11, "page 8 still mapped");

	/* validation happens before anything is unmapped */
	u[0] = ue(X, 16);
	u[1] = ue(X + 0x800, 1);
	ret = harness_v3_unmap(c.ctx.container, u, 2, &failed, &done);
	CHECK_ERR(ret, EINVAL, "unaligned second entry");
	CHECK(failed == 1, "failed_index %u", failed);
	conf_expect(&c, 11, "after rejected unmap");
	u[1] = ue(0xfffffffffffff000ull, 2);
	ret = harness_v3_unmap(c.ctx.container, u, 2, &failed, &done);
	CHECK_ERR(ret, EINVAL, "overflowing second entry");
	CHECK(failed == 1, "failed_index %u", failed);
	u[1] = ue(X, 0);
	ret = harness_v3_unmap(c.ctx.container, u, 2, &failed, &done);
	CHECK_ERR(ret, EINVAL, "npages 0");
	u[1] = ue(X, 1ull << 52);
	ret = harness_v3_unmap(c.ctx.container, u, 2, &failed, &done);
	CHECK_ERR(ret, EINVAL, "npages * 4096 overflows");
	conf_expect(&c, 11, "after rejected unmaps");

	memset(&b, 0, sizeof(b));
	b.argsz = offsetof(struct vfio_iommu_type1v3_unmap_batch, pages_done);
	b.nr_entries = 1;
	b.entries = (uintptr_t)u;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "unmap argsz too small");
	b.argsz = offsetof(struct vfio_iommu_type1v3_unmap_batch, pages_done) +
		  sizeof(b.pages_done) - 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "unmap argsz one byte short");
	b.argsz = sizeof(b);
	b.flags = VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE << 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "unmap with an unknown flag");
	b.flags = 0;
	b.nr_entries = 0;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "unmap nr_entries 0");
	b.nr_entries = 1;
	b.entries = 0;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_ERR(ret, EFAULT, "unmap entries NULL");
	conf_expect(&c, 11, "after unmap header errors");

	/*
	 * Overlapping entries over holes, with each entry's own count written
	 * back (ENTRY_DONE): a page counts once, for the first entry naming
	 * it. Mapped now: pages 2, 3, 5 and 8..15.
	 */
	u[0] = ue(X + PG(2), 2);
	u[1] = ue(X, 16);
	u[2] = ue(X + PG(5), 1);
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.flags = VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE;
	b.nr_entries = 3;
	b.entries = (uintptr_t)u;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;
	CHECK_OK(ret, "unmap with ENTRY_DONE");
	CHECK(b.pages_done == 11, "pages_done %llu, want 11",
	      (unsigned long long)b.pages_done);
	CHECK(u[0].npages == 2 && u[1].npages == 9 && u[2].npages == 0,
	      "per-entry counts %llu %llu %llu, want 2 9 0",
	      (unsigned long long)u[0].npages, (unsigned long long)u[1].npages,
	      (unsigned long long)u[2].npages);
	conf_expect(&c, 0, "after the ENTRY_DONE unmap");
	return conf_end(&c);
}

int t_conf_type1_compat(enum vt_mode mode)
{
	struct vfio_iommu_type1_dma_unmap um;
	struct vfio_iommu_type1_dma_map m;
	struct vfio_iommu_type1v3_map_entry e[1];
	struct conf c;
	uint64_t bytes;
	int ret;

	RUN(conf_begin(&c, mode, 32));
	CHECK_OK(harness_t1_map(c.ctx.container, X, c.buf, PG(8)), "MAP_DMA 8 pages");
	conf_expect(&c, 8, "after MAP_DMA");
	CHECK_ERR(harness_t1_map(c.ctx.container, X + PG(7), c.buf + PG(8), PG(2)), EEXIST,
		  "MAP_DMA overlapping the end");
	CHECK_ERR(harness_t1_map(c.ctx.container, X + 0x800, c.buf, PG(1)), EINVAL, "MAP_DMA unaligned iova");
	CHECK_ERR(harness_t1_map(c.ctx.container, X + PG(20), c.buf, 0x800), EINVAL, "MAP_DMA unaligned size");
	CHECK_ERR(harness_t1_map(c.ctx.container, X + PG(20), c.buf, 0), EINVAL, "MAP_DMA size 0");
	CHECK_ERR(harness_t1_map(c.ctx.container, 0xfffffffffffff000ull, c.buf, PG(2)), EINVAL,
		  "MAP_DMA iova + size overflows");
	memset(&m, 0, sizeof(m));
	m.argsz = offsetof(struct vfio_iommu_type1_dma_map, size);
	m.flags = RW;
	m.vaddr = (uintptr_t)c.buf;
	m.iova = X + PG(20);
	m.size = VT_PAGE;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "MAP_DMA argsz too small");
	m.argsz = sizeof(m);
	m.flags = RW | (1u << 7);
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "MAP_DMA unknown flag");
	conf_expect(&c, 8, "after refused MAP_DMAs");

	CHECK_OK(harness_t1_unmap(c.ctx.container, X + PG(2), PG(2), &bytes), "UNMAP_DMA sub-range");
	CHECK(bytes == PG(2), "UNMAP_DMA sub-range reported %llu bytes", (unsigned long long)bytes);
	conf_expect(&c, 6, "after sub-range unmap");
	CHECK_OK(harness_t1_unmap(c.ctx.container, X - PG(4), PG(10), &bytes), "UNMAP_DMA across holes");
	CHECK(bytes == PG(4), "UNMAP_DMA across holes reported %llu bytes",
	      (unsigned long long)bytes);
	conf_expect(&c, 2, "after unmap across holes");

	memset(&um, 0, sizeof(um));
	um.argsz = offsetof(struct vfio_iommu_type1_dma_unmap, size);
	um.iova = X;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "UNMAP_DMA argsz too small");
	memset(&um, 0, sizeof(um));
	um.argsz = sizeof(um);
	um.flags = 1u << 7;
	um.iova = X;
	um.size = PG(8);
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "UNMAP_DMA unknown flag");
	um.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "UNMAP_DMA FLAG_ALL with a range");
	/* a size that is not whole pages, over mapped pages: nothing goes */
	um.flags = 0;
	um.iova = X + PG(6);
	um.size = PG(1) + 1;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "UNMAP_DMA size not page-aligned");
	conf_expect(&c, 2, "after refused UNMAP_DMAs");

	e[0] = me(X + PG(100), c.buf + PG(10), 5);
	MAP_OK(&c, e, 1, 7, "a batch map next to type1 maps");
	memset(&um, 0, sizeof(um));
	um.argsz = sizeof(um);
	um.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_OK(ret, "UNMAP_DMA FLAG_ALL");
	CHECK(um.size == PG(7), "FLAG_ALL reported %llu bytes", (unsigned long long)um.size);
	conf_expect(&c, 0, "after FLAG_ALL");
	return conf_end(&c);
}

static long long status_kb(const char *key)
{
	struct vt_pins p;

	if (harness_pins(&p))
		return -1;
	return !strcmp(key, "VmLck") ? p.vmlck_kb : p.vmpin_kb;
}

/*
 * The child sets RLIMIT_MEMLOCK to 16 pages. As root (CAP_IPC_LOCK) the
 * limit does not apply; after dropping to nobody it does, counting what
 * the container already holds, and a refused batch pins nothing.
 */
static int memlock_child(enum vt_mode mode)
{
	struct rlimit rl = { .rlim_cur = PG(16), .rlim_max = PG(16) };
	struct vfio_iommu_type1v3_map_entry e[2];
	struct vt_ctx ctx;
	uint32_t failed;
	uint64_t done;
	uint8_t *buf;
	int ret;

	RUN(harness_open(&ctx, mode, 1));
	buf = harness_alloc(64);
	CHECK(buf, "alloc");
	CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit");
	CHECK_OK(harness_v3_map1(ctx.container, X, buf, 32), "root maps 32 pages over a 16-page limit");
	CHECK_OK(harness_v3_unmap1(ctx.container, X, 32, NULL), "unmap");

	CHECK(!setgroups(0, NULL) && !setgid(65534) && !setuid(65534), "drop to nobody");
	CHECK(status_kb("VmLck") == 0, "VmLck not 0 after unmap");
	CHECK_OK(harness_v3_map1(ctx.container, X, buf, 8), "8 pages within the limit");
	e[0] = me(X + PG(16), buf + PG(8), 4);
	e[1] = me(X + PG(32), buf + PG(12), 8);
	ret = harness_v3_map(ctx.container, e, 2, &failed, &done);
	CHECK_ERR(ret, ENOMEM, "batch of 12 more pages over the limit");
	CHECK(done == 0, "pages_done %llu", (unsigned long long)done);
	CHECK(status_kb("VmLck") == 32, "VmLck %lld kB after refused batch, want 32",
	      status_kb("VmLck"));
	CHECK_OK(harness_v3_map1(ctx.container, X + PG(16), buf + PG(8), 8), "up to exactly the limit");
	CHECK_ERR(harness_v3_map1(ctx.container, X + PG(32), buf + PG(16), 1), ENOMEM, "one page more");
	CHECK_ERR(harness_t1_map(ctx.container, X + PG(32), buf + PG(16), VT_PAGE), ENOMEM,
		  "type1 MAP_DMA one page more");
	CHECK(status_kb("VmLck") == 64, "VmLck %lld kB at the limit", status_kb("VmLck"));
	CHECK_OK(harness_v3_unmap1(ctx.container, X, 64, &done), "unmap all");
	CHECK(done == 16, "unmapped %llu", (unsigned long long)done);
	CHECK(status_kb("VmLck") == 0, "VmLck %lld kB after unmap", status_kb("VmLck"));
	CHECK_OK(harness_v3_map1(ctx.container, X, buf, 16), "the limit again after unmap");
	harness_close(&ctx);
	return 0;
}

int t_conf_memlock(enum vt_mode mode)
{
	struct vt_pins p0;
	int status;
	pid_t pid;

	RUN(harness_pins(&p0));
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(memlock_child(mode) ? 1 : 0);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status 0x%x)", status);
	return harness_pins_settle(&p0, "after the unprivileged child exited");
}

/*
 * Longer than the 4096 pages a store walk holds the xarray's lock for
 * (v3_tracked_breathe()): the vaddr updates must get across the points
 * where the walk lets go of it, and on the debug kernel
 * (tests/vm/debug) do so without sleeping under it.
 */
#define VADDR_LONG	8193

/* Tracked mode: invalidate and re-set the vaddrs of a VADDR_LONG range. */
static int vaddr_long(struct conf *c)
{
	struct vfio_iommu_type1_dma_unmap um = {
		.argsz = sizeof(um), .flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = X, .size = PG(VADDR_LONG),
	};
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)(c->buf + PG(16)), .iova = X,
		.size = PG(VADDR_LONG),
	};

	CHECK_OK(harness_t1_map(c->ctx.container, X, c->buf + PG(16), PG(VADDR_LONG)),
		 "MAP_DMA of the long range");
	CHECK_OK(ioctl(c->ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0,
		 "UNMAP_DMA FLAG_VADDR of the long range");
	CHECK(um.size == PG(VADDR_LONG), "invalidated %llu bytes, want %llu",
	      (unsigned long long)um.size, (unsigned long long)PG(VADDR_LONG));
	conf_expect(c, VADDR_LONG, "a long range invalidated");
	CHECK_OK(ioctl(c->ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0,
		 "MAP_DMA FLAG_VADDR of the long range");
	conf_expect(c, VADDR_LONG, "a long range updated");
	CHECK_OK(harness_t1_unmap(c->ctx.container, X, PG(VADDR_LONG), NULL),
		 "UNMAP_DMA of the long range");
	conf_expect(c, 0, "after unmapping the long range");
	return 0;
}

/*
 * Live-update vaddr protocol (type1's VFIO_UPDATE_VADDR): tracked mode
 * invalidates and re-sets the vaddrs of mapped pages without unpinning or
 * unmapping them; direct mode keeps no vaddrs and refuses both.
 */
int t_conf_vaddr(enum vt_mode mode)
{
	struct vfio_iommu_type1_dma_unmap um;
	struct vfio_iommu_type1_dma_map m;
	struct conf c;
	int ret, ext;

	RUN(conf_begin(&c, mode, 16 + VADDR_LONG));
	CHECK_OK(harness_t1_map(c.ctx.container, X, c.buf, PG(4)), "MAP_DMA 4 pages");
	ext = ioctl(c.ctx.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR);
	memset(&um, 0, sizeof(um));
	um.argsz = sizeof(um);
	um.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	um.iova = X;
	um.size = PG(4);
	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = VFIO_DMA_MAP_FLAG_VADDR;
	m.vaddr = (uintptr_t)(c.buf + PG(8));
	m.iova = X;
	m.size = PG(4);
	if (mode == VT_DIRECT) {
		CHECK(ext == 0, "direct mode offers VFIO_UPDATE_VADDR (%d)", ext);
		ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
		CHECK_ERR(ret, EINVAL, "UNMAP_DMA FLAG_VADDR in direct mode");
		ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
		CHECK_ERR(ret, EINVAL, "MAP_DMA FLAG_VADDR in direct mode");
		conf_expect(&c, 4, "after refused vaddr updates");
		return conf_end(&c);
	}
	CHECK(ext == 1, "tracked mode does not offer VFIO_UPDATE_VADDR (%d)", ext);
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_OK(ret, "UNMAP_DMA FLAG_VADDR");
	conf_expect(&c, 4, "vaddr invalidated: pages stay mapped and pinned");
	m.flags = VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "MAP_DMA FLAG_VADDR with a protection flag (type1's rule)");
	m.flags = VFIO_DMA_MAP_FLAG_VADDR;
	m.size = PG(6);		/* pages 4 and 5 are not mapped */
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	CHECK_ERR(ret, EINVAL, "MAP_DMA FLAG_VADDR over a range with unmapped pages");
	m.size = PG(4);
	ret = ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	CHECK_OK(ret, "MAP_DMA FLAG_VADDR with the new vaddr");
	conf_expect(&c, 4, "vaddr updated: nothing pinned twice");
	CHECK_OK(harness_t1_unmap(c.ctx.container, X, PG(4), NULL), "UNMAP_DMA");
	conf_expect(&c, 0, "after unmap");
	RUN(vaddr_long(&c));
	return conf_end(&c);
}

/*
 * One mm per container: after the parent has mapped, a forked child (same
 * container fd, its own mm) may not map; nothing is pinned for it, and in
 * tracked mode a vaddr update it makes over a range with a hole fails
 * without taking the container. The parent's mappings are untouched and
 * still its own. Once the parent has unmapped everything the container
 * belongs to nobody, and a child may map (and is then its owner).
 */
int t_conf_mm(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry e[1];
	struct conf c;
	int status;
	pid_t pid;

	RUN(conf_begin(&c, mode, 16));
	e[0] = me(X, c.buf, 4);
	MAP_OK(&c, e, 1, 4, "parent maps 4 pages");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int ret = harness_v3_map1(c.ctx.container, X + PG(8), c.buf + PG(8), 2);
		int ret1 = harness_t1_map(c.ctx.container, X + PG(8), c.buf + PG(8), PG(2));
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
			.vaddr = (uintptr_t)c.buf, .iova = X, .size = PG(6),
		};
		int ret2 = mode == VT_TRACKED &&
			   ioctl(c.ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;

		if (ret != -EPERM || ret1 != -EPERM ||
		    ret2 != (mode == VT_TRACKED ? -EINVAL : 0)) {
			harness_fail(__FILE__, __LINE__, "child: batch %d, MAP_DMA %d, want -EPERM; vaddr update %d",
				     ret, ret1, ret2);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	conf_expect(&c, 4, "after the child's refused maps");
	e[0] = me(X + PG(8), c.buf + PG(8), 2);
	MAP_OK(&c, e, 1, 6, "parent maps again");

	CHECK_OK(harness_t1_unmap(c.ctx.container, X, PG(16), NULL), "parent unmaps all");
	conf_expect(&c, 0, "empty container");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int ret = harness_v3_map1(c.ctx.container, X, c.buf, 2);
		int ret1 = harness_t1_unmap(c.ctx.container, X, PG(2), NULL);

		if (ret || ret1) {
			harness_fail(__FILE__, __LINE__, "child of an empty container: map %d, unmap %d, want 0",
				     ret, ret1);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	conf_expect(&c, 0, "after the child mapped and unmapped");
	e[0] = me(X, c.buf, 1);
	MAP_OK(&c, e, 1, 1, "parent owns the empty container again");
	return conf_end(&c);
}

/*
 * No limit but memory: 70,000 separate single-page mappings, more than
 * type1's default dma_entry_limit of 65,535, each its own entry at every
 * other IOVA page (16 user pages, each pinned many times), mapped in
 * batches and taken down by one UNMAP_DMA with FLAG_ALL.
 */
#define MANY		70000u
#define MANY_BATCH	10000u
int t_conf_many(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry *e;
	struct vfio_iommu_type1_dma_unmap um;
	struct conf c;
	uint64_t done;
	uint32_t i, b;
	int ret;

	RUN(conf_begin(&c, mode, 16));
	e = calloc(MANY_BATCH, sizeof(*e));
	CHECK(e, "calloc");
	for (b = 0; b < MANY; b += MANY_BATCH) {
		for (i = 0; i < MANY_BATCH; i++)
			e[i] = me(X + PG(2ull * (b + i)), c.buf + PG((b + i) % 16), 1);
		ret = harness_v3_map(c.ctx.container, e, MANY_BATCH, NULL, &done);
		if (ret || done != MANY_BATCH)
			free(e);
		CHECK(!ret && done == MANY_BATCH, "batch at %u: ret %d, %llu pages", b, ret,
		      (unsigned long long)done);
	}
	free(e);
	conf_expect(&c, MANY, "70,000 single-page mappings");
	memset(&um, 0, sizeof(um));
	um.argsz = sizeof(um);
	um.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	ret = ioctl(c.ctx.container, VFIO_IOMMU_UNMAP_DMA, &um) ? -errno : 0;
	CHECK_OK(ret, "UNMAP_DMA FLAG_ALL");
	CHECK(um.size == PG(MANY), "UNMAP_DMA FLAG_ALL reported %llu bytes",
	      (unsigned long long)um.size);
	conf_expect(&c, 0, "after UNMAP_DMA FLAG_ALL");
	return conf_end(&c);
}
