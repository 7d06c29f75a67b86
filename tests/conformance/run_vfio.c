// SPDX-License-Identifier: BSD-3-Clause
/*
 * Guest runner: the conformance suite against the real-VFIO backends, on
 * one IOMMU group whose device is QEMU's edu (bound to vfio-pci).
 *
 *   vb-conformance-guest --group N --device 0000:00:03.0
 *                        [--group2 M --device2 0000:00:04.0]
 *                        [--expect-probe NAME] [--type1-entry-limit L]
 *                        BACKEND...
 *   BACKEND: type1 | v3-tracked | v3-direct | iommufd
 *
 * Per backend it opens a domain (container), attaches the group, opens the
 * device fd through the backend and runs the suite; its check_page hook
 * drives edu's DMA engine through that device fd, so pages of split runs
 * are proven to reach the right memory. Prints "RESULT <name> PASS|FAIL
 * <detail>" lines; exit 0 only if all passed.
 *
 * --type1-entry-limit L (vfio_iommu_type1 loaded with dma_entry_limit=L):
 * the type1 backend then also maps one batch of L single-page runs, which
 * must fail with ENOSPC at the entry that passes the limit and leave
 * nothing mapped; and maps a page again and again into the container at
 * the limit, whose failures may log only as many lines as the domain's
 * budget allows.
 *
 * --group2/--device2 (a second edu in its own group): after the suite the
 * group joins the domain late; a page mapped before must be reached by
 * the second device's DMA (the kernel replays into the new group's IOMMU
 * domain), so must a page mapped after, and an unmapped one must not.
 *
 * edu facts (QEMU 7.2): DMA registers at 0x80 (src), 0x88 (dst), 0x90
 * (count), 0x98 (cmd: bit 0 start, bit 1 device-to-RAM); the device's own
 * buffer is at 0x40000; DMA addresses are masked to 28 bits; transfers stay
 * well below 2048 bytes; completion is polled on cmd bit 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "broker/backend.h"
#include "broker/backend_log.h"
#include "broker/backend_probe.h"
#include "common/clock.h"
#include "common/log.h"
#include "conformance.h"

#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000
#define EDU_XFER	64

/* Everything below 1 << 28 (edu's DMA mask). */
#define RV_SCRATCH_IOVA	0x1000000ull		/* 16 MiB */
#define RV_IOVA_BASE	0x4000000ull		/* 64 MiB */
#define RV_IOVA_SIZE	0x8000000ull		/* 128 MiB */
#define RV_BUF_SIZE	(4u << 20)
#define RV_LIMIT_IOVA	(RV_IOVA_BASE + RV_IOVA_SIZE)	/* to 1 << 28 */

struct rv_edu {
	struct backend *be;
	struct backend_domain *d;
	int fd;
	volatile uint8_t *bar;
	size_t bar_size;
	uint8_t *scratch;	/* one page, mapped at RV_SCRATCH_IOVA */
	unsigned int seq;
};

static int failures;
static unsigned int type1_entry_limit;
static int group2 = -1;
static const char *device2;

static void rv_result(const char *name, const char *what, int ok,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void rv_result(const char *name, const char *what, int ok,
		      const char *fmt, ...)
{
	va_list ap;

	printf("RESULT %s/%s %s ", name, what, ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void rv_w64(struct rv_edu *e, unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(e->bar + off) = v;
}

static uint64_t rv_r64(struct rv_edu *e, unsigned int off)
{
	return *(volatile uint64_t *)(e->bar + off);
}

static int rv_edu_dma(struct rv_edu *e, uint64_t src, uint64_t dst,
		      uint64_t cmd)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int i;

	rv_w64(e, EDU_DMA_SRC, src);
	rv_w64(e, EDU_DMA_DST, dst);
	rv_w64(e, EDU_DMA_CNT, EDU_XFER);
	rv_w64(e, EDU_DMA_CMD, cmd | EDU_CMD_START);
	for (i = 0; i < 2000; i++) {
		if (!(rv_r64(e, EDU_DMA_CMD) & EDU_CMD_START))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/*
 * Does a DMA write to @iova land at @vaddr? Copy a fresh pattern from the
 * scratch page into the device, then from the device to @iova.
 */
static int rv_check_page(void *ctx, uint64_t iova, void *vaddr)
{
	struct rv_edu *e = ctx;
	uint8_t *va = vaddr;
	int i;

	e->seq++;
	for (i = 0; i < EDU_XFER; i++)
		e->scratch[i] = (uint8_t)(e->seq * 31 + i);
	memset(va, 0, EDU_XFER);
	if (rv_edu_dma(e, RV_SCRATCH_IOVA, EDU_BUF, 0) ||
	    rv_edu_dma(e, EDU_BUF, iova, EDU_CMD_TO_RAM))
		return -1;
	return memcmp(va, e->scratch, EDU_XFER) ? -1 : 0;
}

static int rv_edu_open(struct rv_edu *e, int fd)
{
	struct vfio_region_info bar = { .argsz = sizeof(bar) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg) };
	uint16_t cmd;
	void *p;

	e->fd = fd;
	bar.index = VFIO_PCI_BAR0_REGION_INDEX;
	cfg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return -errno;
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 bar.offset);
	if (p == MAP_FAILED)
		return -errno;
	e->bar = p;
	e->bar_size = bar.size;
	/* Bus mastering: bit 2 of the PCI command register. */
	if (pread(fd, &cmd, 2, cfg.offset + 4) != 2)
		return -EIO;
	cmd |= 0x4;
	if (pwrite(fd, &cmd, 2, cfg.offset + 4) != 2)
		return -EIO;
	return 0;
}

static int rv_create(const char *name, struct backend **be)
{
	if (!strcmp(name, "type1"))
		return backend_type1_create(be);
	if (!strcmp(name, "v3-tracked"))
		return backend_v3_create(false, be);
	if (!strcmp(name, "v3-direct"))
		return backend_v3_create(true, be);
	if (!strcmp(name, "iommufd"))
		return backend_iommufd_create(be);
	return -EINVAL;
}

/* How often @needle occurs in @hay. */
static unsigned int rv_count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

/*
 * A client that keeps mapping into a container at dma_entry_limit gets
 * ENOSPC every time, and each failure has a line to log: those come out
 * of the domain's budget (backend_log.h), so the log gets at most the
 * burst, and the next line let through says how many were held back.
 * The lines are caught by pointing stderr at a memfd meanwhile.
 */
#define RV_HELD_BACK	" line(s) about failed maps and unmaps not logged"

static void rv_log_budget(struct backend *be, struct backend_domain *d,
			  const char *name, void *buf, uint64_t iova)
{
	const unsigned int tries = 4 * BACKEND_LOG_BURST;
	struct backend_map_entry e = { iova, (uintptr_t)buf, 1, VB_PROT_READ };
	unsigned int i, enospc = 0, lines, allowed;
	unsigned long held_back = 0;
	struct backend_result res;
	int saved, fd, ret;
	const char *rep, *first;
	static char text[1 << 17];
	uint64_t t0, ms;
	ssize_t got;

	fd = memfd_create("rv-log", MFD_CLOEXEC);
	saved = dup(STDERR_FILENO);
	if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
		rv_result(name, "log_budget", 0, "cannot catch stderr: %s",
			  strerror(errno));
		return;
	}
	/* a full budget to start from, whatever earlier checks spent */
	sleep(BACKEND_LOG_BURST / BACKEND_LOG_PER_S + 1);
	t0 = vb_now_ns();
	for (i = 0; i < tries; i++) {
		memset(&res, 0, sizeof(res));
		enospc += be->ops->map(d, &e, 1, &res) == -ENOSPC;
	}
	ms = (vb_now_ns() - t0) / 1000000;
	/* a token back, for the line that reports the others */
	usleep(1000000 / BACKEND_LOG_PER_S + 50000);
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, &e, 1, &res);
	dup2(saved, STDERR_FILENO);
	close(saved);
	got = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	text[got > 0 ? got : 0] = '\0';
	lines = rv_count(text, "returned ENOSPC");
	/*
	 * Every report after this check's first line counts lines of its
	 * own (the last comes with the line after the wait; a token back
	 * during the loop would bring one more). A report before that first
	 * line counts lines earlier checks of this domain had held back.
	 */
	first = strstr(text, "returned ENOSPC");
	for (rep = first ? strstr(first, RV_HELD_BACK) : NULL; rep;
	     rep = strstr(rep + 1, RV_HELD_BACK)) {
		const char *num = rep;

		while (num > text && num[-1] >= '0' && num[-1] <= '9')
			num--;
		held_back += strtoul(num, NULL, 10);
	}
	/* tokens that came back while the loop ran, one more to be safe */
	allowed = BACKEND_LOG_BURST + (unsigned int)(ms * BACKEND_LOG_PER_S / 1000) + 1;
	rv_result(name, "log_budget", enospc == tries && ret == -ENOSPC &&
		  lines >= 2 && lines <= allowed + 1 &&
		  held_back + lines - 1 == tries,
		  "%u maps at the limit in %llu ms, %u ENOSPC: %u line(s) logged (at most %u + 1), %lu reported held back",
		  tries, (unsigned long long)ms, enospc, lines, allowed,
		  held_back);
}

/*
 * type1's dma_entry_limit, for real: @held runs are mapped already, so the
 * batch of L entries must fail at index L - held with ENOSPC, rolled back.
 * Then the container filled to the limit exactly, its first run 4 pages
 * long: unmapping that run's middle needs one mapping more than it frees,
 * so it must fail with ENOSPC and lose nothing (every page still there to
 * unmap afterwards).
 */
static void rv_entry_limit(struct backend *be, struct backend_domain *d,
			   const char *name, void *buf, unsigned int held)
{
	unsigned int i, l = type1_entry_limit;
	struct backend_map_entry *e = calloc(l, sizeof(*e));
	struct backend_unmap_entry u = { RV_LIMIT_IOVA, 2ull * l + 8 };
	struct backend_unmap_entry mid = { RV_LIMIT_IOVA + VB_PAGE_SIZE, 2 };
	struct backend_result res;
	uint64_t want;
	int ret;

	if (!e || (2ull * l + 8) * VB_PAGE_SIZE > (1ull << 28) - RV_LIMIT_IOVA) {
		rv_result(name, "dma_entry_limit", 0, "limit %u not testable", l);
		free(e);
		return;
	}
	/* Every other page, so no two entries could ever be one run. */
	for (i = 0; i < l; i++)
		e[i] = (struct backend_map_entry){
			RV_LIMIT_IOVA + 2ull * i * VB_PAGE_SIZE,
			(uintptr_t)buf + (i % 1024) * VB_PAGE_SIZE, 1,
			VB_PROT_READ };
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, e, l, &res);
	rv_result(name, "dma_entry_limit", ret == -ENOSPC &&
		  res.failed_index == l - held && res.pages_done == 0,
		  "map of %u runs with %u held: ret %d failed_index %u pages_done %llu",
		  l, held, ret, res.failed_index,
		  (unsigned long long)res.pages_done);
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	rv_result(name, "dma_entry_limit_rollback", !ret && res.pages_done == 0,
		  "ret %d, %llu pages left mapped", ret,
		  (unsigned long long)res.pages_done);

	for (i = 0; i < l - held; i++)
		e[i] = (struct backend_map_entry){
			RV_LIMIT_IOVA + (i ? 2ull * i + 8 : 0) * VB_PAGE_SIZE,
			(uintptr_t)buf + (i % 1024) * VB_PAGE_SIZE, i ? 1 : 4,
			VB_PROT_READ };
	want = 4 + (l - held - 1);
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, e, l - held, &res);
	if (ret || res.pages_done != want) {
		rv_result(name, "dma_entry_limit_split", 0,
			  "filling to the limit: ret %d, %llu pages", ret,
			  (unsigned long long)res.pages_done);
		free(e);
		return;
	}
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &mid, 1, &res);
	rv_result(name, "dma_entry_limit_split", ret == -ENOSPC &&
		  res.pages_done == 0,
		  "middle unmap of a run at the limit: ret %d pages_done %llu",
		  ret, (unsigned long long)res.pages_done);
	/* at the limit, a page between the first run and the second */
	rv_log_budget(be, d, name, buf, RV_LIMIT_IOVA + 6 * VB_PAGE_SIZE);
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	rv_result(name, "dma_entry_limit_split_kept", !ret &&
		  res.pages_done == want,
		  "after it: ret %d, %llu of %llu pages unmapped", ret,
		  (unsigned long long)res.pages_done,
		  (unsigned long long)want);
	free(e);
}

/* Pages pinned right now, system-wide: FOLL_PIN acquired - released. */
static long long rv_pins(void)
{
	long long acq = -1, rel = -1, v;
	char key[64];
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "we");

	/* The counters are per CPU and folded lazily: fold them now. */
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (!strcmp(key, "nr_foll_pin_acquired"))
			acq = v;
		else if (!strcmp(key, "nr_foll_pin_released"))
			rel = v;
	}
	fclose(f);
	return acq < 0 || rel < 0 ? -1 : acq - rel;
}

#define RV_LATE_IOVA	0x2000000ull	/* 32 MiB: outside the suite's window */

static int rv_map_page(struct rv_edu *e, uint64_t iova, void *va)
{
	struct backend_map_entry m = { iova, (uintptr_t)va, 1,
				       VB_PROT_READ | VB_PROT_WRITE };
	struct backend_result res;

	memset(&res, 0, sizeof(res));
	return e->be->ops->map(e->d, &m, 1, &res);
}

/* A group attaching to a domain that already has mappings. */
static void rv_late_attach(struct rv_edu *e1, const char *name, void *buf)
{
	struct rv_edu e2 = *e1;
	struct backend_unmap_entry u = { RV_LATE_IOVA, 2 };
	struct backend_result res;
	uint8_t *before = (uint8_t *)buf + 5 * VB_PAGE_SIZE;
	uint8_t *after = (uint8_t *)buf + 6 * VB_PAGE_SIZE;
	int ret, fd = -1;

	e2.bar = NULL;
	ret = rv_map_page(e1, RV_LATE_IOVA, before);
	if (!ret)
		ret = e1->be->ops->domain_attach_group(e1->d, group2);
	rv_result(name, "late_attach", !ret, "group %d ret %d", group2, ret);
	if (ret)
		return;
	ret = e1->be->ops->device_open(e1->d, group2, device2, &fd);
	if (!ret)
		ret = rv_edu_open(&e2, fd);
	rv_result(name, "late_attach_device", !ret, "%s ret %d", device2, ret);
	if (ret)
		goto out;
	rv_result(name, "late_attach_replay",
		  !rv_check_page(&e2, RV_LATE_IOVA, before),
		  "a page mapped before the attach %s", "must be reached");
	ret = rv_map_page(e1, RV_LATE_IOVA + VB_PAGE_SIZE, after);
	rv_result(name, "late_attach_new_map", !ret &&
		  !rv_check_page(&e2, RV_LATE_IOVA + VB_PAGE_SIZE, after) &&
		  !rv_check_page(e1, RV_LATE_IOVA + VB_PAGE_SIZE, after),
		  "map ret %d; both devices must reach the page", ret);
	memset(&res, 0, sizeof(res));
	ret = e1->be->ops->unmap(e1->d, &u, 1, &res);
	rv_result(name, "late_attach_unmap", !ret && res.pages_done == 2 &&
		  rv_check_page(&e2, RV_LATE_IOVA, before) &&
		  rv_check_page(e1, RV_LATE_IOVA, before),
		  "ret %d pages_done %llu; neither device may reach it", ret,
		  (unsigned long long)res.pages_done);
out:
	if (e2.bar)
		munmap((void *)e2.bar, e2.bar_size);
	if (fd >= 0)
		close(fd);
}

/*
 * A map larger than one v3 ioctl (VFIO_TYPE1v3_MAX_BATCH entries): the
 * backend splits it, and a failure in the second ioctl must undo the first.
 * No DMA here, so the IOVAs may lie above edu's 28-bit reach.
 */
#define RV_SPLIT_IOVA	0x40000000ull	/* 1 GiB */
#define RV_SPLIT_N	(65536u + 8u)

static void rv_split_batch(struct backend *be, struct backend_domain *d,
			   const char *name, void *buf)
{
	struct backend_map_entry *e = calloc(RV_SPLIT_N, sizeof(*e));
	struct backend_unmap_entry u = { RV_SPLIT_IOVA, RV_SPLIT_N };
	struct backend_result res;
	unsigned int i;
	int ret;

	if (!e) {
		rv_result(name, "split_batch", 0, "out of memory");
		return;
	}
	for (i = 0; i < RV_SPLIT_N; i++)
		e[i] = (struct backend_map_entry){
			RV_SPLIT_IOVA + (uint64_t)i * VB_PAGE_SIZE,
			(uintptr_t)buf + (i % 1024) * VB_PAGE_SIZE, 1,
			VB_PROT_READ };
	/* The last entry repeats the first: EEXIST in the second ioctl. */
	e[RV_SPLIT_N - 1].iova = RV_SPLIT_IOVA;
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, e, RV_SPLIT_N, &res);
	rv_result(name, "split_batch_rollback", ret == -EEXIST &&
		  res.failed_index == RV_SPLIT_N - 1 && res.pages_done == 0,
		  "%u entries: ret %d failed_index %u pages_done %llu",
		  RV_SPLIT_N, ret, res.failed_index,
		  (unsigned long long)res.pages_done);
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	rv_result(name, "split_batch_nothing_left", !ret && !res.pages_done,
		  "ret %d, %llu pages were still mapped", ret,
		  (unsigned long long)res.pages_done);
	e[RV_SPLIT_N - 1].iova = RV_SPLIT_IOVA +
				 (uint64_t)(RV_SPLIT_N - 1) * VB_PAGE_SIZE;
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, e, RV_SPLIT_N, &res);
	rv_result(name, "split_batch_map", !ret && res.pages_done == RV_SPLIT_N,
		  "ret %d pages_done %llu", ret,
		  (unsigned long long)res.pages_done);
	memset(&res, 0, sizeof(res));
	ret = be->ops->unmap(d, &u, 1, &res);
	rv_result(name, "split_batch_unmap", !ret &&
		  res.pages_done == RV_SPLIT_N, "ret %d pages_done %llu", ret,
		  (unsigned long long)res.pages_done);
	free(e);
}

/* Pages a client left mapped are the domain close's to release. */
static void rv_leave_mapped(struct backend *be, struct backend_domain *d,
			    const char *name, void *buf)
{
	struct backend_map_entry m = { RV_SPLIT_IOVA, (uintptr_t)buf, 64,
				       VB_PROT_READ | VB_PROT_WRITE };
	struct backend_result res;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, &m, 1, &res);
	rv_result(name, "leave_mapped", !ret, "64 pages left for close: %d",
		  ret);
}

static void rv_run(const char *name, int group, const char *device,
		   void *buf)
{
	struct rv_edu edu = { .fd = -1 };
	struct backend_map_entry sm;
	struct backend_result res;
	struct backend_domain *d = NULL;
	struct backend *be = NULL;
	struct conformance_env env = {
		.name = name,
		.iova_base = RV_IOVA_BASE,
		.iova_size = RV_IOVA_SIZE,
		.buf = buf,
		.buf_size = RV_BUF_SIZE,
		.large_pages = 4096,
	};
	long long pins0 = rv_pins(), pins_held = -1;
	int ret, fd = -1, n;

	ret = rv_create(name, &be);
	rv_result(name, "create", !ret, "ret %d", ret);
	if (ret)
		return;
	ret = be->ops->domain_open(be, 1, &d);
	rv_result(name, "domain_open", !ret, "ret %d", ret);
	if (ret)
		goto out;
	/* nothing behind the domain yet: a map has nowhere to go */
	sm = (struct backend_map_entry){ RV_SCRATCH_IOVA, (uintptr_t)buf, 1,
					 VB_PROT_READ | VB_PROT_WRITE };
	memset(&res, 0, sizeof(res));
	ret = be->ops->map(d, &sm, 1, &res);
	rv_result(name, "map_before_attach", ret == -ENODEV,
		  "ret %d, expected %d", ret, -ENODEV);
	ret = be->ops->domain_attach_group(d, group);
	rv_result(name, "attach_group", !ret, "group %d ret %d", group, ret);
	if (ret)
		goto out;
	ret = be->ops->domain_attach_group(d, group);
	rv_result(name, "attach_group_twice", ret == -EEXIST,
		  "ret %d, expected %d", ret, -EEXIST);
	ret = be->ops->device_open(d, group, device, &fd);
	rv_result(name, "device_open", !ret && fd >= 0, "%s ret %d", device,
		  ret);
	if (!ret) {
		ret = rv_edu_open(&edu, fd);
		rv_result(name, "edu_setup", !ret, "ret %d", ret);
	}
	if (!ret) {
		edu.scratch = (uint8_t *)buf + RV_BUF_SIZE;
		sm = (struct backend_map_entry){
			RV_SCRATCH_IOVA, (uintptr_t)edu.scratch, 1,
			VB_PROT_READ | VB_PROT_WRITE };
		memset(&res, 0, sizeof(res));
		ret = be->ops->map(d, &sm, 1, &res);
		rv_result(name, "scratch_map", !ret, "ret %d", ret);
	}
	if (!ret) {
		edu.be = be;
		edu.d = d;
		env.check_page = rv_check_page;
		env.check_ctx = &edu;
		/* The hook itself must tell a hit from a miss. */
		ret = rv_check_page(&edu, RV_SCRATCH_IOVA, edu.scratch) ||
		      !rv_check_page(&edu, RV_IOVA_BASE, buf);
		rv_result(name, "dma_check_sanity", !ret,
			  "mapped page %s, unmapped page %s",
			  "must be reached", "must not be");
		if (ret)
			env.check_page = NULL;
	}
	n = conformance_run(be, d, &env);
	rv_result(name, "suite", n == 0, "%d cases failed", n);
	if (type1_entry_limit && !strcmp(name, "type1"))
		rv_entry_limit(be, d, name, buf, env.check_page ? 1 : 0);
	if (!strncmp(name, "v3", 2))
		rv_split_batch(be, d, name, buf);
	rv_leave_mapped(be, d, name, buf);
	pins_held = rv_pins();
	if (group2 >= 0 && device2) {
		if (env.check_page)
			rv_late_attach(&edu, name, buf);
		else
			rv_result(name, "late_attach", 0,
				  "needs the first device's DMA check");
	}
out:
	if (edu.bar)
		munmap((void *)edu.bar, edu.bar_size);
	if (fd >= 0)
		close(fd);
	if (d)
		be->ops->domain_close(d);
	be->ops->destroy(be);
	/* Closing the domain must give back every page it pinned. */
	if (pins_held >= 0)
		rv_result(name, "pins_released", pins0 >= 0 &&
			  pins_held > pins0 && rv_pins() == pins0,
			  "pinned pages: %lld before, %lld with the scratch page and 64 more mapped, %lld after close",
			  pins0, pins_held, rv_pins());
}

int main(int argc, char **argv)
{
	const char *device = NULL, *expect = NULL;
	struct backend_probe probe;
	int i, group = -1;
	void *buf;

	log_init("conformance", LOG_LVL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--group"))
			group = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--device"))
			device = argv[i + 1];
		else if (!strcmp(argv[i], "--expect-probe"))
			expect = argv[i + 1];
		else if (!strcmp(argv[i], "--group2"))
			group2 = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--device2"))
			device2 = argv[i + 1];
		else if (!strcmp(argv[i], "--type1-entry-limit"))
			type1_entry_limit = strtoul(argv[i + 1], NULL, 0);
		else
			break;
	}
	if (group < 0 || !device || i >= argc) {
		fprintf(stderr, "usage: %s --group N --device PCI-ADDR [--group2 M --device2 PCI-ADDR] [--expect-probe NAME] [--type1-entry-limit L] BACKEND...\n",
			argv[0]);
		return 2;
	}
	backend_probe_auto(&probe);
	printf("probe: %s (%s)\n", probe.name, probe.reason);
	if (expect)
		rv_result("probe", "auto", !strcmp(probe.name, expect),
			  "chose %s, expected %s", probe.name, expect);
	/* The suite's vaddrs, plus one scratch page for the DMA check. */
	buf = mmap(NULL, RV_BUF_SIZE + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	for (; i < argc; i++)
		rv_run(argv[i], group, device, buf);
	printf("conformance guest: %d failed\n", failures);
	return failures ? 1 : 0;
}
