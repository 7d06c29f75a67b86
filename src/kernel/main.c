// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_iommu_type1v3: a VFIO IOMMU driver with page-granular state and
 * batched map/unmap.
 *
 * This file registers the driver for two VFIO_SET_IOMMU types, creates and
 * releases the per-container state, and decodes the container ioctls
 * through one table: each command has a minimum argsz (offsetofend of its
 * last mandatory field) and a mask of the flag bits it knows; anything
 * shorter or with other bits set fails with -EINVAL before a handler runs.
 * Handlers see a kernel copy of the fixed part and write back only their
 * output fields.
 *
 * VFIO_CHECK_EXTENSION is also called with no container state (data NULL)
 * while the container picks a driver; then only the two v3 types are
 * claimed, so that VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU) can never land here.
 */
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "type1v3.h"

#define V3_DRIVER_DESC	"VFIO IOMMU type1v3: page-granular, batched map/unmap"

union v3_main_args {
	struct {
		u32 argsz;
		u32 flags;
	} head;
	struct vfio_iommu_type1_info info;
	struct vfio_iommu_type1_dma_map map;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_iommu_type1v3_map_batch map_batch;
	struct vfio_iommu_type1v3_unmap_batch unmap_batch;
};

struct v3_main_ioctl {
	unsigned int	cmd;
	size_t		minsz;
	u32		flags;		/* bits the command accepts */
	bool		out_flags;	/* flags is an output: not checked */
	long		(*fn)(struct v3_iommu *iommu, union v3_main_args *a,
			      void __user *uarg);
};

static void *v3_main_open(unsigned long arg)
{
	struct v3_iommu *iommu;
	int ret;

	if (arg != VFIO_TYPE1v3_IOMMU && arg != VFIO_TYPE1v3_DIRECT_IOMMU)
		return ERR_PTR(-EINVAL);

	iommu = kzalloc(sizeof(*iommu), GFP_KERNEL_ACCOUNT);
	if (!iommu)
		return ERR_PTR(-ENOMEM);

	mutex_init(&iommu->lock);
	mutex_init(&iommu->devices_lock);
	INIT_LIST_HEAD(&iommu->domains);
	INIT_LIST_HEAD(&iommu->emulated);
	INIT_LIST_HEAD(&iommu->ranges);
	INIT_LIST_HEAD(&iommu->devices);
	xa_init(&iommu->ext);
	/* what GET_INFO reports before (or without) any IOMMU domain */
	iommu->pgsize_bitmap = PAGE_SIZE;
	if (arg == VFIO_TYPE1v3_IOMMU) {
		iommu->mode = VFIO_TYPE1v3_MODE_TRACKED;
		iommu->store = &v3_tracked_ops;
	} else {
		iommu->mode = VFIO_TYPE1v3_MODE_DIRECT;
		iommu->store = &v3_direct_ops;
	}
	ret = iommu->store->init(iommu);
	if (ret) {
		kfree(iommu);
		return ERR_PTR(ret);
	}
	return iommu;
}

static void v3_main_release(void *data)
{
	struct v3_iommu *iommu = data;

	/* the container has no other user left: no lock needed */
	v3_dma_prof_report(iommu);
	v3_domain_release_all(iommu);
	v3_emulated_release(iommu);
	iommu->store->destroy(iommu);
	if (iommu->mm)
		mmdrop(iommu->mm);
	mutex_destroy(&iommu->devices_lock);
	mutex_destroy(&iommu->lock);
	kfree(iommu);
}

/*
 * May the VADDR flags be used? Only tracked mode keeps vaddrs, and as in
 * type1 not with an emulated group attached. Called with iommu->lock.
 */
static int v3_main_vaddr_ok(struct v3_iommu *iommu)
{
	if (iommu->mode != VFIO_TYPE1v3_MODE_TRACKED)
		return -EINVAL;
	return list_empty(&iommu->emulated) ? 0 : -EBUSY;
}

static int v3_main_check_extension(struct v3_iommu *iommu, unsigned long arg)
{
	int ret;

	switch (arg) {
	case VFIO_TYPE1v3_IOMMU:
	case VFIO_TYPE1v3_DIRECT_IOMMU:
		return 1;
	case VFIO_TYPE1v2_IOMMU:	/* same MAP/UNMAP_DMA semantics */
	case VFIO_UNMAP_ALL:
		return iommu ? 1 : 0;
	case VFIO_UPDATE_VADDR:
		if (!iommu)
			return 0;
		mutex_lock(&iommu->lock);
		ret = !v3_main_vaddr_ok(iommu);
		mutex_unlock(&iommu->lock);
		return ret;
	case VFIO_DMA_CC_IOMMU:
		if (!iommu)
			return 0;
		mutex_lock(&iommu->lock);
		ret = !list_empty(&iommu->domains) && v3_domain_coherent(iommu);
		mutex_unlock(&iommu->lock);
		return ret;
	default:
		return 0;
	}
}

static int v3_main_info_caps(struct v3_iommu *iommu, struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *iovas;
	struct vfio_iommu_type1_info_dma_avail avail = {};
	struct vfio_iommu_type1v3_info_cap v3 = {};
	struct v3_range *r;
	size_t size;
	u32 n = 0;
	int ret;

	list_for_each_entry(r, &iommu->ranges, next)
		n++;
	if (n) {
		size = struct_size(iovas, iova_ranges, n);
		iovas = kzalloc(size, GFP_KERNEL);
		if (!iovas)
			return -ENOMEM;
		iovas->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		iovas->header.version = 1;
		iovas->nr_iovas = n;
		n = 0;
		list_for_each_entry(r, &iommu->ranges, next) {
			iovas->iova_ranges[n].start = r->start;
			iovas->iova_ranges[n].end = r->last;
			n++;
		}
		ret = vfio_info_add_capability(caps, &iovas->header, size);
		kfree(iovas);
		if (ret)
			return ret;
	}

	/* there is no mapping-count limit: report the most type1 could */
	avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail.header.version = 1;
	avail.avail = U32_MAX;
	ret = vfio_info_add_capability(caps, &avail.header, sizeof(avail));
	if (ret)
		return ret;

	v3.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_V3;
	v3.header.version = 1;
	v3.mode = iommu->mode;
	v3.mapped_pages = iommu->npages;
	v3.metadata_bytes = iommu->store->metadata_bytes(iommu);
	return vfio_info_add_capability(caps, &v3.header, sizeof(v3));
}

static long v3_main_get_info(struct v3_iommu *iommu, union v3_main_args *a,
			     void __user *uarg)
{
	struct vfio_iommu_type1_info *info = &a->info;
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	size_t outsz = min_t(size_t, info->argsz, sizeof(*info));
	int ret;

	mutex_lock(&iommu->lock);
	info->flags = VFIO_IOMMU_INFO_PGSIZES;
	info->iova_pgsizes = iommu->pgsize_bitmap;
	ret = v3_main_info_caps(iommu, &caps);
	mutex_unlock(&iommu->lock);
	if (ret)
		goto out;

	if (caps.size) {
		info->flags |= VFIO_IOMMU_INFO_CAPS;
		if (info->argsz < sizeof(*info) + caps.size) {
			/* tell the caller how much room the chain needs */
			info->argsz = sizeof(*info) + caps.size;
			info->cap_offset = 0;
		} else {
			vfio_info_cap_shift(&caps, sizeof(*info));
			if (copy_to_user(uarg + sizeof(*info), caps.buf,
					 caps.size)) {
				ret = -EFAULT;
				goto out;
			}
			info->cap_offset = sizeof(*info);
		}
	}
	if (copy_to_user(uarg, info, outsz))
		ret = -EFAULT;
out:
	kfree(caps.buf);
	return ret;
}

static long v3_main_map_dma(struct v3_iommu *iommu, union v3_main_args *a,
			    void __user *uarg)
{
	struct vfio_iommu_type1_dma_map *map = &a->map;
	struct vfio_iommu_type1v3_map_entry e = {};
	u64 done;
	u32 failed;
	int ret;

	if (!map->size || !PAGE_ALIGNED(map->size))
		return -EINVAL;

	if (map->flags & VFIO_DMA_MAP_FLAG_VADDR) {
		/* type1's rule: a vaddr update changes no protection */
		if (map->flags & (VFIO_DMA_MAP_FLAG_READ |
				  VFIO_DMA_MAP_FLAG_WRITE))
			return -EINVAL;
		mutex_lock(&iommu->lock);
		ret = v3_main_vaddr_ok(iommu);
		if (!ret)
			ret = v3_dma_set_vaddr(iommu, map->iova,
					       map->size >> PAGE_SHIFT,
					       map->vaddr);
		mutex_unlock(&iommu->lock);
		return ret;
	}

	e.iova = map->iova;
	e.vaddr = map->vaddr;
	e.npages = map->size >> PAGE_SHIFT;
	e.flags = map->flags;
	mutex_lock(&iommu->lock);
	ret = v3_dma_map(iommu, &e, 1, &failed, &done);
	mutex_unlock(&iommu->lock);
	return ret;
}

static long v3_main_unmap_dma(struct v3_iommu *iommu, union v3_main_args *a,
			      void __user *uarg)
{
	struct vfio_iommu_type1_dma_unmap *unmap = &a->unmap;
	struct vfio_iommu_type1v3_unmap_entry e;
	unsigned long pfn, last;
	u64 done = 0;
	int ret = 0;

	if (unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap->iova || unmap->size)
			return -EINVAL;
		e.iova = 0;
		e.npages = V3_DMA_ALL_PAGES;
	} else {
		if (!unmap->size || !PAGE_ALIGNED(unmap->size))
			return -EINVAL;
		e.iova = unmap->iova;
		e.npages = unmap->size >> PAGE_SHIFT;
		if (v3_dma_range(e.iova, e.npages, &pfn, &last))
			return -EINVAL;
	}

	mutex_lock(&iommu->lock);
	if (unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR) {
		ret = v3_main_vaddr_ok(iommu);
		if (!ret)
			ret = v3_dma_invalidate_vaddr(iommu, e.iova, e.npages,
						      &done);
	} else {
		/* emulated devices let go of the range first */
		v3_emulated_quiesce(iommu, &e, 1);
		ret = v3_dma_unmap(iommu, &e, 1, &done, NULL);
	}
	mutex_unlock(&iommu->lock);
	if (ret)
		return ret;
	unmap->size = done << PAGE_SHIFT;
	return copy_to_user(uarg, unmap,
			    offsetofend(typeof(*unmap), size)) ? -EFAULT : 0;
}

static void *v3_main_copy_entries(u64 uptr, u32 nr, size_t size)
{
	if (!nr || nr > VFIO_TYPE1v3_MAX_BATCH)
		return ERR_PTR(-EINVAL);
	return vmemdup_user(u64_to_user_ptr(uptr), array_size(nr, size));
}

static long v3_main_batch_out(void __user *uarg, size_t off_failed,
			      size_t off_done, u32 failed, u64 done, long ret)
{
	if (copy_to_user(uarg + off_failed, &failed, sizeof(failed)) ||
	    copy_to_user(uarg + off_done, &done, sizeof(done)))
		return -EFAULT;
	return ret;
}

static long v3_main_map_batch(struct v3_iommu *iommu, union v3_main_args *a,
			      void __user *uarg)
{
	struct vfio_iommu_type1v3_map_batch *b = &a->map_batch;
	const size_t off_failed = offsetof(typeof(*b), failed_index);
	const size_t off_done = offsetof(typeof(*b), pages_done);
	struct vfio_iommu_type1v3_map_entry *entries;
	u32 failed = U32_MAX;
	u64 done = 0;
	long ret;

	entries = v3_main_copy_entries(b->entries, b->nr_entries,
				       sizeof(*entries));
	if (IS_ERR(entries))
		return v3_main_batch_out(uarg, off_failed, off_done, failed,
					 done, PTR_ERR(entries));

	mutex_lock(&iommu->lock);
	ret = v3_dma_map(iommu, entries, b->nr_entries, &failed, &done);
	if (!ret) {
		/*
		 * The answer is part of the batch: a caller that cannot be
		 * told what was mapped gets nothing mapped. Written under the
		 * lock, so no other call can touch the batch's pages before
		 * they are taken back.
		 */
		ret = v3_main_batch_out(uarg, off_failed, off_done, failed,
					done, 0);
		if (ret)
			v3_dma_map_revert(iommu, entries, b->nr_entries, done);
	}
	mutex_unlock(&iommu->lock);
	kvfree(entries);
	if (done)	/* answered above, or unanswerable */
		return ret;
	return v3_main_batch_out(uarg, off_failed, off_done, failed, done,
				 ret);
}

static long v3_main_unmap_batch(struct v3_iommu *iommu, union v3_main_args *a,
				void __user *uarg)
{
	struct vfio_iommu_type1v3_unmap_batch *b = &a->unmap_batch;
	struct vfio_iommu_type1v3_unmap_entry *entries;
	unsigned long pfn, last;
	u32 failed = U32_MAX, i;
	u64 done = 0, *entry_done = NULL;
	long ret = 0;

	entries = v3_main_copy_entries(b->entries, b->nr_entries,
				       sizeof(*entries));
	if (IS_ERR(entries))
		return v3_main_batch_out(uarg,
					 offsetof(typeof(*b), failed_index),
					 offsetof(typeof(*b), pages_done),
					 failed, done, PTR_ERR(entries));
	if (b->flags & VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE) {
		entry_done = kvcalloc(b->nr_entries, sizeof(*entry_done),
				      GFP_KERNEL);
		if (!entry_done) {
			kvfree(entries);
			return v3_main_batch_out(uarg,
						 offsetof(typeof(*b), failed_index),
						 offsetof(typeof(*b), pages_done),
						 failed, done, -ENOMEM);
		}
	}

	/* validate everything before touching anything */
	for (i = 0; i < b->nr_entries; i++) {
		ret = v3_dma_range(entries[i].iova, entries[i].npages, &pfn,
				   &last);
		if (ret) {
			failed = i;
			break;
		}
	}
	if (!ret) {
		mutex_lock(&iommu->lock);
		/* emulated devices let go of the ranges first */
		v3_emulated_quiesce(iommu, entries, b->nr_entries);
		ret = v3_dma_unmap(iommu, entries, b->nr_entries, &done,
				   entry_done);
		mutex_unlock(&iommu->lock);
	}
	if (!ret && entry_done) {
		for (i = 0; i < b->nr_entries; i++)
			entries[i].npages = entry_done[i];
		if (copy_to_user(u64_to_user_ptr(b->entries), entries,
				 array_size(b->nr_entries, sizeof(*entries))))
			ret = -EFAULT;
	}
	kvfree(entry_done);
	kvfree(entries);
	return v3_main_batch_out(uarg,
				 offsetof(typeof(*b), failed_index),
				 offsetof(typeof(*b), pages_done),
				 failed, done, ret);
}

static const struct v3_main_ioctl v3_main_ioctls[] = {
	{
		.cmd = VFIO_IOMMU_GET_INFO,
		.minsz = offsetofend(struct vfio_iommu_type1_info,
				     iova_pgsizes),
		.out_flags = true,
		.fn = v3_main_get_info,
	}, {
		.cmd = VFIO_IOMMU_MAP_DMA,
		.minsz = offsetofend(struct vfio_iommu_type1_dma_map, size),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			 VFIO_DMA_MAP_FLAG_VADDR,
		.fn = v3_main_map_dma,
	}, {
		.cmd = VFIO_IOMMU_UNMAP_DMA,
		.minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size),
		.flags = VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR,
		.fn = v3_main_unmap_dma,
	}, {
		.cmd = VFIO_IOMMU_MAP_DMA_BATCH,
		.minsz = offsetofend(struct vfio_iommu_type1v3_map_batch,
				     pages_done),
		.fn = v3_main_map_batch,
	}, {
		.cmd = VFIO_IOMMU_UNMAP_DMA_BATCH,
		.minsz = offsetofend(struct vfio_iommu_type1v3_unmap_batch,
				     pages_done),
		.flags = VFIO_TYPE1v3_UNMAP_FLAG_ENTRY_DONE,
		.fn = v3_main_unmap_batch,
	},
};

static long v3_main_ioctl(void *data, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct v3_main_ioctl *op = NULL;
	union v3_main_args a;
	unsigned int i;

	if (cmd == VFIO_CHECK_EXTENSION)
		return v3_main_check_extension(data, arg);
	if (!data)
		return -EINVAL;

	for (i = 0; i < ARRAY_SIZE(v3_main_ioctls); i++) {
		if (v3_main_ioctls[i].cmd == cmd) {
			op = &v3_main_ioctls[i];
			break;
		}
	}
	if (!op)
		return -ENOTTY;

	/* zeroed: handlers copy back fields the caller did not supply */
	memset(&a, 0, sizeof(a));
	if (copy_from_user(&a, uarg, op->minsz))
		return -EFAULT;
	if (a.head.argsz < op->minsz)
		return -EINVAL;
	if (!op->out_flags && (a.head.flags & ~op->flags))
		return -EINVAL;
	return op->fn(data, &a, uarg);
}

static int v3_main_attach_group(void *data, struct iommu_group *group,
				enum vfio_group_type type)
{
	return v3_domain_attach(data, group, type);
}

static void v3_main_detach_group(void *data, struct iommu_group *group)
{
	v3_domain_detach(data, group);
}

static struct iommu_domain *v3_main_group_domain(void *data,
						 struct iommu_group *group)
{
	struct v3_iommu *iommu = data;
	struct iommu_domain *dom;

	mutex_lock(&iommu->lock);
	dom = v3_domain_of_group(iommu, group);
	mutex_unlock(&iommu->lock);
	return dom ? dom : ERR_PTR(-ENODEV);
}

static const struct vfio_iommu_driver_ops v3_main_ops = {
	.name			= "vfio-iommu-type1v3",
	.owner			= THIS_MODULE,
	.open			= v3_main_open,
	.release		= v3_main_release,
	.ioctl			= v3_main_ioctl,
	.attach_group		= v3_main_attach_group,
	.detach_group		= v3_main_detach_group,
	.pin_pages		= v3_emulated_pin_pages,
	.unpin_pages		= v3_emulated_unpin_pages,
	.register_device	= v3_emulated_register,
	.unregister_device	= v3_emulated_unregister,
	.dma_rw			= v3_emulated_dma_rw,
	.group_iommu_domain	= v3_main_group_domain,
};

static int __init v3_main_init(void)
{
	return vfio_register_iommu_driver(&v3_main_ops);
}

static void __exit v3_main_exit(void)
{
	vfio_unregister_iommu_driver(&v3_main_ops);
}

module_init(v3_main_init);
module_exit(v3_main_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION(V3_DRIVER_DESC);
