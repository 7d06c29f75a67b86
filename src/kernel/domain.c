// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU domains and groups of a container, and the IOVA ranges they allow.
 *
 * Each IOMMU-backed group is attached to a domain; groups whose IOMMU ops
 * and cache coherency match share one. Every mapped page is present in
 * every domain. A group that brings a new domain after pages are mapped
 * gets them replayed: the PFNs are read back from the first domain's page
 * table, so replay needs neither vaddrs nor new pins (the one pin per page
 * is shared by all domains). New domains go to the tail of the list so the
 * first domain stays the one replay and unmap read from.
 *
 * The allowed IOVA ranges are recomputed from scratch on every attach and
 * detach: [0, U64_MAX], intersected with each domain's aperture, minus each
 * group's reserved regions except relaxable direct mappings. An attach
 * whose constraints would exclude a page that is already mapped fails with
 * -EINVAL, as in type1. Ranges keep an inclusive last address.
 */
#include <linux/iommu.h>
#include <linux/list_sort.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "type1v3.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow groups without MSI isolation (interrupt remapping)");

static bool share_domains = true;
module_param(share_domains, bool, 0644);
MODULE_PARM_DESC(share_domains,
		 "Let compatible groups share an IOMMU domain (0: one domain per group, which exercises replay)");

static void v3_domain_free_ranges(struct list_head *ranges)
{
	struct v3_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		list_del(&r->next);
		kfree(r);
	}
}

static void v3_domain_clip(struct list_head *ranges, u64 start, u64 last)
{
	struct v3_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		if (r->last < start || r->start > last) {
			list_del(&r->next);
			kfree(r);
			continue;
		}
		r->start = max(r->start, start);
		r->last = min(r->last, last);
	}
}

/* Remove [start, last] from the sorted list, splitting a range if needed. */
static int v3_domain_exclude(struct list_head *ranges, u64 start, u64 last)
{
	struct v3_range *r, *tmp, *split;

	list_for_each_entry_safe(r, tmp, ranges, next) {
		if (r->last < start || r->start > last)
			continue;
		if (r->start < start && r->last > last) {
			split = kmalloc(sizeof(*split), GFP_KERNEL);
			if (!split)
				return -ENOMEM;
			split->start = last + 1;
			split->last = r->last;
			r->last = start - 1;
			list_add(&split->next, &r->next);
			return 0;
		}
		if (r->start >= start && r->last <= last) {
			list_del(&r->next);
			kfree(r);
		} else if (r->start < start) {
			r->last = start - 1;
		} else {
			r->start = last + 1;
		}
	}
	return 0;
}

static int v3_domain_exclude_resv(struct list_head *ranges,
				  struct list_head *resv)
{
	struct iommu_resv_region *region;
	int ret;

	list_for_each_entry(region, resv, list) {
		if (region->type == IOMMU_RESV_DIRECT_RELAXABLE ||
		    !region->length)
			continue;
		ret = v3_domain_exclude(ranges, region->start,
					region->start + region->length - 1);
		if (ret)
			return ret;
	}
	return 0;
}

static void v3_domain_put_resv(struct list_head *resv)
{
	struct iommu_resv_region *region, *tmp;

	/* the group's list holds plain kmalloc()ed copies */
	list_for_each_entry_safe(region, tmp, resv, list) {
		list_del(&region->list);
		kfree(region);
	}
}

/*
 * Build the allowed ranges for the current domains plus, optionally, a
 * candidate domain @extra with its group's reserved regions @extra_resv.
 */
static int v3_domain_build_ranges(struct v3_iommu *iommu,
				  struct iommu_domain *extra,
				  struct list_head *extra_resv,
				  struct list_head *out)
{
	struct v3_domain *d;
	struct v3_group *g;
	struct v3_range *all;
	int ret;

	INIT_LIST_HEAD(out);
	/* no IOMMU page table, no IOVA space (and no capability to report) */
	if (list_empty(&iommu->domains) && !extra)
		return 0;
	all = kmalloc(sizeof(*all), GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	all->start = 0;
	all->last = U64_MAX;
	list_add(&all->next, out);

	list_for_each_entry(d, &iommu->domains, next)
		v3_domain_clip(out, d->domain->geometry.aperture_start,
			       d->domain->geometry.aperture_end);
	if (extra)
		v3_domain_clip(out, extra->geometry.aperture_start,
			       extra->geometry.aperture_end);

	list_for_each_entry(d, &iommu->domains, next) {
		list_for_each_entry(g, &d->groups, next) {
			LIST_HEAD(resv);

			ret = iommu_get_group_resv_regions(g->iommu_group,
							   &resv);
			if (!ret)
				ret = v3_domain_exclude_resv(out, &resv);
			v3_domain_put_resv(&resv);
			if (ret)
				goto fail;
		}
	}
	if (extra_resv) {
		ret = v3_domain_exclude_resv(out, extra_resv);
		if (ret)
			goto fail;
	}
	return 0;

fail:
	v3_domain_free_ranges(out);
	return ret;
}

/* Would any mapped page fall outside @ranges? */
static bool v3_domain_conflict(struct v3_iommu *iommu,
			       struct list_head *ranges)
{
	struct v3_range *r;
	u64 next = 0;		/* first address not yet known to be allowed */
	unsigned long pfn;
	bool tail = true;

	if (!iommu->npages)
		return false;
	list_for_each_entry(r, ranges, next) {
		if (r->start > next) {
			pfn = next >> PAGE_SHIFT;
			if (iommu->store->find(iommu, &pfn,
					       (r->start - 1) >> PAGE_SHIFT))
				return true;
		}
		if (r->last == U64_MAX) {
			tail = false;
			break;
		}
		next = r->last + 1;
	}
	if (tail) {
		pfn = next >> PAGE_SHIFT;
		return iommu->store->find(iommu, &pfn, ULONG_MAX);
	}
	return false;
}

static void v3_domain_commit_ranges(struct v3_iommu *iommu,
				    struct list_head *ranges)
{
	v3_domain_free_ranges(&iommu->ranges);
	list_splice_init(ranges, &iommu->ranges);
}

static void v3_domain_update_pgsizes(struct v3_iommu *iommu)
{
	struct v3_domain *d;
	u64 bitmap = ULONG_MAX;

	list_for_each_entry(d, &iommu->domains, next)
		bitmap &= d->domain->pgsize_bitmap;
	/* GET_INFO reports kernel pages only; see v3_domain_attach() */
	iommu->pgsize_bitmap = bitmap & PAGE_SIZE;
	if (!iommu->pgsize_bitmap)
		iommu->pgsize_bitmap = PAGE_SIZE;
}

/* The allowed IOVA range holding all of [start, last], or NULL. */
const struct v3_range *v3_domain_iova_range(struct v3_iommu *iommu,
					    u64 start, u64 last)
{
	struct v3_range *r;

	list_for_each_entry(r, &iommu->ranges, next)
		if (r->start <= start && last <= r->last)
			return r;
	return NULL;
}

bool v3_domain_iova_valid(struct v3_iommu *iommu, u64 start, u64 last)
{
	return v3_domain_iova_range(iommu, start, last);
}

bool v3_domain_coherent(struct v3_iommu *iommu)
{
	struct v3_domain *d;

	list_for_each_entry(d, &iommu->domains, next)
		if (!d->coherent)
			return false;
	return true;
}

static struct v3_group *v3_domain_find_group(struct list_head *groups,
					     struct iommu_group *iommu_group)
{
	struct v3_group *g;

	list_for_each_entry(g, groups, next)
		if (g->iommu_group == iommu_group)
			return g;
	return NULL;
}

struct iommu_domain *v3_domain_of_group(struct v3_iommu *iommu,
					struct iommu_group *group)
{
	struct v3_domain *d;

	list_for_each_entry(d, &iommu->domains, next)
		if (v3_domain_find_group(&d->groups, group))
			return d->domain;
	return NULL;
}

static bool v3_domain_group_known(struct v3_iommu *iommu,
				  struct iommu_group *group)
{
	return v3_domain_of_group(iommu, group) ||
	       v3_domain_find_group(&iommu->emulated, group);
}

/*
 * Map every page of the store into @dom, reading the PFNs from the first
 * domain and merging runs contiguous in both IOVA and physical space. On
 * failure the caller frees @dom, which drops whatever was replayed.
 */
static int v3_domain_replay(struct v3_iommu *iommu, struct iommu_domain *dom)
{
	unsigned long pfn = 0, run_pfn = 0, run_n = 0, seen = 0;
	phys_addr_t run_phys = 0;
	int run_prot = 0;
	int ret = 0;

	while (iommu->store->find(iommu, &pfn, ULONG_MAX)) {
		phys_addr_t phys = v3_dma_phys(iommu, pfn);
		int prot = iommu->store->prot(iommu, pfn);

		/* no translation breaks the invariant: never replay page 0 */
		V3_CHECK(phys);
		if (!phys)
			return -EFAULT;
		if (run_n && pfn == run_pfn + run_n && prot == run_prot &&
		    phys == run_phys + ((phys_addr_t)run_n << PAGE_SHIFT)) {
			run_n++;
		} else {
			if (run_n)
				ret = v3_dma_map_run(dom, run_pfn, run_phys,
						     run_n, run_prot);
			if (ret)
				return ret;
			run_pfn = pfn;
			run_phys = phys;
			run_prot = prot;
			run_n = 1;
		}
		if (pfn == ULONG_MAX)
			break;
		pfn++;
		if (!(++seen % 4096))
			cond_resched();
	}
	if (run_n)
		ret = v3_dma_map_run(dom, run_pfn, run_phys, run_n, run_prot);
	return ret;
}

static int v3_domain_alloc_cb(struct device *dev, void *data)
{
	struct iommu_domain **dom = data;

	*dom = iommu_paging_domain_alloc(dev);
	return 1;	/* the first device is enough */
}

static bool v3_domain_sw_msi(struct list_head *resv, phys_addr_t *base)
{
	struct iommu_resv_region *region;

	list_for_each_entry(region, resv, list) {
		if (region->type == IOMMU_RESV_SW_MSI) {
			*base = region->start;
			return true;
		}
	}
	return false;
}

/*
 * The unmap path frees single pages out of multi-page map calls (dma.c):
 * VT-d and AMD-Vi can, but not every IOMMU driver. virtio-iommu keeps one
 * record per map call and, asked to unmap a page inside one, unmaps
 * nothing; the pages would then be unpinned while the device still
 * reaches them. So a new domain is asked before it is used: two pages
 * mapped with one call (a zeroed page pair, read-only), the second
 * unmapped alone, and exactly that one must be gone.
 */
static int v3_domain_probe_split(struct iommu_domain *dom,
				 struct list_head *ranges)
{
	const size_t two = 2 * PAGE_SIZE;
	struct v3_range *r;
	struct page *page;
	phys_addr_t phys;
	dma_addr_t iova;
	size_t got;
	bool ok;
	int ret;

	list_for_each_entry(r, ranges, next) {
		iova = ALIGN(r->start, two);
		if (iova >= r->start && iova <= r->last &&
		    r->last - iova >= two - 1)
			break;
	}
	if (list_entry_is_head(r, ranges, next))
		return 0;	/* no room to map anything that could split */

	page = alloc_pages(GFP_KERNEL | __GFP_ZERO, 1);
	if (!page)
		return -ENOMEM;
	phys = page_to_phys(page);
	ret = iommu_map(dom, iova, phys, two, IOMMU_READ, GFP_KERNEL);
	if (ret)
		goto out;
	got = iommu_unmap(dom, iova + PAGE_SIZE, PAGE_SIZE);
	ok = got == PAGE_SIZE && iommu_iova_to_phys(dom, iova) == phys &&
	     !iommu_iova_to_phys(dom, iova + PAGE_SIZE);
	iommu_unmap(dom, iova, got == PAGE_SIZE ? PAGE_SIZE : two);
	if (!ok) {
		pr_warn("vfio_iommu_type1v3: this IOMMU cannot unmap one page of a larger mapping (unmapped %zu of %lu bytes); refusing it\n",
			got, PAGE_SIZE);
		ret = -EOPNOTSUPP;
	}
out:
	__free_pages(page, 1);
	return ret;
}

/*
 * Try to move @group from @dom into an existing compatible domain: 1 when
 * it joined one, 0 when it is still attached to @dom, -errno when it could
 * not even be put back into @dom.
 */
static int v3_domain_join(struct v3_iommu *iommu, struct iommu_domain *dom,
			  bool coherent, struct v3_group *group)
{
	struct v3_domain *d;
	int ret;

	if (!share_domains)
		return 0;
	list_for_each_entry(d, &iommu->domains, next) {
		if (d->domain->ops != dom->ops || d->coherent != coherent)
			continue;
		iommu_detach_group(dom, group->iommu_group);
		if (!iommu_attach_group(d->domain, group->iommu_group)) {
			list_add(&group->next, &d->groups);
			return 1;
		}
		ret = iommu_attach_group(dom, group->iommu_group);
		if (ret)
			return ret;
	}
	return 0;
}

int v3_domain_attach(struct v3_iommu *iommu, struct iommu_group *iommu_group,
		     enum vfio_group_type type)
{
	struct iommu_domain *dom = NULL;
	struct v3_domain *domain = NULL;
	struct v3_group *group;
	phys_addr_t msi_base = 0;
	LIST_HEAD(ranges);
	LIST_HEAD(resv);
	bool sw_msi;
	int ret;

	mutex_lock(&iommu->lock);
	ret = -EINVAL;
	if (v3_domain_group_known(iommu, iommu_group))
		goto out_unlock;
	/*
	 * With an emulated group attached the VADDR flags are refused (as in
	 * type1), so one may not join while vaddrs are invalid: they could
	 * not be restored until it left.
	 */
	ret = -EBUSY;
	if (type == VFIO_EMULATED_IOMMU && iommu->vaddr_invalid)
		goto out_unlock;

	ret = -ENOMEM;
	group = kzalloc(sizeof(*group), GFP_KERNEL);
	if (!group)
		goto out_unlock;
	group->iommu_group = iommu_group;

	if (type == VFIO_EMULATED_IOMMU) {
		list_add(&group->next, &iommu->emulated);
		mutex_unlock(&iommu->lock);
		return 0;
	}

	domain = kzalloc(sizeof(*domain), GFP_KERNEL);
	if (!domain)
		goto out_free_group;
	INIT_LIST_HEAD(&domain->groups);

	iommu_group_for_each_dev(iommu_group, &dom, v3_domain_alloc_cb);
	if (IS_ERR_OR_NULL(dom)) {
		ret = dom ? PTR_ERR(dom) : -ENODEV;
		goto out_free_domain;
	}
	ret = -EINVAL;
	if (!(dom->pgsize_bitmap & PAGE_SIZE)) {
		pr_warn("%s: IOMMU cannot map single pages\n", __func__);
		goto out_free_dom;
	}
	/*
	 * Map only in kernel pages: an IOMMU block mapping could not be
	 * unmapped one page at a time, which the uAPI allows anywhere. VT-d
	 * adds its superpage sizes back whenever a device attaches, so what
	 * really guarantees it is that no map call is ever a whole aligned
	 * block (v3_dma_piece()); this keeps other drivers honest.
	 */
	dom->pgsize_bitmap = PAGE_SIZE;

	ret = iommu_attach_group(dom, iommu_group);
	if (ret)
		goto out_free_dom;

	ret = iommu_get_group_resv_regions(iommu_group, &resv);
	if (ret)
		goto out_detach;

	if (!allow_unsafe_interrupts &&
	    !iommu_group_has_isolated_msi(iommu_group)) {
		pr_warn("%s: no interrupt remapping; load with allow_unsafe_interrupts=1 to accept\n",
			__func__);
		ret = -EPERM;
		goto out_detach;
	}

	ret = v3_domain_build_ranges(iommu, dom, &resv, &ranges);
	if (ret)
		goto out_detach;
	ret = -EINVAL;
	if (v3_domain_conflict(iommu, &ranges))
		goto out_detach;

	if (dom->ops->enforce_cache_coherency)
		domain->coherent = dom->ops->enforce_cache_coherency(dom);

	ret = v3_domain_join(iommu, dom, domain->coherent, group);
	if (ret < 0)
		goto out_free_dom;
	if (ret) {
		iommu_domain_free(dom);
		kfree(domain);
		goto done;
	}

	ret = v3_domain_probe_split(dom, &ranges);
	if (ret)
		goto out_detach;
	ret = v3_domain_replay(iommu, dom);
	if (ret)
		goto out_detach;

	sw_msi = v3_domain_sw_msi(&resv, &msi_base);
	if (sw_msi) {
		ret = iommu_get_msi_cookie(dom, msi_base);
		if (ret && ret != -ENODEV)
			goto out_detach;
	}

	domain->domain = dom;
	list_add(&group->next, &domain->groups);
	list_add_tail(&domain->next, &iommu->domains);
	v3_domain_update_pgsizes(iommu);
done:
	v3_domain_commit_ranges(iommu, &ranges);
	v3_domain_put_resv(&resv);
	mutex_unlock(&iommu->lock);
	return 0;

out_detach:
	iommu_detach_group(dom, iommu_group);
out_free_dom:
	iommu_domain_free(dom);
out_free_domain:
	v3_domain_free_ranges(&ranges);
	v3_domain_put_resv(&resv);
	kfree(domain);
out_free_group:
	kfree(group);
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

void v3_domain_detach(struct v3_iommu *iommu, struct iommu_group *iommu_group)
{
	const struct vfio_iommu_type1v3_unmap_entry all = {
		.npages = V3_DMA_ALL_PAGES,
	};
	struct v3_domain *d;
	struct v3_group *g;
	bool unmapped = false;
	LIST_HEAD(ranges);

	mutex_lock(&iommu->lock);
	g = v3_domain_find_group(&iommu->emulated, iommu_group);
	if (g) {
		list_del(&g->next);
		kfree(g);
		goto out_unlock;
	}

	list_for_each_entry(d, &iommu->domains, next) {
		g = v3_domain_find_group(&d->groups, iommu_group);
		if (!g)
			continue;
		/*
		 * The last group of the last domain takes every mapping
		 * with it; unmap while the page table can still be read.
		 * Emulated devices let go first, as before any unmap, while
		 * the pages are still mapped and pinned. The quiesce drops
		 * iommu->lock; d and g stay, since VFIO core holds the
		 * container's group_lock for write across attach, detach
		 * and release.
		 */
		if (list_is_singular(&d->groups) &&
		    list_is_singular(&iommu->domains)) {
			v3_emulated_quiesce(iommu, &all, 1);
			if (iommu->npages) {
				v3_dma_unmap_all(iommu);
				unmapped = true;
			}
		}
		iommu_detach_group(d->domain, iommu_group);
		list_del(&g->next);
		kfree(g);
		if (list_empty(&d->groups)) {
			list_del(&d->next);
			iommu_domain_free(d->domain);
			kfree(d);
			v3_domain_update_pgsizes(iommu);
		}
		break;
	}

	/* fewer groups only relax the ranges; on failure keep the old ones */
	if (!v3_domain_build_ranges(iommu, NULL, NULL, &ranges))
		v3_domain_commit_ranges(iommu, &ranges);
	/*
	 * A device that kept pages through the quiesce is told once more,
	 * now that they are gone.
	 */
	if (unmapped)
		v3_emulated_notify_held(iommu, &all, 1);
out_unlock:
	mutex_unlock(&iommu->lock);
}

/* Container release: called with no other user of @iommu left. */
void v3_domain_release_all(struct v3_iommu *iommu)
{
	struct v3_domain *d, *dtmp;
	struct v3_group *g, *gtmp;

	v3_dma_unmap_all(iommu);

	list_for_each_entry_safe(d, dtmp, &iommu->domains, next) {
		list_for_each_entry_safe(g, gtmp, &d->groups, next) {
			iommu_detach_group(d->domain, g->iommu_group);
			list_del(&g->next);
			kfree(g);
		}
		list_del(&d->next);
		iommu_domain_free(d->domain);
		kfree(d);
	}
	list_for_each_entry_safe(g, gtmp, &iommu->emulated, next) {
		list_del(&g->next);
		kfree(g);
	}
	v3_domain_free_ranges(&iommu->ranges);
}
