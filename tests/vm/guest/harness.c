// SPDX-License-Identifier: BSD-3-Clause
/*
 * Harness implementation. Pin accounting is read from two places: the
 * global nr_foll_pin_{acquired,released} counters (every FOLL_PIN the
 * kernel takes or drops) and this process's VmLck/VmPin. A test records
 * them before it starts and asserts they return there; the guest runs
 * nothing else that pins, so any difference is a leak or a double unpin.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "harness.h"

const char *vt_test_name = "?";

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("VMTEST FAIL %s %s:%d: %s\n", vt_test_name, file, line, msg);
}

void harness_note(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("VMTEST NOTE %s %s\n", vt_test_name, msg);
}

const char *harness_mode_name(enum vt_mode mode)
{
	switch (mode) {
	case VT_TYPE1:
		return "type1";
	case VT_TRACKED:
		return "tracked";
	case VT_DIRECT:
		return "direct";
	}
	return "?";
}

int harness_iommu_type(enum vt_mode mode)
{
	switch (mode) {
	case VT_TYPE1:
		return VFIO_TYPE1v2_IOMMU;
	case VT_TRACKED:
		return VFIO_TYPE1v3_IOMMU;
	case VT_DIRECT:
		return VFIO_TYPE1v3_DIRECT_IOMMU;
	}
	return -1;
}

static long read_hex_file(const char *dir, const char *name)
{
	char path[512], buf[64];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 16);
	fclose(f);
	return v;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct vt_dev *)a)->addr,
		      ((const struct vt_dev *)b)->addr);
}

/* edu devices bound to vfio-pci, sorted by address. */
int harness_find_devs(struct vt_dev *devs, int max)
{
	const char *base = "/sys/bus/pci/devices";
	char dir[300], link[600], drv[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(base);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		ssize_t len;
		char *slash;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(devs[n].addr))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		if (read_hex_file(dir, "vendor") != 0x1234 ||
		    read_hex_file(dir, "device") != 0x11e8)
			continue;
		snprintf(link, sizeof(link), "%s/driver", dir);
		len = readlink(link, drv, sizeof(drv) - 1);
		if (len < 0)
			continue;
		drv[len] = 0;
		if (strcmp(strrchr(drv, '/') + 1, "vfio-pci"))
			continue;
		snprintf(link, sizeof(link), "%s/iommu_group", dir);
		len = readlink(link, drv, sizeof(drv) - 1);
		if (len < 0)
			continue;
		drv[len] = 0;
		slash = strrchr(drv, '/');
		memcpy(devs[n].addr, de->d_name, strlen(de->d_name) + 1);
		devs[n].group_id = atoi(slash + 1);
		n++;
	}
	closedir(d);
	qsort(devs, n, sizeof(*devs), cmp_dev);
	return n;
}

int harness_attach(struct vt_ctx *ctx, int idx)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", ctx->dev[idx].group_id);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		harness_fail(__FILE__, __LINE__, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		harness_fail(__FILE__, __LINE__, "group %d not viable", ctx->dev[idx].group_id);
		close(fd);
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &ctx->container)) {
		harness_fail(__FILE__, __LINE__, "SET_CONTAINER group %d: %s",
			     ctx->dev[idx].group_id, strerror(errno));
		close(fd);
		return -1;
	}
	ctx->group[idx] = fd;
	if (idx >= ctx->ngroups)
		ctx->ngroups = idx + 1;
	return 0;
}

/*
 * Opens a container, attaches the first ngroups edu groups and sets the
 * IOMMU type of mode. Fails (does not skip) when devices are missing.
 */
int harness_open_groups(struct vt_ctx *ctx, enum vt_mode mode, int ngroups)
{
	int type = harness_iommu_type(mode);
	int i;

	memset(ctx, 0, sizeof(*ctx));
	for (i = 0; i < VT_MAX_DEVS; i++)
		ctx->group[i] = -1;
	ctx->mode = mode;
	ctx->ndevs = harness_find_devs(ctx->dev, VT_MAX_DEVS);
	if (ctx->ndevs < ngroups) {
		harness_fail(__FILE__, __LINE__, "need %d edu devices bound to vfio-pci, found %d",
			     ngroups, ctx->ndevs);
		return -1;
	}
	if (ngroups > 1 && ctx->dev[0].group_id == ctx->dev[1].group_id) {
		harness_fail(__FILE__, __LINE__, "edu devices share group %d", ctx->dev[0].group_id);
		return -1;
	}
	ctx->container = open("/dev/vfio/vfio", O_RDWR);
	if (ctx->container < 0) {
		harness_fail(__FILE__, __LINE__, "open /dev/vfio/vfio: %s", strerror(errno));
		return -1;
	}
	if (ioctl(ctx->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		harness_fail(__FILE__, __LINE__, "VFIO API version mismatch");
		goto err;
	}
	if (ioctl(ctx->container, VFIO_CHECK_EXTENSION, type) != 1) {
		harness_fail(__FILE__, __LINE__, "IOMMU type %d (%s) not supported: module loaded?",
			     type, harness_mode_name(mode));
		goto err;
	}
	for (i = 0; i < ngroups; i++)
		if (harness_attach(ctx, i))
			goto err;
	return 0;
err:
	harness_close(ctx);
	return -1;
}

int harness_open(struct vt_ctx *ctx, enum vt_mode mode, int ngroups)
{
	int type = harness_iommu_type(mode);

	if (harness_open_groups(ctx, mode, ngroups))
		return -1;
	if (ioctl(ctx->container, VFIO_SET_IOMMU, type)) {
		harness_fail(__FILE__, __LINE__, "SET_IOMMU %d: %s", type, strerror(errno));
		harness_close(ctx);
		return -1;
	}
	return 0;
}

void harness_close(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < VT_MAX_DEVS; i++) {
		if (ctx->group[i] >= 0)
			close(ctx->group[i]);
		ctx->group[i] = -1;
	}
	if (ctx->container >= 0)
		close(ctx->container);
	ctx->container = -1;
}

/* Anonymous memory, populated so pins see present pages. */
void *harness_alloc(size_t npages)
{
	void *p = mmap(NULL, npages * VT_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		harness_fail(__FILE__, __LINE__, "mmap %zu pages: %s", npages, strerror(errno));
		return NULL;
	}
	return p;
}

void harness_free(void *p, size_t npages)
{
	munmap(p, npages * VT_PAGE);
}

static long long read_keyed(const char *path, const char *key, int colon)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) ||
		    line[klen] != (colon ? ':' : ' '))
			continue;
		v = strtoll(line + klen + 1, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

long long harness_vmstat(const char *key)
{
	return read_keyed("/proc/vmstat", key, 0);
}

/*
 * Folds the per-CPU vmstat deltas into the global counters, so the pin
 * counters are exact. Root only: an unprivileged caller reads them as they
 * are (only root-run parents judge pin balance).
 */
void harness_stat_refresh(void)
{
	int ret = harness_write_file("/proc/sys/vm/stat_refresh", "1", 0);

	/* -EACCES: not root (see above); -ENOENT: no such file */
	if (ret && ret != -EACCES && ret != -ENOENT)
		harness_note("stat_refresh: %s", strerror(-ret));
}

int harness_pins(struct vt_pins *p)
{
	harness_stat_refresh();
	p->acquired = harness_vmstat("nr_foll_pin_acquired");
	p->released = harness_vmstat("nr_foll_pin_released");
	p->vmlck_kb = read_keyed("/proc/self/status", "VmLck", 1);
	p->vmpin_kb = read_keyed("/proc/self/status", "VmPin", 1);
	if (p->acquired < 0 || p->released < 0 || p->vmlck_kb < 0 || p->vmpin_kb < 0) {
		harness_fail(__FILE__, __LINE__, "cannot read pin counters");
		return -1;
	}
	return 0;
}

/* Returns 0 if the outstanding pin count and the process's locked and
 * pinned memory are the same in a and b. */
int harness_pins_equal(const struct vt_pins *a, const struct vt_pins *b,
		       const char *where)
{
	long long oa = a->acquired - a->released;
	long long ob = b->acquired - b->released;

	if (oa != ob || a->vmlck_kb != b->vmlck_kb || a->vmpin_kb != b->vmpin_kb) {
		harness_fail(__FILE__, __LINE__,
			     "%s: outstanding pins %lld -> %lld (acq +%lld rel +%lld), VmLck %lld -> %lld kB, VmPin %lld -> %lld kB",
			     where, oa, ob, b->acquired - a->acquired,
			     b->released - a->released, a->vmlck_kb, b->vmlck_kb,
			     a->vmpin_kb, b->vmpin_kb);
		return -1;
	}
	return 0;
}

/*
 * Release of a container may finish just after close() or a child's exit
 * returns (deferred fput); give it up to two seconds before judging.
 */
int harness_pins_settle(const struct vt_pins *start, const char *where)
{
	struct vt_pins now;
	int i;

	for (i = 0; i < 200; i++) {
		if (harness_pins(&now))
			return -1;
		if (now.acquired - now.released == start->acquired - start->released &&
		    now.vmlck_kb == start->vmlck_kb && now.vmpin_kb == start->vmpin_kb)
			return 0;
		usleep(10000);
	}
	return harness_pins_equal(start, &now, where);
}

int harness_v3_map(int fd, struct vfio_iommu_type1v3_map_entry *e,
		   uint32_t n, uint32_t *failed, uint64_t *done)
{
	struct vfio_iommu_type1v3_map_batch b = {
		.argsz = sizeof(b),
		.nr_entries = n,
		.failed_index = 0x5a5a5a5a,
		.entries = (uintptr_t)e,
		.pages_done = 0x5a5a5a5a,
	};
	int ret = ioctl(fd, VFIO_IOMMU_MAP_DMA_BATCH, &b) ? -errno : 0;

	if (failed)
		*failed = b.failed_index;
	if (done)
		*done = b.pages_done;
	return ret;
}

int harness_v3_unmap(int fd, struct vfio_iommu_type1v3_unmap_entry *e,
		     uint32_t n, uint32_t *failed, uint64_t *done)
{
	struct vfio_iommu_type1v3_unmap_batch b = {
		.argsz = sizeof(b),
		.nr_entries = n,
		.failed_index = 0x5a5a5a5a,
		.entries = (uintptr_t)e,
		.pages_done = 0x5a5a5a5a,
	};
	int ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA_BATCH, &b) ? -errno : 0;

	if (failed)
		*failed = b.failed_index;
	if (done)
		*done = b.pages_done;
	return ret;
}

int harness_v3_map1(int fd, uint64_t iova, void *vaddr, uint64_t npages)
{
	struct vfio_iommu_type1v3_map_entry e = {
		.iova = iova,
		.vaddr = (uintptr_t)vaddr,
		.npages = npages,
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};

	return harness_v3_map(fd, &e, 1, NULL, NULL);
}

int harness_v3_unmap1(int fd, uint64_t iova, uint64_t npages, uint64_t *done)
{
	struct vfio_iommu_type1v3_unmap_entry e = { .iova = iova, .npages = npages };

	return harness_v3_unmap(fd, &e, 1, NULL, done);
}

int harness_t1_map(int fd, uint64_t iova, void *vaddr, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

int harness_t1_unmap(int fd, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};
	int ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : 0;

	if (unmapped)
		*unmapped = u.size;
	return ret;
}

/* GET_INFO with capability chain; walks it for IOVA ranges and v3 state. */
int harness_info(int fd, struct vt_info *info)
{
	struct vfio_iommu_type1_info *hdr;
	uint8_t buf[4096];
	uint32_t off;

	memset(info, 0, sizeof(*info));
	memset(buf, 0, sizeof(buf));
	hdr = (void *)buf;
	hdr->argsz = sizeof(buf);
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, hdr))
		return -errno;
	if (hdr->argsz > sizeof(buf))
		return -E2BIG;
	info->pgsizes = hdr->iova_pgsizes;
	if (!(hdr->flags & VFIO_IOMMU_INFO_CAPS))
		return 0;
	for (off = hdr->cap_offset; off; ) {
		struct vfio_info_cap_header *cap = (void *)(buf + off);

		if (off + sizeof(*cap) > sizeof(buf))
			return -EOVERFLOW;
		if (cap->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)cap;
			uint32_t i;

			for (i = 0; i < r->nr_iovas && i < 8; i++) {
				info->range_start[i] = r->iova_ranges[i].start;
				info->range_end[i] = r->iova_ranges[i].end;
			}
			info->nranges = i;
		} else if (cap->id == VFIO_IOMMU_TYPE1_INFO_CAP_V3) {
			struct vfio_iommu_type1v3_info_cap *v = (void *)cap;

			info->has_v3 = 1;
			info->mode = v->mode;
			info->mapped_pages = v->mapped_pages;
			info->metadata_bytes = v->metadata_bytes;
		}
		if (cap->next && cap->next <= off)
			return -ELOOP;
		off = cap->next;
	}
	return 0;
}

int harness_mapped_pages(int fd, uint64_t *pages)
{
	struct vt_info info;
	int ret = harness_info(fd, &info);

	if (ret)
		return ret;
	if (!info.has_v3)
		return -ENOENT;
	*pages = info.mapped_pages;
	return 0;
}

int harness_kmsg_mark(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* 1 if a kernel log record since the mark contains needle. */
int harness_kmsg_find(int fd, const char *needle)
{
	char rec[2048];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;
			return 0;
		}
		rec[n] = 0;
		if (strstr(rec, needle))
			return 1;
	}
}

void harness_shuffle(uint32_t *perm, uint32_t n)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;
	uint32_t i, j, t;

	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n ? n - 1 : 0; i > 0; i--) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = (uint32_t)(seed % (i + 1));
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

uint64_t harness_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int harness_map(struct vt_ctx *ctx, uint64_t iova, void *vaddr, uint64_t npages)
{
	if (ctx->mode == VT_TYPE1)
		return harness_t1_map(ctx->container, iova, vaddr, npages * VT_PAGE);
	return harness_v3_map1(ctx->container, iova, vaddr, npages);
}

int harness_unmap(struct vt_ctx *ctx, uint64_t iova, uint64_t npages)
{
	uint64_t done;
	int ret;

	if (ctx->mode == VT_TYPE1) {
		ret = harness_t1_unmap(ctx->container, iova, npages * VT_PAGE, &done);
		done /= VT_PAGE;
	} else {
		ret = harness_v3_unmap1(ctx->container, iova, npages, &done);
	}
	if (!ret && done != npages)
		return -ENOENT;
	return ret;
}

/*
 * Interrupts taken by the DMAR fault handler. Unlike the kernel's fault
 * messages, which are rate-limited, every reported fault raises one.
 */
long long harness_dmar_faults(void)
{
	char line[512];
	long long sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, "dmar"))
			continue;
		for (p++; ; ) {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

int harness_share_domains(int on)
{
	static const char path[] =
		"/sys/module/vfio_iommu_type1v3/parameters/share_domains";

	CHECK_OK(harness_write_file(path, on ? "1" : "0", 0), path);
	return 0;
}

int harness_tracefs(void)
{
	mkdir(VT_TRACEFS, 0755);
	if (access(VT_TRACEFS "/trace", F_OK))
		CHECK(mount("nodev", VT_TRACEFS, "tracefs", 0, NULL) == 0,
		      "mount tracefs: %s", strerror(errno));
	/*
	 * With record-cmd on, enabling or disabling any event flips the
	 * sched_switch tracepoint's static key, patching __schedule() with
	 * int3 while the other vCPU runs it. QEMU 7.2's TCG loses that race
	 * now and then ("Oops: int3" in __schedule, a panic in the
	 * scheduler): seen once in about 40 runs of iotlb_sync. Without it
	 * only the probed VT-d functions are patched, and only this process
	 * calls them. Events still carry the pid the tests filter on.
	 */
	CHECK_OK(harness_tracefs_write("options/record-cmd", "0", 0),
		 "tracefs options/record-cmd");
	return 0;
}

int harness_write_file(const char *path, const char *val, int append)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

int harness_tracefs_write(const char *file, const char *val, int append)
{
	char path[128];

	snprintf(path, sizeof(path), VT_TRACEFS "/%s", file);
	return harness_write_file(path, val, append);
}
