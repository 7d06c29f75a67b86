// SPDX-License-Identifier: GPL-2.0-only
/*
 * Emulated (mdev-style) device support: pin_pages, unpin_pages, dma_rw
 * and the unmap notification those devices need.
 *
 * An emulated device has no IOMMU; it reaches guest memory through pages
 * that this container already pinned and mapped for the IOMMU-backed
 * groups. Its "pin" is therefore a plain page reference on top of our
 * FOLL_LONGTERM pin: the long-term pin keeps the page in place while it is
 * mapped, and the extra reference keeps it from being freed should the
 * device's unpin arrive after an unmap. The references live in iommu->ext,
 * indexed by IOVA page frame, each entry packing the page frame number and
 * a reference count; release drops any the device left behind.
 *
 * Mappings need an IOMMU domain to record their PFNs, so a container whose
 * groups are all emulated cannot map; emulated groups may join a container
 * that has an IOMMU-backed group.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "type1v3.h"

#define V3_EXT_COUNT_BITS	16
#define V3_EXT_COUNT_MAX	((1UL << V3_EXT_COUNT_BITS) - 1)
/* rounds of "let go" before an unmap goes ahead anyway (type1: 10, BUG) */
#define V3_EXT_NOTIFY_ROUNDS	4

static int v3_emulated_page(struct v3_iommu *iommu, unsigned long pfn,
			    int prot, struct page **page)
{
	unsigned long probe = pfn;
	phys_addr_t phys;

	if (!iommu->store->find(iommu, &probe, pfn))
		return -EINVAL;
	if ((iommu->store->prot(iommu, pfn) & prot) != prot)
		return -EPERM;
	phys = v3_dma_phys(iommu, pfn);
	if (!phys || !pfn_valid(PHYS_PFN(phys)))
		return -EFAULT;
	*page = pfn_to_page(PHYS_PFN(phys));
	return 0;
}

static void v3_emulated_put(struct v3_iommu *iommu, unsigned long pfn)
{
	void *entry = xa_load(&iommu->ext, pfn);
	unsigned long v;

	if (!entry)
		return;
	v = xa_to_value(entry);
	put_page(pfn_to_page(v >> V3_EXT_COUNT_BITS));
	if ((v & V3_EXT_COUNT_MAX) == 1)
		xa_erase(&iommu->ext, pfn);
	else
		xa_store(&iommu->ext, pfn, xa_mk_value(v - 1), GFP_KERNEL);
}

static int v3_emulated_get(struct v3_iommu *iommu, unsigned long pfn,
			   struct page *page)
{
	void *entry = xa_load(&iommu->ext, pfn);
	unsigned long v;
	int ret;

	if (entry) {
		v = xa_to_value(entry);
		if ((v & V3_EXT_COUNT_MAX) == V3_EXT_COUNT_MAX ||
		    (v >> V3_EXT_COUNT_BITS) != page_to_pfn(page))
			return -EBUSY;
		v++;
	} else {
		v = (page_to_pfn(page) << V3_EXT_COUNT_BITS) | 1;
	}
	ret = xa_err(xa_store(&iommu->ext, pfn, xa_mk_value(v),
			      GFP_KERNEL_ACCOUNT));
	if (!ret)
		get_page(page);
	return ret;
}

int v3_emulated_pin_pages(void *data, struct iommu_group *group,
			  dma_addr_t iova, int npage, int prot,
			  struct page **pages)
{
	struct v3_iommu *iommu = data;
	unsigned long pfn = iova >> PAGE_SHIFT;
	int i, ret = 0;

	/* as with type1, an offset into the first page is ignored */
	if (npage <= 0)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	for (i = 0; i < npage; i++) {
		ret = v3_emulated_page(iommu, pfn + i, prot, &pages[i]);
		if (!ret)
			ret = v3_emulated_get(iommu, pfn + i, pages[i]);
		if (ret)
			break;
	}
	if (ret) {
		while (i--)
			v3_emulated_put(iommu, pfn + i);
	}
	mutex_unlock(&iommu->lock);
	return ret ? ret : npage;
}

void v3_emulated_unpin_pages(void *data, dma_addr_t iova, int npage)
{
	struct v3_iommu *iommu = data;
	unsigned long pfn = iova >> PAGE_SHIFT;
	int i;

	mutex_lock(&iommu->lock);
	for (i = 0; i < npage; i++)
		v3_emulated_put(iommu, pfn + i);
	mutex_unlock(&iommu->lock);
}

/* Drop the references a device never gave back. */
void v3_emulated_release(struct v3_iommu *iommu)
{
	unsigned long index, v;
	void *entry;

	xa_for_each(&iommu->ext, index, entry) {
		v = xa_to_value(entry);
		folio_put_refs(page_folio(pfn_to_page(v >> V3_EXT_COUNT_BITS)),
			       v & V3_EXT_COUNT_MAX);
		cond_resched();
	}
	xa_destroy(&iommu->ext);
}

int v3_emulated_dma_rw(void *data, dma_addr_t iova, void *buf,
		       size_t count, bool write)
{
	struct v3_iommu *iommu = data;
	int prot = write ? IOMMU_WRITE : IOMMU_READ;
	u64 last;
	int ret = 0;

	/* a range that wraps would go on at IOVA 0 */
	if (count && check_add_overflow((u64)iova, (u64)count - 1, &last))
		return -EINVAL;
	mutex_lock(&iommu->lock);
	while (count) {
		size_t off = offset_in_page(iova);
		size_t n = min_t(size_t, count, PAGE_SIZE - off);
		struct page *page;
		void *va;

		ret = v3_emulated_page(iommu, iova >> PAGE_SHIFT, prot, &page);
		if (ret)
			break;
		va = kmap_local_page(page);
		if (write)
			memcpy(va + off, buf, n);
		else
			memcpy(buf, va + off, n);
		kunmap_local(va);
		iova += n;
		buf += n;
		count -= n;
		if (count)
			cond_resched();
	}
	mutex_unlock(&iommu->lock);
	return ret;
}

void v3_emulated_register(void *data, struct vfio_device *vdev)
{
	struct v3_iommu *iommu = data;

	/*
	 * Only devices that can be told about unmaps need to be listed. The
	 * list node is the device's own iommu_entry, kept for the container
	 * backend, so listing cannot fail and leave a device that pins pages
	 * but never hears of an unmap.
	 */
	if (!vdev->ops->dma_unmap)
		return;
	mutex_lock(&iommu->devices_lock);
	list_add(&vdev->iommu_entry, &iommu->devices);
	mutex_unlock(&iommu->devices_lock);
}

void v3_emulated_unregister(void *data, struct vfio_device *vdev)
{
	struct v3_iommu *iommu = data;

	if (!vdev->ops->dma_unmap)
		return;
	mutex_lock(&iommu->devices_lock);
	list_del(&vdev->iommu_entry);
	mutex_unlock(&iommu->devices_lock);
}

/* Tell the listed devices that [@iova, @iova + @len) goes. */
static void v3_emulated_tell(struct v3_iommu *iommu, u64 iova, u64 len)
{
	struct vfio_device *vdev;

	mutex_lock(&iommu->devices_lock);
	list_for_each_entry(vdev, &iommu->devices, iommu_entry)
		vdev->ops->dma_unmap(vdev, iova, len);
	mutex_unlock(&iommu->devices_lock);
}

/*
 * Tell emulated devices to let go of the pages they hold in @e's ranges,
 * one run of held pages at a time and never a whole range: a device walks
 * what it is told page by page (kvmgt does, under its own lock), and a
 * range may span holes up to 2^64 bytes (UNMAP_ALL, a hole-spanning batch
 * entry, the last group's detach). type1 likewise names only its real
 * mappings. A run is told whole, also where it reaches outside the range:
 * a device may find a pin only by its first page (kvmgt does), and type1
 * names the whole mapping, which holds every pin in it, so a device never
 * hears of part of a pin there. Called with iommu->lock held; drops it
 * while the devices are told, since their unpin takes it. Returns whether
 * any run was told.
 */
bool v3_emulated_notify_held(struct v3_iommu *iommu,
			     const struct vfio_iommu_type1v3_unmap_entry *e,
			     u32 nr)
{
	unsigned long pfn, start, last;
	bool told = false;
	u32 i;

	lockdep_assert_held(&iommu->lock);
	/*
	 * Unlocked peek: a device that registers after this read cannot hold
	 * a pin in a range whose unmap finished before it, and references
	 * left by devices that have gone have nobody to tell.
	 */
	if (data_race(list_empty(&iommu->devices)))
		return false;
	for (i = 0; i < nr; i++) {
		pfn = e[i].iova >> PAGE_SHIFT;
		/* entries are validated: the range ends below 2^64 */
		last = pfn + (e[i].npages - 1);
		while (xa_find(&iommu->ext, &pfn, last, XA_PRESENT)) {
			start = pfn;
			while (start && xa_load(&iommu->ext, start - 1))
				start--;
			while (pfn < ULONG_MAX && xa_load(&iommu->ext, pfn + 1))
				pfn++;
			mutex_unlock(&iommu->lock);
			v3_emulated_tell(iommu, (u64)start << PAGE_SHIFT,
					 (u64)(pfn - start + 1) << PAGE_SHIFT);
			cond_resched();
			mutex_lock(&iommu->lock);
			told = true;
			if (pfn >= last)
				break;
			pfn++;
		}
	}
	return told;
}

/* Does an emulated device hold a page in @e's ranges? */
static bool v3_emulated_holds(struct v3_iommu *iommu,
			      const struct vfio_iommu_type1v3_unmap_entry *e,
			      u32 nr)
{
	unsigned long pfn;
	u32 i;

	for (i = 0; i < nr; i++) {
		pfn = e[i].iova >> PAGE_SHIFT;
		if (xa_find(&iommu->ext, &pfn, pfn + (e[i].npages - 1),
			    XA_PRESENT))
			return true;
	}
	return false;
}

/*
 * Before an unmap drops the pins of @e's ranges: while emulated devices
 * hold pages in them, tell the devices and look again, as type1 does, so
 * that they let go while the pages are still mapped, pinned and charged.
 * A device still holding a page after a few rounds keeps it past the
 * unmap (its reference keeps the page allocated) until it lets go or the
 * container is released; type1 would BUG there, this says so instead.
 * Called with iommu->lock held, which it drops while the devices are told.
 */
void v3_emulated_quiesce(struct v3_iommu *iommu,
			 const struct vfio_iommu_type1v3_unmap_entry *e, u32 nr)
{
	int round;

	for (round = 0; round < V3_EXT_NOTIFY_ROUNDS; round++)
		if (!v3_emulated_notify_held(iommu, e, nr))
			return;
	if (v3_emulated_holds(iommu, e, nr))
		pr_warn_ratelimited("vfio_iommu_type1v3: an emulated device still holds pages after %d requests to let go; unmapping them anyway (they stay allocated until it unpins them or the container is released)\n",
				    V3_EXT_NOTIFY_ROUNDS);
}
