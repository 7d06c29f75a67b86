// SPDX-License-Identifier: BSD-3-Clause
/*
 * The baseline of the broker benchmark (bench.sh): the way crosvm's device
 * processes map DMA today. The process holds the VFIO container itself and
 * issues one VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA per 4 KiB page, with
 * no broker in between.
 *
 * To compare like with like it runs the very same workload code as
 * vfio-devproc (src/devproc/workload_*.c): this file implements the part of
 * the libvfiobroker API the workloads use on top of a type1 container and
 * a memfd of guest RAM of its own, so only the path from "map these pages"
 * to the IOMMU differs. Semantics follow the protocol (MAP all or nothing,
 * UNMAP skips holes and counts what it removed), so the workloads' own
 * checks still apply.
 *
 *   vb-direct-type1 --group N --workload virtio-iommu|coiommu
 *                   [--ram-size BYTES] [--populate] [devproc workload options]
 *
 * --populate faults the guest RAM in, in both of its mappings (the one the
 * kernel pins from and the workload's), before the workload starts, as
 * the broker's "populate" and vfio-devproc's --populate do.
 *
 * Prints "direct-type1: workload W: pages_mapped M pages_unmapped U
 * pages_current C seconds S pages_per_s P errors E result OK|FAIL"; seconds
 * time the workload alone, as vfio-devproc's result line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "devproc/devproc.h"

#define DIRECT_MAX_DONE	1024

struct direct_done {
	vb_client_done_fn fn;
	void *arg;
	uint64_t id;
	struct vb_reply r;
};

struct vb_client {
	int container;
	int group;
	uint8_t *ram;
	struct vb_client_info info;
	struct vb_stats st;
	uint64_t next_id;
	struct direct_done done[DIRECT_MAX_DONE];
	unsigned int n_done;
};

static int direct_unmap_page(struct vb_client *c, uint64_t iova,
			     uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = VB_PAGE_SIZE,
	};

	if (ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &u))
		return -errno;
	*done += u.size / VB_PAGE_SIZE;
	return 0;
}

int vb_client_map(struct vb_client *c, const struct vb_map_entry *e,
		  uint32_t count, struct vb_reply *res)
{
	const struct vb_ram_region *r = &c->info.ram[0];
	uint64_t done = 0, undone = 0;
	int ret = 0;
	uint32_t i;

	c->st.requests++;
	c->st.map_requests++;
	memset(res, 0, sizeof(*res));
	res->failed_index = VB_NO_INDEX;
	for (i = 0; i < count && !ret; i++) {
		if (e[i].gpa < r->gpa || e[i].npages > r->size / VB_PAGE_SIZE ||
		    e[i].gpa - r->gpa > r->size - e[i].npages * VB_PAGE_SIZE) {
			ret = -EFAULT;
			break;
		}
		for (uint64_t p = 0; p < e[i].npages && !ret; p++) {
			struct vfio_iommu_type1_dma_map m = {
				.argsz = sizeof(m),
				.vaddr = (uintptr_t)(c->ram + e[i].gpa - r->gpa +
						     p * VB_PAGE_SIZE),
				.iova = e[i].iova + p * VB_PAGE_SIZE,
				.size = VB_PAGE_SIZE,
			};

			if (e[i].prot & VB_PROT_READ)
				m.flags |= VFIO_DMA_MAP_FLAG_READ;
			if (e[i].prot & VB_PROT_WRITE)
				m.flags |= VFIO_DMA_MAP_FLAG_WRITE;
			if (ioctl(c->container, VFIO_IOMMU_MAP_DMA, &m))
				ret = -errno;
			else
				done++;
		}
	}
	if (ret) {
		/* all or nothing: undo in the same one-page steps */
		res->failed_index = i < count ? i : count - 1;
		for (uint32_t j = 0; j <= res->failed_index && j < count; j++)
			for (uint64_t p = 0; p < e[j].npages; p++)
				direct_unmap_page(c, e[j].iova + p * VB_PAGE_SIZE,
						  &undone);
		res->status = -ret;
		c->st.errors++;
		return ret;
	}
	res->pages_done = done;
	c->st.pages_mapped += done;
	c->st.pages_current += done;
	return 0;
}

int vb_client_unmap(struct vb_client *c, const struct vb_unmap_entry *e,
		    uint32_t count, struct vb_reply *res)
{
	uint64_t done = 0;
	int ret = 0;

	c->st.requests++;
	c->st.unmap_requests++;
	memset(res, 0, sizeof(*res));
	res->failed_index = VB_NO_INDEX;
	for (uint32_t i = 0; i < count && !ret; i++)
		for (uint64_t p = 0; p < e[i].npages && !ret; p++)
			ret = direct_unmap_page(c, e[i].iova + p * VB_PAGE_SIZE,
						&done);
	res->pages_done = done;
	c->st.pages_unmapped += done;
	c->st.pages_current -= done;
	if (ret) {
		res->status = -ret;
		c->st.errors++;
	}
	return ret;
}

int vb_client_sync(struct vb_client *c)
{
	c->st.requests++;
	return 0;
}

int vb_client_stats(struct vb_client *c, struct vb_stats *out)
{
	c->st.requests++;
	*out = c->st;
	out->reply.failed_index = VB_NO_INDEX;
	return 0;
}

/* Pipelined calls complete at once; poll delivers them in order. */
static int direct_queue(struct vb_client *c, vb_client_done_fn fn, void *arg,
			uint64_t *id, const struct vb_reply *r)
{
	struct direct_done *d;

	if (c->n_done == DIRECT_MAX_DONE)
		return -EAGAIN;
	d = &c->done[c->n_done++];
	d->fn = fn;
	d->arg = arg;
	d->id = c->next_id++;
	d->r = *r;
	d->r.status = r->status;
	if (id)
		*id = d->id;
	return 0;
}

int vb_client_submit_map(struct vb_client *c, const struct vb_map_entry *e,
			 uint32_t count, vb_client_done_fn done, void *arg,
			 uint64_t *id)
{
	struct vb_reply r;

	vb_client_map(c, e, count, &r);
	return direct_queue(c, done, arg, id, &r);
}

int vb_client_submit_unmap(struct vb_client *c,
			   const struct vb_unmap_entry *e, uint32_t count,
			   vb_client_done_fn done, void *arg, uint64_t *id)
{
	struct vb_reply r;

	vb_client_unmap(c, e, count, &r);
	return direct_queue(c, done, arg, id, &r);
}

int vb_client_poll(struct vb_client *c, int timeout_ms)
{
	unsigned int n = c->n_done;

	(void)timeout_ms;
	c->n_done = 0;
	for (unsigned int i = 0; i < n; i++)
		if (c->done[i].fn)
			c->done[i].fn(c->done[i].arg, c->done[i].id,
				      &c->done[i].r);
	return (int)n;
}

int vb_client_wait(struct vb_client *c)
{
	while (c->n_done)
		vb_client_poll(c, -1);
	return 0;
}

unsigned int vb_client_outstanding(const struct vb_client *c)
{
	return c->n_done;
}

const struct vb_client_info *vb_client_get_info(const struct vb_client *c)
{
	return &c->info;
}

static void direct_open(struct vb_client *c, int group_nr, uint64_t ram_size,
			bool populate)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[64];
	int fd;

	c->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	c->group = open(path, O_RDWR | O_CLOEXEC);
	if (c->container < 0 || c->group < 0)
		fatal("direct_open: opening /dev/vfio/vfio and %s: %s", path,
		      strerror(errno));
	if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		fatal("direct_open: group %d not viable", group_nr);
	if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container) ||
	    ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		fatal("direct_open: type1 container: %s", strerror(errno));
	fd = memfd_create("direct-type1:guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)ram_size))
		fatal("direct_open: guest RAM memfd: %s", strerror(errno));
	c->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
	if (c->ram == MAP_FAILED)
		fatal("direct_open: mmap guest RAM: %s", strerror(errno));
	c->info = (struct vb_client_info){
		.version = 1, .device_id = 1, .domain_id = 1,
		.page_size = VB_PAGE_SIZE, .max_entries = 256, .window = 32,
		.n_iova = 1, .n_ram = 1, .device_fd = -1,
	};
	/* the window a broker configuration would give (below edu's mask) */
	c->info.iova[0] = (struct vb_range){ .start = 0x100000,
					     .size = 0x8000000 };
	c->info.ram[0] = (struct vb_ram_region){ .gpa = 0, .size = ram_size,
						 .flags = VB_RAM_F_SHARED };
	for (unsigned int i = 0; i < VB_MAX_RAM_REGIONS; i++)
		c->info.ram_fd[i] = -1;
	c->info.ram_fd[0] = fd;
	c->next_id = 1;
}

static uint64_t direct_num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		fatal("bad number '%s'", s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "workload", required_argument, NULL, 'w' },
		{ "ram-size", required_argument, NULL, 'r' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "buffer-pages", required_argument, NULL, 'b' },
		{ "buffers", required_argument, NULL, 'n' },
		{ "working-set", required_argument, NULL, 's' },
		{ "pages", required_argument, NULL, 'p' },
		{ "dma-pages", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "keep-mapped", no_argument, NULL, 'k' },
		{ "coalesce", no_argument, NULL, 'c' },
		{ "hold", no_argument, NULL, 'h' },
		{ "populate", no_argument, NULL, 'F' },
		{ "no-touch", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vb_client client;
	struct devproc dp;
	uint64_t ram_size = 256ull << 20;
	int group = -1, c, rc;
	bool hold = false;
	uint64_t t0;
	char line[512];
	int n;

	log_init("vb-direct-type1", LOG_LVL_WARN);
	memset(&dp, 0, sizeof(dp));
	dp.opts.device_id = 1;
	dp.opts.iterations = 100;
	dp.opts.buffer_pages = 4;
	dp.opts.buffers = 16;
	dp.opts.working_set = 256;
	dp.opts.pages = 4096;
	dp.opts.seed = 1;
	dp.opts.pipeline = 8;
	dp.opts.quiet = true;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': group = (int)direct_num(optarg); break;
		case 'w': dp.opts.workload = optarg; break;
		case 'r': ram_size = direct_num(optarg); break;
		case 'i': dp.opts.iterations = direct_num(optarg); break;
		case 'b': dp.opts.buffer_pages = direct_num(optarg); break;
		case 'n': dp.opts.buffers = direct_num(optarg); break;
		case 's': dp.opts.working_set = direct_num(optarg); break;
		case 'p': dp.opts.pages = direct_num(optarg); break;
		case 'd': dp.opts.dma_pages = direct_num(optarg); break;
		case 'S': dp.opts.seed = direct_num(optarg); break;
		case 'P': dp.opts.pipeline = (unsigned int)direct_num(optarg); break;
		case 'k': dp.opts.keep_mapped = true; break;
		case 'c': dp.opts.coalesce = true; break;
		case 'h': hold = true; break;
		case 'F': dp.opts.populate = true; break;
		case 'T': dp.opts.no_touch = true; break;
		default: fatal("see the header of tests/vm/e2e/direct_type1.c");
		}
	}
	if (group < 0 || !dp.opts.workload)
		fatal("--group and --workload are required");
	direct_open(&client, group, ram_size, dp.opts.populate);
	dp.client = &client;
	dp.info = &client.info;
	if (guest_mem_map(&dp.gm, dp.info, dp.opts.populate))
		fatal("guest_mem_map failed");
	t0 = vb_now_ns();
	if (!strcmp(dp.opts.workload, "virtio-iommu"))
		rc = workload_virtio_iommu_run(&dp);
	else if (!strcmp(dp.opts.workload, "coiommu"))
		rc = workload_coiommu_run(&dp);
	else
		fatal("workload must be virtio-iommu or coiommu");
	if (rc)
		workload_fail(&dp, "stopped: %s", strerror(-rc));
	dp.res.seconds = (double)(vb_now_ns() - t0) / 1e9;
	n = snprintf(line, sizeof(line),
		     "direct-type1: workload %s: pages_mapped %llu pages_unmapped %llu pages_current %llu seconds %.3f pages_per_s %.0f errors %llu result %s\n",
		     dp.opts.workload,
		     (unsigned long long)client.st.pages_mapped,
		     (unsigned long long)client.st.pages_unmapped,
		     (unsigned long long)client.st.pages_current, dp.res.seconds,
		     workload_pages_per_s(&dp.res),
		     (unsigned long long)dp.res.errors,
		     dp.res.errors ? "FAIL" : "OK");
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return 1;
	while (hold)
		pause();
	return dp.res.errors ? 1 : 0;
}
