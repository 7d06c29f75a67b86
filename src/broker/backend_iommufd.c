// SPDX-License-Identifier: BSD-3-Clause
/*
 * The iommufd backend: /dev/iommu plus VFIO device cdevs
 * (/dev/vfio/devices/vfioN), for kernels built with CONFIG_IOMMUFD and
 * CONFIG_VFIO_DEVICE_CDEV.
 *
 * A domain is one IOAS in its own /dev/iommu file. Attaching group N binds
 * every device listed in /sys/kernel/iommu_groups/N/devices to that iommufd
 * (VFIO_DEVICE_BIND_IOMMUFD) and attaches it to the IOAS
 * (VFIO_DEVICE_ATTACH_IOMMUFD_PT); iommufd fills a new hardware domain from
 * the IOAS itself, so late attaches see existing mappings. device_open hands
 * out a duplicate of the bound cdev fd: the bind lives as long as any copy.
 *
 * Like type1, iommufd keeps one area per IOMMU_IOAS_MAP and refuses to
 * unmap part of one (IOMMU_IOAS_UNMAP fails with ENOENT when the range cuts
 * an area), so each entry is one IOMMU_IOAS_MAP at a fixed IOVA and
 * backend_runs.c splits runs for sub-range unmaps.
 *
 * Debian 12's <linux/iommufd.h> does not exist (its uAPI headers are 6.1)
 * and its <linux/vfio.h> lacks the cdev ioctls (6.6). The build adds a
 * newer kernel uAPI directory after the system one when it finds it; the
 * two cdev structs are declared here when <linux/vfio.h> lacks them (they
 * are fixed ABI). Without iommufd.h this file builds a stub that refuses.
 */
#include <errno.h>

#include "broker/backend.h"
#include "broker/backend_probe.h"
#include "common/log.h"

#if __has_include(<linux/iommufd.h>)

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "broker/backend_log.h"
#include "broker/backend_runs.h"

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#define IOMMUFD_PATH		"/dev/iommu"
#define IOMMUFD_AREA_BYTES	384	/* two 192 B objects per area */
#define IOMMUFD_TYPE1_BYTES	96

struct backend_iommufd_dev {
	int group_nr;
	char name[NAME_MAX + 1];
	int fd;
};

struct backend_domain {
	uint32_t id;
	int iommufd;
	uint32_t ioas_id;
	struct backend_iommufd_dev *devs;
	size_t ndevs;
	struct backend_runs *runs;
	struct backend_runs_kernel kernel;
	struct log_budget log;		/* backend_log.h */
};

int backend_iommufd_supported(void)
{
	return 1;
}

static int backend_iommufd_map_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	struct iommu_ioas_map m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	if (r->prot & VB_PROT_READ)
		m.flags |= IOMMU_IOAS_MAP_READABLE;
	if (r->prot & VB_PROT_WRITE)
		m.flags |= IOMMU_IOAS_MAP_WRITEABLE;
	m.ioas_id = d->ioas_id;
	m.user_va = r->vaddr;
	m.length = r->npages << VB_PAGE_SHIFT;
	m.iova = r->iova;
	if (!ioctl(d->iommufd, IOMMU_IOAS_MAP, &m))
		return 0;
	ret = -errno;
	backend_log_err(&d->log,
			"domain %u: IOMMU_IOAS_MAP iova 0x%llx length 0x%llx: %d",
			d->id, (unsigned long long)r->iova,
			(unsigned long long)m.length, ret);
	return ret;
}

static int backend_iommufd_unmap_run(void *ctx, const struct backend_run *r)
{
	struct backend_domain *d = ctx;
	struct iommu_ioas_unmap u;
	uint64_t length = r->npages << VB_PAGE_SHIFT;
	int ret;

	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.ioas_id = d->ioas_id;
	u.iova = r->iova;
	u.length = length;
	if (ioctl(d->iommufd, IOMMU_IOAS_UNMAP, &u)) {
		ret = -errno;
		backend_log_err(&d->log,
				"domain %u: IOMMU_IOAS_UNMAP iova 0x%llx length 0x%llx: %d",
				d->id, (unsigned long long)r->iova,
				(unsigned long long)length, ret);
		return ret;
	}
	if (u.length != length) {
		backend_log_err(&d->log,
				"domain %u: IOMMU_IOAS_UNMAP iova 0x%llx unmapped 0x%llx bytes, the run has 0x%llx",
				d->id, (unsigned long long)r->iova,
				(unsigned long long)u.length,
				(unsigned long long)length);
		return -EIO;
	}
	return 0;
}

static int backend_iommufd_map(struct backend_domain *d,
			       const struct backend_map_entry *e, size_t n,
			       struct backend_result *res)
{
	/* as v3 and type1: no device, no IOMMU behind the IOAS yet */
	if (!d->ndevs) {
		res->failed_index = VB_NO_INDEX;
		res->pages_done = 0;
		return -ENODEV;
	}
	return backend_runs_map(d->runs, &d->kernel, e, n, res);
}

static int backend_iommufd_unmap(struct backend_domain *d,
				 const struct backend_unmap_entry *e, size_t n,
				 struct backend_result *res)
{
	return backend_runs_unmap(d->runs, &d->kernel, e, n, res);
}

static void backend_iommufd_usage(struct backend_domain *d,
				  struct backend_usage *u)
{
	uint64_t runs = backend_runs_count(d->runs);

	memset(u, 0, sizeof(*u));
	u->mapped_pages = backend_runs_pages(d->runs);
	u->extents = runs;
	u->bytes_self = runs * IOMMUFD_AREA_BYTES;
	u->bytes_type1 = runs * IOMMUFD_TYPE1_BYTES;
	u->bytes_iommufd = runs * IOMMUFD_AREA_BYTES;
}

static int backend_iommufd_domain_open(struct backend *be, uint32_t id,
				       struct backend_domain **out)
{
	struct iommu_ioas_alloc a;
	struct backend_domain *d;
	int ret;

	(void)be;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->id = id;
	d->iommufd = open(IOMMUFD_PATH, O_RDWR | O_CLOEXEC);
	if (d->iommufd < 0) {
		ret = -errno;
		log_err("domain %u: open %s: %s", id, IOMMUFD_PATH,
			strerror(-ret));
		goto err_free;
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	if (ioctl(d->iommufd, IOMMU_IOAS_ALLOC, &a)) {
		ret = -errno;
		log_err("domain %u: IOMMU_IOAS_ALLOC: %d", id, ret);
		goto err_close;
	}
	d->ioas_id = a.out_ioas_id;
	d->runs = backend_runs_new();
	if (!d->runs) {
		ret = -ENOMEM;
		goto err_close;
	}
	d->kernel.map_run = backend_iommufd_map_run;
	d->kernel.unmap_run = backend_iommufd_unmap_run;
	d->kernel.ctx = d;
	*out = d;
	return 0;
err_close:
	close(d->iommufd);
err_free:
	free(d);
	return ret;
}

static void backend_iommufd_domain_close(struct backend_domain *d)
{
	size_t i;

	/* Closing the bound cdevs and the iommufd unmaps and unpins it all. */
	for (i = 0; i < d->ndevs; i++)
		close(d->devs[i].fd);
	close(d->iommufd);
	backend_runs_free(d->runs);
	free(d->devs);
	free(d);
}

/* /dev/vfio/devices/vfioN for PCI device @name, opened; -errno. */
static int backend_iommufd_cdev_open(struct backend_domain *d, const char *name)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int fd = -ENODEV;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", name);
	dir = opendir(path);
	if (!dir) {
		log_err("domain %u: %s has no VFIO cdev (not bound to vfio-pci, or a kernel without CONFIG_VFIO_DEVICE_CDEV)",
			d->id, name);
		return -ENODEV;
	}
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s",
			 de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			log_err("domain %u: open %s: %s", d->id, path,
				strerror(-fd));
		}
		break;
	}
	closedir(dir);
	return fd;
}

static int backend_iommufd_dev_bind(struct backend_domain *d, int group_nr,
				    const char *name)
{
	struct vfio_device_attach_iommufd_pt at;
	struct vfio_device_bind_iommufd bind;
	struct backend_iommufd_dev *devs;
	int fd, ret;

	devs = realloc(d->devs, (d->ndevs + 1) * sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	d->devs = devs;
	fd = backend_iommufd_cdev_open(d, name);
	if (fd < 0)
		return fd;
	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	bind.iommufd = d->iommufd;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		ret = -errno;
		log_err("domain %u: bind %s to iommufd: %d", d->id, name, ret);
		goto err;
	}
	memset(&at, 0, sizeof(at));
	at.argsz = sizeof(at);
	at.pt_id = d->ioas_id;
	if (ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		ret = -errno;
		log_err("domain %u: attach %s to IOAS %u: %d", d->id, name,
			d->ioas_id, ret);
		goto err;
	}
	devs[d->ndevs].group_nr = group_nr;
	snprintf(devs[d->ndevs].name, sizeof(devs[0].name), "%s", name);
	devs[d->ndevs].fd = fd;
	d->ndevs++;
	return 0;
err:
	close(fd);
	return ret;
}

static int backend_iommufd_attach_group(struct backend_domain *d, int group_nr)
{
	char path[64];
	struct dirent *de;
	size_t i, first = d->ndevs;
	DIR *dir;
	int ret = 0;

	for (i = 0; i < d->ndevs; i++)
		if (d->devs[i].group_nr == group_nr)
			return -EEXIST;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group_nr);
	dir = opendir(path);
	if (!dir) {
		ret = -errno;
		log_err("domain %u: %s: %s", d->id, path, strerror(-ret));
		return ret;
	}
	while (!ret && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			ret = backend_iommufd_dev_bind(d, group_nr, de->d_name);
	closedir(dir);
	if (!ret && d->ndevs == first)
		ret = -ENODEV;
	if (ret) {
		/* A group is all or nothing: unbind what did bind. */
		while (d->ndevs > first)
			close(d->devs[--d->ndevs].fd);
		return ret == -ENODEV ? -EBUSY : ret;
	}
	log_info("domain %u: group %d attached (iommufd, IOAS %u)", d->id,
		 group_nr, d->ioas_id);
	return 0;
}

static int backend_iommufd_device_open(struct backend_domain *d, int group_nr,
				       const char *device_name, int *fd_out)
{
	size_t i;
	int fd;

	for (i = 0; i < d->ndevs; i++) {
		if (d->devs[i].group_nr != group_nr ||
		    strcmp(d->devs[i].name, device_name))
			continue;
		fd = fcntl(d->devs[i].fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		*fd_out = fd;
		return 0;
	}
	log_err("domain %u: no device %s in attached group %d", d->id,
		device_name, group_nr);
	return -ENOENT;
}

static void backend_iommufd_destroy(struct backend *be)
{
	free(be);
}

static const struct backend_ops backend_iommufd_ops = {
	.name = "iommufd",
	.domain_open = backend_iommufd_domain_open,
	.domain_close = backend_iommufd_domain_close,
	.map = backend_iommufd_map,
	.unmap = backend_iommufd_unmap,
	.usage = backend_iommufd_usage,
	.destroy = backend_iommufd_destroy,
	.domain_attach_group = backend_iommufd_attach_group,
	.device_open = backend_iommufd_device_open,
};

int backend_iommufd_create(struct backend **out)
{
	struct backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->ops = &backend_iommufd_ops;
	*out = be;
	return 0;
}

#else /* no <linux/iommufd.h> */

int backend_iommufd_supported(void)
{
	return 0;
}

int backend_iommufd_create(struct backend **out)
{
	(void)out;
	log_err("the broker was built without <linux/iommufd.h>; the iommufd backend is not available");
	return -EOPNOTSUPP;
}

#endif
