// SPDX-License-Identifier: BSD-3-Clause
/*
 * Emulated devices on a v3 container: vfio_pin_pages(), vfio_unpin_pages(),
 * vfio_dma_rw() and the dma_unmap callback, driven through the test device
 * of tests/vm/emu (vfio_emu_test.ko, loaded by /init).
 *
 * The emulated group joins a container that already holds an edu group and
 * mappings. The device's reads and writes must land in exactly the mapped
 * bytes and honour each page's protection; its pins must name the pages
 * the process mapped; unmapping (batch or type1 ioctl) must call the
 * device back for the range so it lets go. Page references are counted
 * (VFIO_EMU_TEST_REFS, from the test module): a device pin adds one, and
 * every unmap and close gives each back, including a reference the device
 * "forgot" (dropped without unpinning), which the backend must release
 * with the container.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "tests.h"
#include "vfio_emu_test.h"

#define EMU_IOVA	0x40000000ull
#define EMU_PAGES	8	/* 0-3 read/write, 4 read-only, 5-7 unmapped */
#define EMU_RO		4
#define IOVA(p)		(EMU_IOVA + (uint64_t)(p) * VT_PAGE)
#define PROT_R		1	/* the kernel's IOMMU_READ */
#define PROT_W		2	/* IOMMU_WRITE */

struct emu {
	struct vt_ctx ctx;
	uint8_t *buf;
	int group;
	int dev;
	int refs;	/* /dev/vfio_emu_test */
};

/*
 * Freshly faulted pages may sit in a per-CPU LRU batch that holds a
 * reference of its own until the batch drains. move_pages() to the node
 * the pages are already on migrates nothing but drains every CPU's batch
 * first (lru_cache_disable), so the counts read afterwards are stable.
 */
static int emu_drain(uint8_t *buf, int npages)
{
	void *pages[EMU_PAGES];
	int nodes[EMU_PAGES], status[EMU_PAGES], i;

	for (i = 0; i < npages; i++) {
		pages[i] = buf + (size_t)i * VT_PAGE;
		nodes[i] = 0;
	}
	CHECK(!syscall(SYS_move_pages, 0, npages, pages, nodes, status, 2 /* MPOL_MF_MOVE */),
	      "move_pages: %s", strerror(errno));
	return 0;
}

/* References held on the page behind @va (see vfio_emu_test.h). */
static long long emu_refs(struct emu *e, const void *va)
{
	struct vfio_emu_test_refs r = { .vaddr = (uintptr_t)va };
	int ret;

	/*
	 * A page that a long-term pin moved out of ZONE_MOVABLE (run.sh boots
	 * with one) enters the LRU through a per-CPU batch that holds a
	 * reference of its own until drained; writing 1 to drop_caches drains
	 * every CPU's batch (lru_add_drain_all) and drops nothing of ours.
	 */
	ret = harness_write_file("/proc/sys/vm/drop_caches", "1", 0);
	if (ret) {
		harness_fail(__FILE__, __LINE__, "drop_caches: %s", strerror(-ret));
		return -1;
	}
	if (ioctl(e->refs, VFIO_EMU_TEST_REFS, &r)) {
		harness_fail(__FILE__, __LINE__, "REFS: %s", strerror(errno));
		return -1;
	}
	return r.refs;
}

/* The emulated group's number, from the test device's sysfs link. */
static int emu_group_id(void)
{
	char link[256];
	const char *slash;
	ssize_t n;

	n = readlink("/sys/bus/platform/devices/" VFIO_EMU_TEST_NAME "/iommu_group", link,
		     sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	slash = strrchr(link, '/');
	return slash ? atoi(slash + 1) : -1;
}

/* The emulated group joins e->ctx.container. */
static int emu_join(struct emu *e)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int gid = emu_group_id();
	char path[64];

	CHECK(gid >= 0, "no %s device: is vfio_emu_test.ko loaded?", VFIO_EMU_TEST_NAME);
	snprintf(path, sizeof(path), "/dev/vfio/%d", gid);
	e->group = open(path, O_RDWR);
	CHECK(e->group >= 0, "open %s: %s", path, strerror(errno));
	CHECK(!ioctl(e->group, VFIO_GROUP_GET_STATUS, &st) &&
	      (st.flags & VFIO_GROUP_FLAGS_VIABLE), "emulated group %d not viable", gid);
	CHECK(!ioctl(e->group, VFIO_GROUP_SET_CONTAINER, &e->ctx.container),
	      "SET_CONTAINER for the emulated group: %s", strerror(errno));
	return 0;
}

/* ... and its device is opened (the container has an IOMMU type). */
static int emu_open(struct emu *e)
{
	RUN(emu_join(e));
	e->dev = ioctl(e->group, VFIO_GROUP_GET_DEVICE_FD, VFIO_EMU_TEST_NAME);
	CHECK(e->dev >= 0, "GET_DEVICE_FD %s: %s", VFIO_EMU_TEST_NAME, strerror(errno));
	return 0;
}

static int emu_rw(struct emu *e, uint64_t iova, void *data, uint32_t len, int write)
{
	struct vfio_emu_test_rw rw = {
		.iova = iova, .data = (uintptr_t)data, .len = len, .write = write,
	};

	return ioctl(e->dev, VFIO_EMU_TEST_RW, &rw) ? -errno : 0;
}

/* Pages pinned (> 0) or -errno; *first gets the first page's first word. */
static int emu_pin(struct emu *e, uint64_t iova, uint32_t npages, uint32_t prot,
		   uint64_t *first)
{
	struct vfio_emu_test_pin p = { .iova = iova, .npages = npages, .prot = prot };
	int ret = ioctl(e->dev, VFIO_EMU_TEST_PIN, &p);

	if (ret < 0)
		return -errno;
	if (first)
		*first = p.first_word;
	return ret;
}

static int emu_unpin(struct emu *e, uint64_t iova, uint32_t npages, int forget)
{
	struct vfio_emu_test_unpin u = { .iova = iova, .npages = npages, .forget = forget };
	int ret = ioctl(e->dev, VFIO_EMU_TEST_UNPIN, &u);

	return ret < 0 ? -errno : ret;
}

static int emu_state(struct emu *e, struct vfio_emu_test_state *s)
{
	CHECK(!ioctl(e->dev, VFIO_EMU_TEST_STATE, s), "STATE: %s", strerror(errno));
	return 0;
}

/* The device's reads and writes reach exactly the mapped bytes. */
static int emu_check_rw(struct emu *e)
{
	uint8_t out[2 * VT_PAGE + 200], in[VT_PAGE];
	size_t i;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	memset(e->buf, 0, 4 * VT_PAGE);
	/* across three pages, starting and ending inside a page */
	CHECK_OK(emu_rw(e, IOVA(0) + 100, out, sizeof(out), 1), "device write");
	CHECK(!memcmp(e->buf + 100, out, sizeof(out)), "device write did not land");
	CHECK(e->buf[99] == 0 && e->buf[100 + sizeof(out)] == 0,
	      "device write spilled outside its range");

	for (i = 0; i < VT_PAGE; i++)
		e->buf[3 * VT_PAGE + i] = (uint8_t)(i ^ 0x5a);
	CHECK_OK(emu_rw(e, IOVA(3), in, VT_PAGE, 0), "device read");
	CHECK(!memcmp(in, e->buf + 3 * VT_PAGE, VT_PAGE), "device read other bytes");

	memset(e->buf + EMU_RO * VT_PAGE, 0xc3, 16);
	CHECK_OK(emu_rw(e, IOVA(EMU_RO), in, 16, 0), "device read of the read-only page");
	CHECK(in[0] == 0xc3 && in[15] == 0xc3, "read-only page read other bytes");
	CHECK_ERR(emu_rw(e, IOVA(EMU_RO), out, 16, 1), EPERM,
		  "device write to the read-only page");
	CHECK(e->buf[EMU_RO * VT_PAGE] == 0xc3, "refused write changed the page");
	CHECK_ERR(emu_rw(e, IOVA(6), in, 16, 0), EINVAL, "device read of an unmapped page");
	CHECK_ERR(emu_rw(e, IOVA(EMU_RO) + VT_PAGE - 8, in, 16, 0), EINVAL,
		  "device read running into an unmapped page");
	return 0;
}

/* Pins name the mapped pages, honour protection and count references. */
static int emu_check_pins(struct emu *e, long long mapped_refs)
{
	struct vfio_emu_test_state s;
	uint64_t word = 0;

	((uint64_t *)e->buf)[0] = 0x1122334455667788ull;
	CHECK(emu_pin(e, IOVA(0), 2, PROT_R | PROT_W, &word) == 2, "pin 2 pages");
	CHECK(word == 0x1122334455667788ull, "pinned page holds 0x%llx, not the mapped bytes",
	      (unsigned long long)word);
	CHECK(emu_refs(e, e->buf) == mapped_refs + 1, "a device pin took %lld references, want 1",
	      emu_refs(e, e->buf) - mapped_refs);
	CHECK_ERR(emu_pin(e, IOVA(EMU_RO), 1, PROT_R | PROT_W, NULL), EPERM,
		  "writable pin of the read-only page");
	CHECK(emu_pin(e, IOVA(EMU_RO), 1, PROT_R, NULL) == 1, "read pin of the read-only page");
	CHECK_ERR(emu_pin(e, IOVA(6), 1, PROT_R, NULL), EINVAL, "pin of an unmapped page");
	CHECK_ERR(emu_pin(e, IOVA(EMU_RO), 2, PROT_R, NULL), EINVAL,
		  "pin running into an unmapped page");
	RUN(emu_state(e, &s));
	CHECK(s.npins == 3, "device holds %u pins, want 3", s.npins);
	CHECK(emu_unpin(e, IOVA(EMU_RO), 1, 0) == 1, "unpin of the read-only page");
	/* an offset into the page is ignored, as type1 does (the page after
	 * the read-only one holds no pin the unpin's range could catch) */
	word = 0;
	CHECK(emu_pin(e, IOVA(EMU_RO) + 0x10, 1, PROT_R, &word) == 1,
	      "pin at an offset into a mapped page");
	CHECK(word == 0xc3c3c3c3c3c3c3c3ull, "pin at an offset gave a page holding 0x%llx",
	      (unsigned long long)word);
	CHECK(emu_unpin(e, IOVA(EMU_RO) + 0x10, 1, 0) == 1, "unpin at an offset");
	return 0;
}

/* Unmapping calls the device back for the range; the device lets go. */
static int emu_check_unmap(struct emu *e, long long refs0)
{
	struct vfio_emu_test_state s0, s;
	uint64_t done = 0;
	uint8_t b;

	RUN(emu_state(e, &s0));
	CHECK_OK(harness_v3_unmap1(e->ctx.container, IOVA(0), 4, &done), "batch unmap");
	CHECK(done == 4, "batch unmap took %llu pages, want 4", (unsigned long long)done);
	RUN(emu_state(e, &s));
	CHECK(s.unmap_calls > s0.unmap_calls, "no dma_unmap callback for the batch unmap");
	/* only the pages it holds, not the 4 pages unmapped */
	CHECK(s.last_unmap_iova == IOVA(0) && s.last_unmap_len == 2 * VT_PAGE,
	      "callback named 0x%llx+0x%llx, want 0x%llx+0x%lx",
	      (unsigned long long)s.last_unmap_iova, (unsigned long long)s.last_unmap_len,
	      (unsigned long long)IOVA(0), 2 * VT_PAGE);
	CHECK(s.npins == 0 && s.unpinned_by_unmap == 2,
	      "after unmap the device holds %u pins, unpinned %llu in the callback",
	      s.npins, (unsigned long long)s.unpinned_by_unmap);
	/* told before the pages went, as type1 does: it could still read them */
	CHECK(s.readable_at_unmap - s0.readable_at_unmap == 2,
	      "the device could read %llu of its 2 pinned pages when told of the unmap",
	      (unsigned long long)(s.readable_at_unmap - s0.readable_at_unmap));
	CHECK(emu_refs(e, e->buf) == refs0, "page holds %lld references after unmap, %lld before map",
	      emu_refs(e, e->buf), refs0);
	CHECK_ERR(emu_rw(e, IOVA(0), &b, 1, 0), EINVAL, "device read after unmap");

	/* the type1 ioctls on the same container notify the same way */
	CHECK_OK(harness_t1_map(e->ctx.container, IOVA(0), e->buf, VT_PAGE), "MAP_DMA");
	CHECK(emu_pin(e, IOVA(0), 1, PROT_R | PROT_W, NULL) == 1, "pin after MAP_DMA");
	RUN(emu_state(e, &s0));
	CHECK_OK(harness_t1_unmap(e->ctx.container, IOVA(0), VT_PAGE, NULL), "UNMAP_DMA");
	RUN(emu_state(e, &s));
	CHECK(s.readable_at_unmap - s0.readable_at_unmap == 1,
	      "UNMAP_DMA: the device could not read its pinned page when told");
	CHECK(s.last_unmap_iova == IOVA(0) && s.last_unmap_len == VT_PAGE && s.npins == 0,
	      "UNMAP_DMA: callback 0x%llx+0x%llx, %u pins left",
	      (unsigned long long)s.last_unmap_iova, (unsigned long long)s.last_unmap_len,
	      s.npins);
	CHECK(emu_refs(e, e->buf) == refs0, "page holds %lld references after UNMAP_DMA, want %lld",
	      emu_refs(e, e->buf), refs0);
	return 0;
}

/*
 * UNMAP_ALL covers all 2^64 bytes, but the device is told only the runs of
 * pages it holds: a driver that walks what it is told page by page (kvmgt
 * does) would not finish 2^52 pages. Run by run: pages 0-1, then 3 (page
 * 2 is mapped but not held, page 4 mapped read-only and not held).
 */
static int emu_check_unmap_all(struct emu *e, long long refs0)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	struct vfio_emu_test_state s0, s;

	CHECK_OK(harness_v3_map1(e->ctx.container, IOVA(0), e->buf, 4), "map 4 pages");
	CHECK(emu_pin(e, IOVA(0), 2, PROT_R | PROT_W, NULL) == 2, "pin pages 0-1");
	CHECK(emu_pin(e, IOVA(3), 1, PROT_R, NULL) == 1, "pin page 3");
	RUN(emu_state(e, &s0));
	CHECK(!ioctl(e->ctx.container, VFIO_IOMMU_UNMAP_DMA, &u),
	      "UNMAP_DMA with FLAG_ALL: %s", strerror(errno));
	RUN(emu_state(e, &s));
	CHECK(s.unmap_calls - s0.unmap_calls == 2 && s.last_unmap_iova == IOVA(3) &&
	      s.last_unmap_len == VT_PAGE && s.max_unmap_len == 2 * VT_PAGE,
	      "UNMAP_ALL: %llu callbacks, the last 0x%llx+0x%llx, the longest 0x%llx; want 2, "
	      "0x%llx+0x%lx, 0x%lx",
	      (unsigned long long)(s.unmap_calls - s0.unmap_calls),
	      (unsigned long long)s.last_unmap_iova, (unsigned long long)s.last_unmap_len,
	      (unsigned long long)s.max_unmap_len, (unsigned long long)IOVA(3), VT_PAGE,
	      2 * VT_PAGE);
	CHECK(s.npins == 0 && s.unpinned_by_unmap - s0.unpinned_by_unmap == 3,
	      "after UNMAP_ALL the device holds %u pins, unpinned %llu in the callbacks",
	      s.npins, (unsigned long long)(s.unpinned_by_unmap - s0.unpinned_by_unmap));
	CHECK(emu_refs(e, e->buf) == refs0, "page holds %lld references after UNMAP_ALL, want %lld",
	      emu_refs(e, e->buf), refs0);
	return 0;
}

/*
 * An unmap of part of a pin: the device is told the whole run of pages it
 * holds around the range, not just the range, since a device may look a
 * pin up by its first page only (kvmgt does); told of page 1 of a pin of
 * pages 0-1 such a device finds nothing and keeps both. Then the rest goes.
 */
static int emu_check_unmap_inside_pin(struct emu *e, long long refs0)
{
	struct vfio_emu_test_state s0, s;
	uint64_t done = 0;

	CHECK_OK(harness_v3_map1(e->ctx.container, IOVA(0), e->buf, 4), "map 4 pages");
	CHECK(emu_pin(e, IOVA(0), 2, PROT_R | PROT_W, NULL) == 2, "pin pages 0-1");
	RUN(emu_state(e, &s0));
	CHECK_OK(harness_v3_unmap1(e->ctx.container, IOVA(1), 1, &done), "unmap page 1");
	RUN(emu_state(e, &s));
	CHECK(done == 1 && s.last_unmap_iova == IOVA(0) && s.last_unmap_len == 2 * VT_PAGE,
	      "unmap of page 1 of a 2-page pin: %llu unmapped, the device told 0x%llx+0x%llx, want 0x%llx+0x%lx",
	      (unsigned long long)done, (unsigned long long)s.last_unmap_iova,
	      (unsigned long long)s.last_unmap_len, (unsigned long long)IOVA(0), 2 * VT_PAGE);
	CHECK(s.npins == 0 && s.readable_at_unmap - s0.readable_at_unmap == 2,
	      "the device holds %u pins, and could read %llu of its 2 when told",
	      s.npins, (unsigned long long)(s.readable_at_unmap - s0.readable_at_unmap));
	CHECK_OK(harness_v3_unmap1(e->ctx.container, IOVA(0), 4, &done), "unmap the rest");
	CHECK(done == 3, "the rest was %llu pages, want 3", (unsigned long long)done);
	CHECK(emu_refs(e, e->buf) == refs0, "page holds %lld references, want %lld",
	      emu_refs(e, e->buf), refs0);
	return 0;
}

/*
 * With an emulated group attached VFIO_UPDATE_VADDR is not offered, and
 * the VADDR flags are refused as type1 refuses them (EBUSY; direct mode
 * has no vaddrs: EINVAL).
 */
static int emu_check_vaddr_refused(struct emu *e)
{
	int want = e->ctx.mode == VT_TRACKED ? EBUSY : EINVAL;
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = IOVA(0), .size = VT_PAGE,
	};
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)e->buf, .iova = IOVA(0), .size = VT_PAGE,
	};

	CHECK(ioctl(e->ctx.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) == 0,
	      "VFIO_UPDATE_VADDR offered with an emulated group attached");
	CHECK(ioctl(e->ctx.container, VFIO_IOMMU_UNMAP_DMA, &u) && errno == want,
	      "UNMAP_DMA with FLAG_VADDR and an emulated group: %s, want %s",
	      strerror(errno), strerror(want));
	CHECK(ioctl(e->ctx.container, VFIO_IOMMU_MAP_DMA, &m) && errno == want,
	      "MAP_DMA with FLAG_VADDR and an emulated group: %s, want %s",
	      strerror(errno), strerror(want));
	return 0;
}

/*
 * Tracked: an emulated group may not join while vaddrs are invalid (they
 * could not be restored while it stayed); once restored it may.
 */
static int emu_check_join_refused(struct emu *e)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = IOVA(0), .size = 4 * VT_PAGE,
	};
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)e->buf, .iova = IOVA(0), .size = 4 * VT_PAGE,
	};
	char path[64];
	int gid = emu_group_id(), g, ret;

	if (e->ctx.mode != VT_TRACKED)
		return 0;
	CHECK(gid >= 0, "no %s device", VFIO_EMU_TEST_NAME);
	snprintf(path, sizeof(path), "/dev/vfio/%d", gid);
	CHECK_OK(ioctl(e->ctx.container, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : 0,
		 "invalidate vaddrs");
	g = open(path, O_RDWR);
	CHECK(g >= 0, "open %s: %s", path, strerror(errno));
	ret = ioctl(g, VFIO_GROUP_SET_CONTAINER, &e->ctx.container) ? -errno : 0;
	if (!ret)
		ioctl(g, VFIO_GROUP_UNSET_CONTAINER);
	close(g);
	CHECK_ERR(ret, EBUSY, "emulated group joining while vaddrs are invalid");
	CHECK_OK(ioctl(e->ctx.container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0,
		 "restore vaddrs");
	return 0;
}

/* A container of emulated groups only reports kernel pages, as any other. */
static int emu_check_alone(enum vt_mode mode)
{
	struct emu e = { .group = -1 };
	struct vt_info info;
	int rc = -1;

	e.ctx.container = open("/dev/vfio/vfio", O_RDWR);
	CHECK(e.ctx.container >= 0, "open /dev/vfio/vfio: %s", strerror(errno));
	if (emu_join(&e))
		goto out;
	if (ioctl(e.ctx.container, VFIO_SET_IOMMU, harness_iommu_type(mode))) {
		harness_fail(__FILE__, __LINE__, "SET_IOMMU with an emulated group only: %s",
			     strerror(errno));
		goto out;
	}
	if (harness_info(e.ctx.container, &info))
		goto out;
	if (info.pgsizes != VT_PAGE) {
		harness_fail(__FILE__, __LINE__, "emulated group only: iova_pgsizes 0x%llx, want 0x%lx",
			     (unsigned long long)info.pgsizes, VT_PAGE);
		goto out;
	}
	rc = 0;
out:
	if (e.group >= 0)
		close(e.group);
	close(e.ctx.container);
	return rc;
}

/*
 * The last IOMMU-backed group leaves while the emulated one stays: every
 * mapping goes with the page table, the device is told first (and lets
 * go of its pin, as before any unmap), and no IOVA range is reported any
 * more.
 */
static int emu_check_last_detach(struct emu *e)
{
	struct vfio_emu_test_state s0, s;
	uint8_t *page = e->buf + 2 * VT_PAGE;
	long long refs;
	struct vt_info info;

	refs = emu_refs(e, page);
	CHECK_OK(harness_v3_map1(e->ctx.container, IOVA(2), page, 1), "map before detach");
	CHECK(emu_pin(e, IOVA(2), 1, PROT_R | PROT_W, NULL) == 1, "pin before detach");
	RUN(emu_state(e, &s0));
	CHECK(!ioctl(e->ctx.group[0], VFIO_GROUP_UNSET_CONTAINER),
	      "UNSET_CONTAINER of the edu group: %s", strerror(errno));
	close(e->ctx.group[0]);
	e->ctx.group[0] = -1;
	RUN(emu_state(e, &s));
	CHECK(s.unmap_calls > s0.unmap_calls && s.npins == 0,
	      "after the last IOMMU group left: %llu callbacks (had %llu), device holds %u pins",
	      (unsigned long long)s.unmap_calls, (unsigned long long)s0.unmap_calls, s.npins);
	/*
	 * Told while its page was still mapped, as before any unmap, and of
	 * runs of held pages only (the page it held, and the one it forgot
	 * earlier), never of the whole IOVA space.
	 */
	CHECK(s.readable_at_unmap - s0.readable_at_unmap == 1,
	      "the device could read %llu of its 1 pinned page when told of the last detach",
	      (unsigned long long)(s.readable_at_unmap - s0.readable_at_unmap));
	CHECK(s.max_unmap_len == s0.max_unmap_len && s.last_unmap_len == VT_PAGE,
	      "after the last IOMMU group left the device was told up to 0x%llx bytes at once (0x%llx before), the last 0x%llx",
	      (unsigned long long)s.max_unmap_len, (unsigned long long)s0.max_unmap_len,
	      (unsigned long long)s.last_unmap_len);
	CHECK(emu_refs(e, page) == refs, "page holds %lld references after detach, %lld before map",
	      emu_refs(e, page), refs);
	CHECK_OK(harness_info(e->ctx.container, &info), "GET_INFO");
	CHECK(info.nranges == 0 && info.mapped_pages == 0,
	      "no IOMMU group left, yet %d IOVA range(s) and %llu pages reported",
	      info.nranges, (unsigned long long)info.mapped_pages);
	return 0;
}

int t_emu(enum vt_mode mode)
{
	struct vfio_iommu_type1v3_map_entry ent[2];
	struct vt_pins start;
	struct emu e = { .group = -1, .dev = -1, .refs = -1 };
	long long refs0, mapped;
	cpu_set_t one;
	int kfd;

	/* one CPU, so no other CPU's LRU batch picks up our pages later */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	CHECK(!sched_setaffinity(0, sizeof(one), &one), "sched_setaffinity: %s", strerror(errno));
	e.refs = open("/dev/" VFIO_EMU_TEST_MISC, O_RDWR);
	CHECK(e.refs >= 0, "open /dev/%s: %s (is vfio_emu_test.ko loaded?)",
	      VFIO_EMU_TEST_MISC, strerror(errno));
	RUN(harness_pins(&start));
	RUN(harness_open(&e.ctx, mode, 1));
	e.buf = harness_alloc(EMU_PAGES);
	CHECK(e.buf, "alloc");
	RUN(emu_drain(e.buf, EMU_PAGES));
	refs0 = emu_refs(&e, e.buf);
	CHECK(refs0 > 0, "page reference count %lld", refs0);

	memset(ent, 0, sizeof(ent));
	ent[0] = (struct vfio_iommu_type1v3_map_entry){
		.iova = IOVA(0), .vaddr = (uintptr_t)e.buf, .npages = 4,
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	ent[1] = (struct vfio_iommu_type1v3_map_entry){
		.iova = IOVA(EMU_RO), .vaddr = (uintptr_t)(e.buf + EMU_RO * VT_PAGE),
		.npages = 1, .flags = VFIO_DMA_MAP_FLAG_READ,
	};
	CHECK_OK(harness_v3_map(e.ctx.container, ent, 2, NULL, NULL), "map");
	mapped = emu_refs(&e, e.buf);
	CHECK(mapped > refs0, "mapping took no page reference (%lld)", mapped);

	/* the emulated group joins after the mappings exist */
	RUN(emu_check_join_refused(&e));
	RUN(emu_open(&e));
	RUN(emu_check_vaddr_refused(&e));
	RUN(emu_check_rw(&e));
	RUN(emu_check_pins(&e, mapped));
	RUN(emu_check_unmap(&e, refs0));
	RUN(emu_check_unmap_all(&e, refs0));
	RUN(emu_check_unmap_inside_pin(&e, refs0));

	/*
	 * A device that drops its record without unpinning keeps the page
	 * referenced past the unmap (it may still touch it); closing the
	 * container must give that reference back.
	 */
	CHECK_OK(harness_v3_map1(e.ctx.container, IOVA(0), e.buf, 1), "map again");
	CHECK(emu_pin(&e, IOVA(0), 1, PROT_R | PROT_W, NULL) == 1, "pin to forget");
	CHECK(emu_unpin(&e, IOVA(0), 1, 1) == 1, "forget the pin");
	kfd = harness_kmsg_mark();
	CHECK(kfd >= 0, "open /dev/kmsg: %s", strerror(errno));
	CHECK_OK(harness_v3_unmap1(e.ctx.container, IOVA(0), 1, NULL), "unmap");
	/* the unmap went ahead without the device's consent, and says so */
	CHECK(harness_kmsg_find(kfd, "an emulated device still holds pages after"),
	      "no kernel warning that the unmap went ahead while the device held the page");
	close(kfd);
	CHECK(emu_refs(&e, e.buf) == refs0 + 1,
	      "forgotten device reference: %lld references after unmap, want %lld",
	      emu_refs(&e, e.buf), refs0 + 1);
	RUN(emu_check_last_detach(&e));
	close(e.dev);
	close(e.group);
	harness_close(&e.ctx);
	CHECK(emu_refs(&e, e.buf) == refs0,
	      "after closing the container the page holds %lld references, want %lld",
	      emu_refs(&e, e.buf), refs0);
	RUN(harness_pins_settle(&start, "after closing the container"));
	harness_free(e.buf, EMU_PAGES);
	close(e.refs);
	return emu_check_alone(mode);
}
