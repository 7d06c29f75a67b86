// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_emu_test: an emulated VFIO device for the VM tier.
 *
 * Emulated (mdev-style) devices have no IOMMU of their own: they reach
 * guest memory through the container's IOMMU backend, with
 * vfio_pin_pages() and vfio_dma_rw(), and are told about unmaps through
 * their dma_unmap callback. No device in the test guest does that (the
 * kernels that ship such drivers need GPUs or s390 channel I/O), so this
 * module registers one: a single vfio_device on a platform device, in a group
 * of type VFIO_EMULATED_IOMMU, whose device-fd ioctls (vfio_emu_test.h)
 * call those functions for the guest test and report what came back.
 *
 * It behaves as a well-written vendor driver does: every page it pins is
 * unpinned on unmap and on close. The UNPIN ioctl's "forget" flag drops
 * the record without unpinning, as a broken driver would, so the test can
 * see that the backend releases what a device left behind. A misc device
 * answers how many references a page holds, which userspace cannot read
 * anywhere else (/proc/kpagecount counts mappings, not references).
 */
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfio_emu_test.h"

struct emu_dev {
	struct vfio_device		vdev;
	struct mutex			lock;	/* pins[], npins and state */
	dma_addr_t			pins[VFIO_EMU_TEST_MAX_PINS];	/* IOVAs */
	unsigned int			npins;
	struct vfio_emu_test_state	state;
};

static struct emu_dev *to_emu(struct vfio_device *vdev)
{
	return container_of(vdev, struct emu_dev, vdev);
}

/* Drop the pins recorded in [@iova, @iova + @len); returns how many. */
static unsigned int emu_drop(struct emu_dev *e, u64 iova, u64 len,
			     bool unpin)
{
	unsigned int i = 0, n = 0;

	lockdep_assert_held(&e->lock);
	while (i < e->npins) {
		if (e->pins[i] < iova || e->pins[i] - iova >= len) {
			i++;
			continue;
		}
		if (unpin)
			vfio_unpin_pages(&e->vdev, e->pins[i], 1);
		e->pins[i] = e->pins[--e->npins];
		n++;
	}
	return n;
}

static long emu_pin(struct emu_dev *e, void __user *arg)
{
	struct page *pages[VFIO_EMU_TEST_MAX_PINS];
	struct vfio_emu_test_pin p;
	u64 *va;
	int i, ret;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (!p.npages || p.npages > VFIO_EMU_TEST_MAX_PINS)
		return -EINVAL;

	mutex_lock(&e->lock);
	ret = -ENOSPC;
	if (e->npins + p.npages > VFIO_EMU_TEST_MAX_PINS)
		goto out;
	ret = vfio_pin_pages(&e->vdev, p.iova, p.npages, p.prot, pages);
	if (ret <= 0)
		goto out;
	if (ret != p.npages) {
		/* the contract is all or nothing: give back a short pin */
		vfio_unpin_pages(&e->vdev, p.iova, ret);
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < ret; i++)
		e->pins[e->npins++] = p.iova + (u64)i * PAGE_SIZE;
	va = kmap_local_page(pages[0]);
	p.first_word = *va;
	kunmap_local(va);
	if (copy_to_user(arg, &p, sizeof(p)))
		ret = -EFAULT;	/* the pins stay recorded; close drops them */
out:
	mutex_unlock(&e->lock);
	return ret;
}

static long emu_unpin(struct emu_dev *e, void __user *arg)
{
	struct vfio_emu_test_unpin u;
	long n;

	if (copy_from_user(&u, arg, sizeof(u)))
		return -EFAULT;
	mutex_lock(&e->lock);
	n = emu_drop(e, u.iova, (u64)u.npages * PAGE_SIZE, !u.forget);
	mutex_unlock(&e->lock);
	return n;
}

static long emu_rw(struct emu_dev *e, void __user *arg)
{
	struct vfio_emu_test_rw rw;
	void __user *data;
	void *buf;
	int ret;

	if (copy_from_user(&rw, arg, sizeof(rw)))
		return -EFAULT;
	if (!rw.len || rw.len > VFIO_EMU_TEST_MAX_RW)
		return -EINVAL;
	data = u64_to_user_ptr(rw.data);
	buf = kvmalloc(rw.len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = -EFAULT;
	if (rw.write && copy_from_user(buf, data, rw.len))
		goto out;
	ret = vfio_dma_rw(&e->vdev, rw.iova, buf, rw.len, rw.write);
	if (!ret && !rw.write && copy_to_user(data, buf, rw.len))
		ret = -EFAULT;
out:
	kvfree(buf);
	return ret;
}

static long emu_refs(void __user *arg)
{
	struct vfio_emu_test_refs r;
	struct page *page;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (get_user_pages_fast(r.vaddr, 1, 0, &page) != 1)
		return -EFAULT;
	r.refs = folio_ref_count(page_folio(page)) - 1;
	put_page(page);
	return copy_to_user(arg, &r, sizeof(r)) ? -EFAULT : 0;
}

static long emu_ioctl(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg)
{
	struct emu_dev *e = to_emu(vdev);
	struct vfio_emu_test_state s;

	switch (cmd) {
	case VFIO_EMU_TEST_PIN:
		return emu_pin(e, (void __user *)arg);
	case VFIO_EMU_TEST_UNPIN:
		return emu_unpin(e, (void __user *)arg);
	case VFIO_EMU_TEST_RW:
		return emu_rw(e, (void __user *)arg);
	case VFIO_EMU_TEST_STATE:
		mutex_lock(&e->lock);
		s = e->state;
		s.npins = e->npins;
		mutex_unlock(&e->lock);
		return copy_to_user((void __user *)arg, &s, sizeof(s)) ?
		       -EFAULT : 0;
	}
	return -ENOTTY;
}

static long emu_misc_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	if (cmd != VFIO_EMU_TEST_REFS)
		return -ENOTTY;
	return emu_refs((void __user *)arg);
}

static const struct file_operations emu_misc_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= emu_misc_ioctl,
};

static struct miscdevice emu_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VFIO_EMU_TEST_MISC,
	.fops	= &emu_misc_fops,
};

/*
 * The backend says [iova, iova + length) is going: let go of it. Whether
 * each pinned page can still be read first shows when the backend calls:
 * type1 does before it unmaps, so a device may still finish with a page.
 */
static void emu_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct emu_dev *e = to_emu(vdev);
	unsigned int i;
	u8 byte;

	mutex_lock(&e->lock);
	e->state.unmap_calls++;
	e->state.last_unmap_iova = iova;
	e->state.last_unmap_len = length;
	e->state.max_unmap_len = max(e->state.max_unmap_len, length);
	for (i = 0; i < e->npins; i++)
		if (e->pins[i] >= iova && e->pins[i] - iova < length &&
		    !vfio_dma_rw(vdev, e->pins[i], &byte, 1, false))
			e->state.readable_at_unmap++;
	e->state.unpinned_by_unmap += emu_drop(e, iova, length, true);
	mutex_unlock(&e->lock);
}

static int emu_open_device(struct vfio_device *vdev)
{
	struct emu_dev *e = to_emu(vdev);

	mutex_lock(&e->lock);
	memset(&e->state, 0, sizeof(e->state));
	mutex_unlock(&e->lock);
	return 0;
}

static void emu_close_device(struct vfio_device *vdev)
{
	struct emu_dev *e = to_emu(vdev);

	mutex_lock(&e->lock);
	emu_drop(e, 0, U64_MAX, true);
	mutex_unlock(&e->lock);
}

static int emu_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_emu(vdev)->lock);
	return 0;
}

static void emu_release_dev(struct vfio_device *vdev)
{
	mutex_destroy(&to_emu(vdev)->lock);
}

static const struct vfio_device_ops emu_ops = {
	.name		= VFIO_EMU_TEST_NAME,
	.init		= emu_init_dev,
	.release	= emu_release_dev,
	.open_device	= emu_open_device,
	.close_device	= emu_close_device,
	.ioctl		= emu_ioctl,
	.dma_unmap	= emu_dma_unmap,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
};

/* VFIO takes a reference on the parent's driver: give it one, this module. */
static int emu_probe(struct platform_device *pdev)
{
	struct emu_dev *e;
	int ret;

	e = vfio_alloc_device(emu_dev, vdev, &pdev->dev, &emu_ops);
	if (IS_ERR(e))
		return PTR_ERR(e);
	ret = vfio_register_emulated_iommu_dev(&e->vdev);
	if (ret) {
		vfio_put_device(&e->vdev);
		return ret;
	}
	platform_set_drvdata(pdev, e);
	return 0;
}

static void emu_remove(struct platform_device *pdev)
{
	struct emu_dev *e = platform_get_drvdata(pdev);

	vfio_unregister_group_dev(&e->vdev);
	vfio_put_device(&e->vdev);
}

static struct platform_driver emu_driver = {
	.probe	= emu_probe,
	.remove	= emu_remove,
	.driver	= {
		.name	= VFIO_EMU_TEST_NAME,
	},
};

static struct platform_device *emu_pdev;

static int __init emu_module_init(void)
{
	int ret;

	ret = platform_driver_register(&emu_driver);
	if (ret)
		return ret;
	emu_pdev = platform_device_register_simple(VFIO_EMU_TEST_NAME,
						   PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(emu_pdev)) {
		ret = PTR_ERR(emu_pdev);
		goto err_driver;
	}
	if (!platform_get_drvdata(emu_pdev)) {
		ret = -ENODEV;	/* probe failed; the kernel log says why */
		goto err_pdev;
	}
	ret = misc_register(&emu_misc);
	if (ret)
		goto err_pdev;
	return 0;

err_pdev:
	platform_device_unregister(emu_pdev);
err_driver:
	platform_driver_unregister(&emu_driver);
	return ret;
}

static void __exit emu_module_exit(void)
{
	misc_deregister(&emu_misc);
	platform_device_unregister(emu_pdev);
	platform_driver_unregister(&emu_driver);
}

module_init(emu_module_init);
module_exit(emu_module_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Emulated VFIO device for the vfio_iommu_type1v3 VM tests");
