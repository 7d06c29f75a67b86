/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Builds the domain and device tables from the configuration and opens one
 * backend domain per domain. Domain ids are assigned in order of first
 * appearance in the file, starting at 1, so they are stable for a given
 * configuration and appear in WELCOME and in the counters.
 */
#include "broker/domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/holder.h"
#include "common/log.h"

static struct domain *domain_by_name(struct broker *b, const char *name)
{
	for (unsigned int i = 0; i < b->n_domains; i++)
		if (!strcmp(b->domains[i].name, name))
			return &b->domains[i];
	return NULL;
}

/*
 * Backends with real IOMMU groups (attach op present) need a group number;
 * the sim backend has none and ignores the number, so configurations
 * written for real hardware still run on sim.
 */
static int domain_attach(struct broker *b, struct device *dev)
{
	const struct backend_ops *ops = b->be->ops;
	int ret;

	if (!ops->domain_attach_group) {
		/* loud: with backend = auto this is where a host without
		 * VFIO shows, and nothing reaches an IOMMU */
		if (dev->cfg->group != CONFIG_GROUP_SIM)
			log_warn("device %u: backend %s ignores group %d: no IOMMU is programmed and the device gets no device fd (name a VFIO backend to make this a start-up error)",
				 dev->id, ops->name, dev->cfg->group);
		return 0;
	}
	if (dev->cfg->group == CONFIG_GROUP_SIM) {
		log_err("device %u: 'group = sim' but backend %s needs an IOMMU group number",
			dev->id, ops->name);
		return -EINVAL;
	}
	/* functions of one card may share a group; it joins one domain once */
	for (struct device *o = b->devices; o < dev; o++) {
		if (o->cfg->group != dev->cfg->group)
			continue;
		if (o->domain == dev->domain)
			return 0;
		log_err("devices %u and %u share IOMMU group %d, which can be in one IOVA space only: give them the same domain",
			o->id, dev->id, dev->cfg->group);
		return -EINVAL;
	}
	ret = ops->domain_attach_group(dev->domain->bd, dev->cfg->group);
	if (ret)
		log_err("device %u: attaching IOMMU group %d to domain %u: %s",
			dev->id, dev->cfg->group, dev->domain->id, strerror(-ret));
	return ret;
}

/*
 * The device fd a devproc gets in WELCOME: opened once here, while the
 * broker may still open files, and lent (never given up) on every WELCOME
 * of that device, so a restarted devproc gets the same device.
 */
static int domain_open_device(struct broker *b, struct device *dev)
{
	const struct backend_ops *ops = b->be->ops;
	int ret;

	if (!dev->cfg->pci[0])
		return 0;
	if (!ops->device_open) {
		log_info("device %u: backend %s has no device fds; 'pci = %s' ignored",
			 dev->id, ops->name, dev->cfg->pci);
		return 0;
	}
	ret = ops->device_open(dev->domain->bd, dev->cfg->group, dev->cfg->pci,
			       &dev->device_fd);
	if (ret) {
		dev->device_fd = -1;
		log_err("device %u: opening VFIO device %s in group %d: %s",
			dev->id, dev->cfg->pci, dev->cfg->group,
			strerror(-ret));
	}
	return ret;
}

int domain_setup(struct broker *b)
{
	const struct config *cfg = b->cfg;
	int ret;

	b->domains = calloc(cfg->n_dev, sizeof(*b->domains));
	b->devices = calloc(cfg->n_dev, sizeof(*b->devices));
	if (!b->domains || !b->devices)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->n_dev; i++) {
		b->devices[i].device_fd = -1;
		b->devices[i].holder_pidfd = -1;
	}

	for (unsigned int i = 0; i < cfg->n_dev; i++) {
		const struct config_device *cd = &cfg->dev[i];
		struct device *dev = &b->devices[i];
		struct domain *d = domain_by_name(b, cd->domain);

		if (!d) {
			d = &b->domains[b->n_domains];
			d->id = b->n_domains + 1;
			snprintf(d->name, sizeof(d->name), "%s", cd->domain);
			TAILQ_INIT(&d->pending);
			ret = b->be->ops->domain_open(b->be, d->id, &d->bd);
			if (ret) {
				log_err("backend %s: opening domain %u (%s): %s",
					b->be->ops->name, d->id, d->name,
					strerror(-ret));
				return ret;
			}
			b->n_domains++;
		}
		dev->cfg = cd;
		dev->id = cd->id;
		dev->domain = d;
		b->n_devices++;
		ret = domain_attach(b, dev);
		if (!ret)
			ret = domain_open_device(b, dev);
		if (ret)
			return ret;
		char group[16] = "sim";

		if (cd->group != CONFIG_GROUP_SIM)
			snprintf(group, sizeof(group), "%d", cd->group);
		log_info("device %u: domain %u (%s%s), group %s, %u window(s)%s%s",
			 dev->id, d->id, d->name, cd->fenced ? ", fenced" : "",
			 group, cd->n_iova,
			 dev->device_fd >= 0 ? ", device fd for " : "",
			 dev->device_fd >= 0 ? cd->pci : "");
	}
	return 0;
}

void domain_teardown(struct broker *b)
{
	/* Device fds first: a device fd holds its group open. */
	for (unsigned int i = 0; b->devices && i < b->cfg->n_dev; i++) {
		if (b->devices[i].device_fd >= 0) {
			close(b->devices[i].device_fd);
			b->devices[i].device_fd = -1;
		}
		holder_forget(&b->devices[i]);
	}
	for (unsigned int i = 0; i < b->n_domains; i++)
		if (b->domains[i].bd)
			b->be->ops->domain_close(b->domains[i].bd);
	free(b->domains);
	free(b->devices);
	b->domains = NULL;
	b->devices = NULL;
	b->n_domains = 0;
	b->n_devices = 0;
}

struct device *domain_find_device(struct broker *b, uint32_t id)
{
	for (unsigned int i = 0; i < b->n_devices; i++)
		if (b->devices[i].id == id)
			return &b->devices[i];
	return NULL;
}

int64_t domain_release_device(struct broker *b, struct device *dev)
{
	const struct config_device *cd = dev->cfg;
	struct backend_unmap_entry e[VB_MAX_IOVA_RANGES];
	struct backend_result res = { .failed_index = VB_NO_INDEX };
	struct domain *d = dev->domain;
	int ret;

	for (unsigned int i = 0; i < cd->n_iova; i++) {
		e[i].iova = cd->iova[i].start;
		e[i].npages = cd->iova[i].size >> VB_PAGE_SHIFT;
	}
	domain_peak_sample(b);
	ret = b->be->ops->unmap(d->bd, e, cd->n_iova, &res);
	/* a failure part-way still unmapped what it counts */
	d->stats.pages_unmapped += res.pages_done;
	d->stats.pages_released += res.pages_done;
	b->mapped_now -= res.pages_done < b->mapped_now ? res.pages_done : b->mapped_now;
	if (ret) {
		log_err("device %u: unmapping its windows in domain %u failed after %llu page(s): %s",
			dev->id, d->id, (unsigned long long)res.pages_done,
			strerror(-ret));
		return ret;
	}
	return (int64_t)res.pages_done;
}

void domain_peak_note(struct broker *b)
{
	if (b->mapped_now > b->peak_pages) {
		b->peak_pages = b->mapped_now;
		b->peak_stale = true;
	}
}

void domain_peak_sample(struct broker *b)
{
	/* every shrink samples first, so a stale peak is the current set */
	domain_peak_note(b);
	if (b->peak_stale)
		domain_usage(b, &b->peak_usage);
	b->peak_stale = false;
}

void domain_usage(struct broker *b, struct backend_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (unsigned int i = 0; i < b->n_domains; i++) {
		struct backend_usage du = { 0 };

		b->be->ops->usage(b->domains[i].bd, &du);
		u->mapped_pages += du.mapped_pages;
		u->extents += du.extents;
		u->bytes_self += du.bytes_self;
		u->bytes_type1 += du.bytes_type1;
		u->bytes_iommufd += du.bytes_iommufd;
		u->bytes_v3 += du.bytes_v3;
	}
}
