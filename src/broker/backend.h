/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one narrow interface between the broker and whatever maps IOVAs:
 * sim (userspace model), v3 (vfio_iommu_type1v3), type1, iommufd.
 *
 * A backend instance owns the broker's DMA domains. A domain is one IOVA
 * space (one VFIO container or iommufd IOAS); devices fenced from each other
 * live in different domains. Entries arrive validated (page-aligned, no
 * overflow, in a device window, vaddr inside guest RAM), so a backend checks
 * only what its own store knows: whether pages are mapped.
 *
 * Semantics every backend must give (the v3 kernel semantics, see
 * include/uapi/linux/vfio_type1v3.h and docs/uapi.md):
 *  - map is all-or-nothing: on error nothing of the batch stays mapped,
 *    res->failed_index names the entry, the return is its -errno (-EEXIST
 *    when a page is already mapped, also by an earlier entry of the batch);
 *  - unmap removes every mapped page of every entry and skips holes; any
 *    page-aligned sub-range of an earlier map may be named (type1 and
 *    iommufd backends split their own runs to give this, which leaves the
 *    rest of a cut run unmapped for a moment: not atomic for it);
 *  - res->pages_done counts pages mapped / pages that were mapped and now
 *    are not.
 */
#ifndef VB_BROKER_BACKEND_H
#define VB_BROKER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio-broker/proto.h"

struct backend_map_entry {
	uint64_t iova;
	uint64_t vaddr;		/* broker's address of the guest page */
	uint64_t npages;
	uint32_t prot;		/* VB_PROT_* */
};

struct backend_unmap_entry {
	uint64_t iova;
	uint64_t npages;
};

struct backend_result {
	uint32_t failed_index;	/* VB_NO_INDEX if none */
	uint64_t pages_done;
	/*
	 * Optional, set by the caller (NULL = not wanted): n slots that unmap
	 * fills with the pages each entry actually unmapped. The batcher merges
	 * several clients' UNMAPs into one call and needs this to answer each
	 * request with its own pages_done when the batch crossed holes.
	 * A backend that cannot attribute pages to entries leaves the slots
	 * untouched, so callers pre-fill a sentinel (UINT64_MAX); every
	 * backend here fills them (v3 through the module's ENTRY_DONE).
	 */
	uint64_t *entry_pages;
};

/* Kernel memory the current mapping set costs (or would cost). */
struct backend_usage {
	uint64_t mapped_pages;
	uint64_t extents;	/* live map extents as type1 would hold them */
	uint64_t bytes_self;	/* this backend's own metadata */
	uint64_t bytes_type1;	/* estimate: 96 B slab object per extent */
	uint64_t bytes_iommufd;	/* estimate: 2 x 192 B per extent */
	uint64_t bytes_v3;	/* v3 direct-mode page store */
};

struct backend;
struct backend_domain;

struct backend_ops {
	const char *name;
	/* Open one domain; @id is the configuration's domain id. */
	int (*domain_open)(struct backend *be, uint32_t id,
			   struct backend_domain **out);
	void (*domain_close)(struct backend_domain *d);
	int (*map)(struct backend_domain *d,
		   const struct backend_map_entry *e, size_t n,
		   struct backend_result *res);
	int (*unmap)(struct backend_domain *d,
		     const struct backend_unmap_entry *e, size_t n,
		     struct backend_result *res);
	void (*usage)(struct backend_domain *d, struct backend_usage *u);
	void (*destroy)(struct backend *be);
	/*
	 * Optional (NULL for sim): put IOMMU group /dev/vfio/@group_nr into
	 * the domain. The first attach selects the IOMMU type; a group that
	 * attaches after mappings exist gets them replayed by the kernel.
	 * -EBUSY: the group is not viable (a device of it is not bound to
	 * vfio-pci) or already in use; -ENOENT (v3, type1): no /dev/vfio/N,
	 * no device of the group is bound to vfio-pci; -EEXIST: already in
	 * this domain.
	 */
	int (*domain_attach_group)(struct backend_domain *d, int group_nr);
	/*
	 * Optional (NULL for sim): a VFIO device fd (BARs, config space,
	 * interrupts) for @device_name, a PCI address like "0000:00:03.0",
	 * of an attached group. The caller owns *fd_out; it is what a devproc
	 * gets, never the container or group fd.
	 */
	int (*device_open)(struct backend_domain *d, int group_nr,
			   const char *device_name, int *fd_out);
};

struct backend {
	const struct backend_ops *ops;
	void *priv;
};

/* Constructors, one per backend file. */
int backend_sim_create(struct backend **out);
/* v3 module: @direct selects VFIO_TYPE1v3_DIRECT_IOMMU, else tracked. */
int backend_v3_create(bool direct, struct backend **out);
int backend_type1_create(struct backend **out);
int backend_iommufd_create(struct backend **out);

#endif /* VB_BROKER_BACKEND_H */
