/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR BSD-3-Clause */
/*
 * Device-fd ioctls of vfio_emu_test, the emulated VFIO device of the VM
 * tier. They let a guest test drive vfio_pin_pages(), vfio_unpin_pages()
 * and vfio_dma_rw() on whatever IOMMU backend the device's container uses,
 * and read back what the backend told the device (dma_unmap callbacks).
 * Every ioctl returns 0 or -1 with errno, except PIN and UNPIN, which
 * return the number of pages. REFS is an ioctl of the misc device
 * /dev/vfio_emu_test, so it works whatever state the VFIO device is in.
 */
#ifndef _VFIO_EMU_TEST_H
#define _VFIO_EMU_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VFIO_EMU_TEST_NAME	"vfio-emu-test"
#define VFIO_EMU_TEST_MISC	"vfio_emu_test"
#define VFIO_EMU_TEST_MAX_PINS	16
#define VFIO_EMU_TEST_MAX_RW	16384

/* Pin @npages from @iova (prot: IOMMU_READ 1 | IOMMU_WRITE 2). */
struct vfio_emu_test_pin {
	__u64	iova;
	__u32	npages;
	__u32	prot;
	__u64	first_word;	/* out: first 8 bytes of the first page */
};

/* Unpin the pins the device holds in [@iova, @iova + @npages pages). */
struct vfio_emu_test_unpin {
	__u64	iova;
	__u32	npages;
	__u32	forget;		/* drop the record without unpinning */
};

/* vfio_dma_rw() of @len bytes between @iova and the user buffer @data. */
struct vfio_emu_test_rw {
	__u64	iova;
	__u64	data;
	__u32	len;
	__u32	write;		/* 1: device writes guest memory */
};

struct vfio_emu_test_state {
	__u32	npins;		/* pins the device holds */
	__u32	__pad;
	__u64	unmap_calls;	/* dma_unmap callbacks received */
	__u64	last_unmap_iova;
	__u64	last_unmap_len;
	__u64	max_unmap_len;	/* the longest range a callback named */
	__u64	unpinned_by_unmap;	/* pins dropped in dma_unmap */
	/* of those, pages vfio_dma_rw() could still read in the callback */
	__u64	readable_at_unmap;
};

/*
 * References held on the page behind the caller's address @vaddr (its
 * folio's reference count, less the one this query takes): the user
 * mapping's own, 1024 per FOLL_PIN (GUP_PIN_COUNTING_BIAS), one per
 * emulated-device pin. Userspace has no other window on it.
 */
struct vfio_emu_test_refs {
	__u64	vaddr;
	__s64	refs;
};

#define VFIO_EMU_TEST_PIN	_IOWR('E', 0x40, struct vfio_emu_test_pin)
#define VFIO_EMU_TEST_UNPIN	_IOW('E', 0x41, struct vfio_emu_test_unpin)
#define VFIO_EMU_TEST_RW	_IOW('E', 0x42, struct vfio_emu_test_rw)
#define VFIO_EMU_TEST_STATE	_IOR('E', 0x43, struct vfio_emu_test_state)
#define VFIO_EMU_TEST_REFS	_IOWR('E', 0x44, struct vfio_emu_test_refs)

#endif /* _VFIO_EMU_TEST_H */
