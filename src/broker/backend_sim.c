// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim: a userspace backend with the v3 kernel backend's batch semantics, so
 * the whole broker runs and is tested on machines without VFIO devices.
 *
 * Each domain is one sim_store (sim_store.c). This file adds the batch
 * semantics backend.h asks of every backend (the v3 module's, with the v3
 * backend's splitting of batches above VFIO_TYPE1v3_MAX_BATCH folded in,
 * so any n is one all-or-nothing batch and n == 0 does nothing):
 *  - map: entries are applied in order, so a page mapped by an earlier
 *    entry of the same batch is EEXIST exactly like one mapped before; the
 *    first failure unmaps every earlier entry of the batch again and is
 *    reported with its index and errno;
 *  - unmap: every entry is validated before anything changes; then holes
 *    are skipped and pages_done counts pages that really were mapped.
 * An entry is invalid (-EINVAL) when its iova is not page-aligned, npages
 * is 0, iova + npages pages passes 2^64, or prot is empty or unknown. The
 * broker's policy rejects all of these first; sim checks them again
 * because the kernel does, and a broker bug must not corrupt the model.
 *
 * vaddr is not recorded: like v3 direct mode, the store keeps only which
 * IOVA pages are mapped. usage() turns the store's extent and chunk counts
 * into what each real backend would spend: type1 one 96-byte vfio_dma per
 * extent, iommufd two ~192-byte objects (area and pages) per extent, v3 the
 * chunk-and-xarray model stated in sim_store.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backend.h"
#include "broker/sim_store.h"
#include "common/log.h"

#define SIM_TYPE1_BYTES_PER_EXTENT	96u	/* struct vfio_dma slab object */
#define SIM_IOMMUFD_BYTES_PER_EXTENT	(2u * 192u) /* area + pages */

struct backend_domain {
	struct sim_backend *owner;
	struct backend_domain *next;
	uint32_t id;
	struct sim_store store;
};

struct sim_backend {
	struct backend be;
	struct backend_domain *domains;
};

static int backend_sim_domain_open(struct backend *be, uint32_t id,
				   struct backend_domain **out)
{
	struct sim_backend *sb = be->priv;
	struct backend_domain *d;

	for (d = sb->domains; d; d = d->next) {
		if (d->id == id) {
			log_err("sim domain %u is already open", id);
			return -EEXIST;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->owner = sb;
	d->id = id;
	sim_store_init(&d->store, SIM_STORE_DEFAULT_MAX_PAGES);
	d->next = sb->domains;
	sb->domains = d;
	*out = d;
	return 0;
}

static void backend_sim_domain_close(struct backend_domain *d)
{
	struct backend_domain **pp;

	if (!d)
		return;
	for (pp = &d->owner->domains; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	sim_store_fini(&d->store);
	free(d);
}

static bool backend_sim_range_ok(uint64_t iova, uint64_t npages)
{
	uint64_t pfn = iova >> VB_PAGE_SHIFT;

	return (iova & (VB_PAGE_SIZE - 1)) == 0 && npages >= 1 &&
	       npages <= SIM_STORE_PFN_LIMIT - pfn;
}

static int backend_sim_map(struct backend_domain *d,
			   const struct backend_map_entry *e, size_t n,
			   struct backend_result *res)
{
	uint64_t done = 0, undone;
	size_t i, j;
	int ret = 0;

	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	for (i = 0; i < n; i++) {
		if (!backend_sim_range_ok(e[i].iova, e[i].npages) ||
		    !e[i].prot || (e[i].prot & ~VB_PROT_MASK))
			ret = -EINVAL;
		else
			ret = sim_store_map(&d->store,
					    e[i].iova >> VB_PAGE_SHIFT,
					    e[i].npages);
		if (ret)
			break;
		done += e[i].npages;
	}
	if (!ret) {
		res->pages_done = done;
		return 0;
	}
	/* Entries before i are exactly what this call mapped: undo them. */
	for (j = 0; j < i; j++)
		sim_store_unmap(&d->store, e[j].iova >> VB_PAGE_SHIFT,
				e[j].npages, &undone);
	res->failed_index = (uint32_t)i;
	return ret;
}

static int backend_sim_unmap(struct backend_domain *d,
			     const struct backend_unmap_entry *e, size_t n,
			     struct backend_result *res)
{
	uint64_t done = 0, got;
	size_t i;

	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	for (i = 0; i < n; i++) {
		if (!backend_sim_range_ok(e[i].iova, e[i].npages)) {
			res->failed_index = (uint32_t)i;
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		/* Cannot fail: the range was checked above. */
		sim_store_unmap(&d->store, e[i].iova >> VB_PAGE_SHIFT,
				e[i].npages, &got);
		if (res->entry_pages)
			res->entry_pages[i] = got;
		done += got;
	}
	res->pages_done = done;
	return 0;
}

static void backend_sim_usage(struct backend_domain *d,
			      struct backend_usage *u)
{
	struct sim_store_usage su;

	sim_store_usage(&d->store, &su);
	u->mapped_pages = su.mapped_pages;
	u->extents = su.extents;
	u->bytes_self = sizeof(*d) - sizeof(d->store) + su.bytes_self;
	u->bytes_type1 = su.extents * SIM_TYPE1_BYTES_PER_EXTENT;
	u->bytes_iommufd = su.extents * SIM_IOMMUFD_BYTES_PER_EXTENT;
	u->bytes_v3 = su.bytes_v3;
}

static void backend_sim_destroy(struct backend *be)
{
	struct sim_backend *sb;

	if (!be)
		return;
	sb = be->priv;
	while (sb->domains) {
		log_warn("sim domain %u still open at destroy; closing it",
			 sb->domains->id);
		backend_sim_domain_close(sb->domains);
	}
	free(sb);
}

static const struct backend_ops backend_sim_ops = {
	.name		= "sim",
	.domain_open	= backend_sim_domain_open,
	.domain_close	= backend_sim_domain_close,
	.map		= backend_sim_map,
	.unmap		= backend_sim_unmap,
	.usage		= backend_sim_usage,
	.destroy	= backend_sim_destroy,
};

int backend_sim_create(struct backend **out)
{
	struct sim_backend *sb = calloc(1, sizeof(*sb));

	if (!sb)
		return -ENOMEM;
	sb->be.ops = &backend_sim_ops;
	sb->be.priv = sb;
	*out = &sb->be;
	return 0;
}
