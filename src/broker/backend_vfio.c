// SPDX-License-Identifier: BSD-3-Clause
/*
 * The VFIO container backends, v3 and type1. This is the only broker file
 * that issues VFIO container and group ioctls (the seccomp policy lists
 * exactly these request numbers).
 *
 * A domain is one container. Groups join it with domain_attach_group(); the
 * first join selects the IOMMU type (VFIO_SET_IOMMU needs a group), later
 * joins get existing mappings replayed by the kernel (type1 and the v3
 * module both replay into a new group's IOMMU domain).
 *
 * v3: entries go to the kernel as they are, in batches of at most
 * VFIO_TYPE1v3_MAX_BATCH; the module gives backend.h's semantics itself
 * (EEXIST, rollback, hole-skipping unmap). A batch larger than one ioctl is
 * still all-or-nothing: the chunks already mapped are unmapped again. The
 * broker keeps no per-page state: the module is the record.
 *
 * type1: one VFIO_IOMMU_MAP_DMA per entry (a contiguous run) and a
 * userspace record of runs, because type1 can only unmap whole mappings
 * (backend_runs.c does the splitting). ENOSPC from MAP_DMA means type1's
 * dma_entry_limit was reached and is reported as such.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>
#include "uapi/linux/vfio_type1v3.h"

#include "broker/backend.h"
#include "broker/backend_log.h"
#include "broker/backend_runs.h"
#include "broker/backend_vfio.h"
#include "common/log.h"

#define VFIO_CONTAINER_PATH	"/dev/vfio/vfio"
#define VFIO_TYPE1_SLAB_BYTES	96	/* kmalloc-96 per struct vfio_dma */
#define VFIO_IOMMUFD_AREA_BYTES	384	/* two 192 B objects per area */

struct backend_vfio {
	struct backend be;
	uint32_t iommu_type;
	bool v3;
	char type1_limit[32];	/* dma_entry_limit, read before the sandbox */
};

struct backend_vfio_group {
	int nr;
	int fd;
};

struct backend_domain {
	struct backend_vfio *vb;
	uint32_t id;
	int container;
	bool iommu_set;
	struct backend_vfio_group *groups;
	size_t ngroups;
	struct backend_runs *runs;	/* type1 only */
	struct backend_runs_kernel kernel;
	size_t type1_maps;		/* live MAP_DMA mappings */
	void *buf;			/* v3: kernel entry array */
	size_t buf_size;
	struct log_budget log;		/* backend_log.h */
};

int backend_vfio_check_extension(unsigned long ext)
{
	int fd, ret;

	fd = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, VFIO_CHECK_EXTENSION, ext);
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret > 0 ? 1 : ret;
}

static uint32_t backend_vfio_prot_flags(uint32_t prot)
{
	uint32_t f = 0;

	if (prot & VB_PROT_READ)
		f |= VFIO_DMA_MAP_FLAG_READ;
	if (prot & VB_PROT_WRITE)
		f |= VFIO_DMA_MAP_FLAG_WRITE;
	return f;
}

/* May @d take a map or unmap? @res starts as "nothing done, no entry". */
static int backend_vfio_ready(struct backend_domain *d,
			      struct backend_result *res)
{
	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	if (d->iommu_set)
		return 0;
	backend_log_err(&d->log,
			"domain %u: no group attached yet, the IOMMU type is not set",
			d->id);
	return -ENODEV;
}

static void *backend_vfio_buf(struct backend_domain *d, size_t size)
{
	if (size > d->buf_size) {
		void *p = realloc(d->buf, size);

		if (!p)
			return NULL;
		d->buf = p;
		d->buf_size = size;
	}
	return d->buf;
}

/* ---- v3 ---- */

static size_t backend_vfio_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * One UNMAP_DMA_BATCH over @n entries (n <= the batch maximum); with
 * @entry_pages, the module's count for each entry (ENTRY_DONE) lands there.
 */
static int backend_vfio_v3_unmap_one(struct backend_domain *d,
				     const struct backend_unmap_entry *e,
				     size_t n, uint32_t *failed,
				     uint64_t *pages, uint64_t *entry_pages)
{
	struct vfio_iommu_type1v3_unmap_entry *ke;
	struct vfio_iommu_type1v3_unmap_batch b;
	size_t i;

	ke = backend_vfio_buf(d, n * sizeof(*ke));
	if (!ke)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ke[i].iova = e[i].iova;
		ke[i].npages = e[i].npages;
	}
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.flags = entry_pages ? VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE : 0;
	b.nr_entries = n;
	b.failed_index = ~0u;
	b.entries = (uintptr_t)ke;
	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA_BATCH, &b)) {
		*failed = b.failed_index;
		return -errno;
	}
	*pages = b.pages_done;
	for (i = 0; entry_pages && i < n; i++)
		entry_pages[i] = ke[i].npages;
	return 0;
}

/* Undo entries [0, n) of a map whose later chunk failed. */
static void backend_vfio_v3_map_undo(struct backend_domain *d,
				     const struct backend_map_entry *e,
				     size_t n)
{
	struct backend_unmap_entry *u;
	uint32_t failed;
	uint64_t pages;
	size_t off, i, chunk;
	int ret;

	for (off = 0; off < n; off += chunk) {
		chunk = backend_vfio_min(n - off, VFIO_TYPE1v3_MAX_BATCH);
		u = malloc(chunk * sizeof(*u));
		if (!u) {
			backend_log_err(&d->log,
					"domain %u: no memory to roll back %zu entries",
					d->id, chunk);
			return;
		}
		for (i = 0; i < chunk; i++) {
			u[i].iova = e[off + i].iova;
			u[i].npages = e[off + i].npages;
		}
		ret = backend_vfio_v3_unmap_one(d, u, chunk, &failed, &pages,
						NULL);
		free(u);
		if (ret)
			backend_log_err(&d->log,
					"domain %u: rollback of a split map batch failed: %d",
					d->id, ret);
	}
}

static int backend_vfio_v3_map(struct backend_domain *d,
			       const struct backend_map_entry *e, size_t n,
			       struct backend_result *res)
{
	struct vfio_iommu_type1v3_map_entry *ke;
	struct vfio_iommu_type1v3_map_batch b;
	size_t off, i, chunk;
	uint64_t pages = 0;
	int ret;

	ret = backend_vfio_ready(d, res);
	if (ret)
		return ret;
	for (off = 0; off < n; off += chunk) {
		chunk = backend_vfio_min(n - off, VFIO_TYPE1v3_MAX_BATCH);
		ke = backend_vfio_buf(d, chunk * sizeof(*ke));
		if (!ke) {
			ret = -ENOMEM;
			res->failed_index = off;
			goto undo;
		}
		for (i = 0; i < chunk; i++) {
			ke[i].iova = e[off + i].iova;
			ke[i].vaddr = e[off + i].vaddr;
			ke[i].npages = e[off + i].npages;
			ke[i].flags = backend_vfio_prot_flags(e[off + i].prot);
			ke[i].__reserved = 0;
		}
		memset(&b, 0, sizeof(b));
		b.argsz = sizeof(b);
		b.nr_entries = chunk;
		b.failed_index = ~0u;
		b.entries = (uintptr_t)ke;
		if (ioctl(d->container, VFIO_IOMMU_MAP_DMA_BATCH, &b)) {
			ret = -errno;
			res->failed_index = b.failed_index == ~0u ?
					    VB_NO_INDEX : off + b.failed_index;
			goto undo;
		}
		pages += b.pages_done;
	}
	res->pages_done = pages;
	return 0;
undo:
	if (ret != -EEXIST)
		backend_log_err(&d->log,
				"domain %u: MAP_DMA_BATCH of %zu entries failed at entry %u: %d",
				d->id, n, res->failed_index, ret);
	backend_vfio_v3_map_undo(d, e, off);
	return ret;
}

static int backend_vfio_v3_unmap(struct backend_domain *d,
				 const struct backend_unmap_entry *e, size_t n,
				 struct backend_result *res)
{
	size_t off, chunk;
	uint32_t failed = ~0u;
	uint64_t pages;
	int ret;

	ret = backend_vfio_ready(d, res);
	if (ret)
		return ret;
	/* per-entry counts, when wanted, come from the module (ENTRY_DONE) */
	for (off = 0; off < n; off += chunk) {
		chunk = backend_vfio_min(n - off, VFIO_TYPE1v3_MAX_BATCH);
		pages = 0;
		ret = backend_vfio_v3_unmap_one(d, &e[off], chunk, &failed,
						&pages,
						res->entry_pages ?
						&res->entry_pages[off] : NULL);
		if (ret) {
			res->failed_index = failed == ~0u ?
					    VB_NO_INDEX : off + failed;
			backend_log_err(&d->log,
					"domain %u: UNMAP_DMA_BATCH failed at entry %u: %d",
					d->id, res->failed_index, ret);
			return ret;
		}
		res->pages_done += pages;
	}
	return 0;
}

/* The v3 info capability: pages mapped and the module's metadata bytes. */
static int backend_vfio_v3_info(struct backend_domain *d,
				struct vfio_iommu_type1v3_info_cap *out)
{
	struct vfio_iommu_type1_info *info;
	size_t size = sizeof(*info) + 256;
	uint32_t off;
	int tries, ret = -ENOENT;

	for (tries = 0; tries < 2; tries++) {
		info = calloc(1, size);
		if (!info)
			return -ENOMEM;
		info->argsz = size;
		if (ioctl(d->container, VFIO_IOMMU_GET_INFO, info)) {
			ret = -errno;
			free(info);
			return ret;
		}
		if (info->argsz <= size)
			break;
		size = info->argsz;
		free(info);
		info = NULL;
	}
	if (!info)
		return -EIO;
	off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;
	/* Bounded walk: a cap chain must move forward inside the buffer. */
	while (off >= sizeof(*info) &&
	       off + sizeof(struct vfio_info_cap_header) <= size) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_V3 &&
		    off + sizeof(*out) <= size) {
			memcpy(out, h, sizeof(*out));
			ret = 0;
			break;
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	free(info);
	return ret;
}

static void backend_vfio_v3_usage(struct backend_domain *d,
				  struct backend_usage *u)
{
	struct vfio_iommu_type1v3_info_cap cap;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!d->iommu_set)
		return;
	ret = backend_vfio_v3_info(d, &cap);
	if (ret) {
		log_warn("domain %u: no v3 info capability: %d", d->id, ret);
		return;
	}
	/* The module keeps no extents, so type1/iommufd estimates stay 0. */
	u->mapped_pages = cap.mapped_pages;
	u->bytes_self = cap.metadata_bytes;
	if (cap.mode == VFIO_TYPE1v3_MODE_DIRECT)
		u->bytes_v3 = cap.metadata_bytes;
}

/* ---- type1 ---- */

static void backend_vfio_type1_report_limit(struct backend_domain *d,
					    const struct backend_run *r)
{
	backend_log_err(&d->log,
			"domain %u: type1 MAP_DMA of iova 0x%llx returned ENOSPC: the container holds %zu mappings and vfio_iommu_type1's dma_entry_limit is %s; load vfio_iommu_type1 with a larger dma_entry_limit= or use the v3 backend",
			d->id, (unsigned long long)r->iova,
			d->type1_maps, d->vb->type1_limit);
}

static int backend_vfio_type1_map_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	struct vfio_iommu_type1_dma_map m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = backend_vfio_prot_flags(r->prot);
	m.vaddr = r->vaddr;
	m.iova = r->iova;
	m.size = r->npages << VB_PAGE_SHIFT;
	if (!ioctl(d->container, VFIO_IOMMU_MAP_DMA, &m)) {
		d->type1_maps++;
		return 0;
	}
	ret = -errno;
	if (ret == -ENOSPC)
		backend_vfio_type1_report_limit(d, r);
	else
		backend_log_err(&d->log,
				"domain %u: MAP_DMA iova 0x%llx size 0x%llx failed: %d",
				d->id, (unsigned long long)m.iova,
				(unsigned long long)m.size, ret);
	return ret;
}

static int backend_vfio_type1_unmap_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	struct vfio_iommu_type1_dma_unmap u;
	uint64_t size = r->npages << VB_PAGE_SHIFT;
	int ret;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.iova = r->iova;
	u.size = size;
	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &u)) {
		ret = -errno;
		backend_log_err(&d->log,
				"domain %u: UNMAP_DMA iova 0x%llx size 0x%llx failed: %d",
				d->id, (unsigned long long)r->iova,
				(unsigned long long)size, ret);
		return ret;
	}
	if (u.size != size) {
		/* Our record and the kernel disagree: say so, do not guess. */
		backend_log_err(&d->log,
				"domain %u: UNMAP_DMA iova 0x%llx unmapped 0x%llx bytes, the run has 0x%llx",
				d->id, (unsigned long long)r->iova,
				(unsigned long long)u.size, (unsigned long long)size);
		return -EIO;
	}
	d->type1_maps--;
	return 0;
}

static int backend_vfio_type1_map(struct backend_domain *d,
				  const struct backend_map_entry *e, size_t n,
				  struct backend_result *res)
{
	int ret = backend_vfio_ready(d, res);

	if (ret)
		return ret;
	return backend_runs_map(d->runs, &d->kernel, e, n, res);
}

static int backend_vfio_type1_unmap(struct backend_domain *d,
				    const struct backend_unmap_entry *e,
				    size_t n, struct backend_result *res)
{
	int ret = backend_vfio_ready(d, res);

	if (ret)
		return ret;
	return backend_runs_unmap(d->runs, &d->kernel, e, n, res);
}

static void backend_vfio_type1_usage(struct backend_domain *d,
				     struct backend_usage *u)
{
	uint64_t runs = backend_runs_count(d->runs);

	memset(u, 0, sizeof(*u));
	u->mapped_pages = backend_runs_pages(d->runs);
	u->extents = runs;
	u->bytes_self = runs * VFIO_TYPE1_SLAB_BYTES;
	u->bytes_type1 = runs * VFIO_TYPE1_SLAB_BYTES;
	u->bytes_iommufd = runs * VFIO_IOMMUFD_AREA_BYTES;
}

/* ---- common: domains, groups, devices ---- */

static int backend_vfio_domain_open(struct backend *be, uint32_t id,
				    struct backend_domain **out)
{
	struct backend_vfio *vb = be->priv;
	struct backend_domain *d;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vb = vb;
	d->id = id;
	d->container = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	if (d->container < 0) {
		ret = -errno;
		log_err("domain %u: open %s: %s", id, VFIO_CONTAINER_PATH,
			strerror(-ret));
		goto err_free;
	}
	ret = ioctl(d->container, VFIO_GET_API_VERSION);
	if (ret != VFIO_API_VERSION) {
		log_err("domain %u: VFIO API version %d, expected %d", id, ret,
			VFIO_API_VERSION);
		ret = -EPROTONOSUPPORT;
		goto err_close;
	}
	if (ioctl(d->container, VFIO_CHECK_EXTENSION, vb->iommu_type) != 1) {
		log_err("domain %u: the kernel does not offer IOMMU type %u (%s)",
			id, vb->iommu_type,
			vb->v3 ? "is vfio_iommu_type1v3 loaded?" :
				 "is vfio_iommu_type1 loaded?");
		ret = -ENODEV;
		goto err_close;
	}
	if (!vb->v3) {
		d->runs = backend_runs_new();
		if (!d->runs) {
			ret = -ENOMEM;
			goto err_close;
		}
		d->kernel.map_run = backend_vfio_type1_map_run;
		d->kernel.unmap_run = backend_vfio_type1_unmap_run;
		d->kernel.ctx = d;
	}
	*out = d;
	return 0;
err_close:
	close(d->container);
err_free:
	free(d);
	return ret;
}

static void backend_vfio_domain_close(struct backend_domain *d)
{
	size_t i;

	/* Closing the groups and the container unmaps and unpins it all. */
	for (i = 0; i < d->ngroups; i++)
		close(d->groups[i].fd);
	close(d->container);
	backend_runs_free(d->runs);
	free(d->groups);
	free(d->buf);
	free(d);
}

static struct backend_vfio_group *
backend_vfio_group_find(struct backend_domain *d, int nr)
{
	size_t i;

	for (i = 0; i < d->ngroups; i++)
		if (d->groups[i].nr == nr)
			return &d->groups[i];
	return NULL;
}

static int backend_vfio_attach_group(struct backend_domain *d, int group_nr)
{
	struct vfio_group_status st;
	struct backend_vfio_group *g;
	char path[64];
	int fd, ret;

	if (backend_vfio_group_find(d, group_nr))
		return -EEXIST;
	g = realloc(d->groups, (d->ngroups + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	d->groups = g;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("domain %u: open %s: %s%s", d->id, path,
			strerror(-ret), ret == -EBUSY ?
			" (the group is open elsewhere)" : ret == -ENOENT ?
			" (no device of the group is bound to vfio-pci)" : "");
		return ret;
	}
	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		ret = -errno;
		log_err("domain %u: group %d status: %d", d->id, group_nr, ret);
		goto err_close;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_err("domain %u: group %d is not viable: bind every device in /sys/kernel/iommu_groups/%d/devices to vfio-pci",
			d->id, group_nr, group_nr);
		ret = -EBUSY;
		goto err_close;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &d->container)) {
		ret = -errno;
		log_err("domain %u: group %d SET_CONTAINER: %d", d->id,
			group_nr, ret);
		goto err_close;
	}
	if (!d->iommu_set) {
		if (ioctl(d->container, VFIO_SET_IOMMU, d->vb->iommu_type)) {
			ret = -errno;
			log_err("domain %u: SET_IOMMU type %u: %d", d->id,
				d->vb->iommu_type, ret);
			ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
			goto err_close;
		}
		d->iommu_set = true;
	}
	d->groups[d->ngroups].nr = group_nr;
	d->groups[d->ngroups].fd = fd;
	d->ngroups++;
	log_info("domain %u: group %d attached (%s)", d->id, group_nr,
		 d->vb->be.ops->name);
	return 0;
err_close:
	close(fd);
	return ret;
}

static int backend_vfio_device_open(struct backend_domain *d, int group_nr,
				    const char *device_name, int *fd_out)
{
	struct backend_vfio_group *g = backend_vfio_group_find(d, group_nr);
	int fd;

	if (!g) {
		log_err("domain %u: group %d is not attached", d->id, group_nr);
		return -ENOENT;
	}
	fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, device_name);
	if (fd < 0) {
		fd = -errno;
		log_err("domain %u: group %d has no device %s: %d", d->id,
			group_nr, device_name, fd);
		return fd;
	}
	*fd_out = fd;
	return 0;
}

static void backend_vfio_destroy(struct backend *be)
{
	free(be->priv);
}

static const struct backend_ops backend_vfio_v3_ops = {
	.name = "v3",
	.domain_open = backend_vfio_domain_open,
	.domain_close = backend_vfio_domain_close,
	.map = backend_vfio_v3_map,
	.unmap = backend_vfio_v3_unmap,
	.usage = backend_vfio_v3_usage,
	.destroy = backend_vfio_destroy,
	.domain_attach_group = backend_vfio_attach_group,
	.device_open = backend_vfio_device_open,
};

static const struct backend_ops backend_vfio_type1_ops = {
	.name = "type1",
	.domain_open = backend_vfio_domain_open,
	.domain_close = backend_vfio_domain_close,
	.map = backend_vfio_type1_map,
	.unmap = backend_vfio_type1_unmap,
	.usage = backend_vfio_type1_usage,
	.destroy = backend_vfio_destroy,
	.domain_attach_group = backend_vfio_attach_group,
	.device_open = backend_vfio_device_open,
};

static int backend_vfio_create(const struct backend_ops *ops, uint32_t type,
			       bool v3, struct backend **out)
{
	struct backend_vfio *vb = calloc(1, sizeof(*vb));

	if (!vb)
		return -ENOMEM;
	vb->be.ops = ops;
	vb->be.priv = vb;
	vb->iommu_type = type;
	vb->v3 = v3;
	*out = &vb->be;
	return 0;
}

int backend_v3_create(bool direct, struct backend **out)
{
	return backend_vfio_create(&backend_vfio_v3_ops,
				   direct ? VFIO_TYPE1v3_DIRECT_IOMMU :
					    VFIO_TYPE1v3_IOMMU, true, out);
}

/*
 * type1's dma_entry_limit, for the message that explains an ENOSPC. Read
 * at creation because the sandboxed broker cannot open files later.
 */
static void backend_vfio_read_type1_limit(struct backend_vfio *vb)
{
	FILE *f = fopen("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
			"re");

	strcpy(vb->type1_limit, "?");
	if (!f)
		return;
	if (!fgets(vb->type1_limit, sizeof(vb->type1_limit), f))
		strcpy(vb->type1_limit, "?");
	vb->type1_limit[strcspn(vb->type1_limit, "\n")] = '\0';
	fclose(f);
}

int backend_type1_create(struct backend **out)
{
	int ret = backend_vfio_create(&backend_vfio_type1_ops,
				      VFIO_TYPE1v2_IOMMU, false, out);

	if (!ret)
		backend_vfio_read_type1_limit((*out)->priv);
	return ret;
}
