// SPDX-License-Identifier: BSD-3-Clause
/*
 * edu through a VFIO device fd. Register map (QEMU hw/misc/edu.c):
 * 0x00 identification (low byte 0xed), 0x80 DMA source, 0x88 DMA
 * destination, 0x90 DMA count, 0x98 DMA command: bit 0 start (reads 1
 * while busy), bit 1 direction (1: device buffer -> RAM), bit 2 raise an
 * interrupt when done (never used here). The device buffer sits at
 * 0x40000 in the device's own DMA address space.
 */
#include "devproc/edu.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "common/clock.h"
#include "common/log.h"

#define EDU_REG_ID	0x00
#define EDU_REG_SRC	0x80
#define EDU_REG_DST	0x88
#define EDU_REG_CNT	0x90
#define EDU_REG_CMD	0x98
#define EDU_CMD_START	0x1u
#define EDU_CMD_TO_RAM	0x2u
#define EDU_BUF_BASE	0x40000u
#define EDU_POLL_MS	5

#define PCI_CMD_OFFSET	0x04
#define PCI_CMD_MASTER	0x4u

static uint64_t edu_rd(const struct edu *e, unsigned int off)
{
	return *(volatile const uint64_t *)(e->bar + off);
}

static void edu_wr(struct edu *e, unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(e->bar + off) = v;
}

static int edu_region(int fd, uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, ri))
		return -errno;
	return 0;
}

/* Bus mastering is off after reset; a VMM turns it on the same way. */
static int edu_bus_master(struct edu *e)
{
	uint16_t cmd;

	if (pread(e->fd, &cmd, sizeof(cmd), (off_t)(e->cfg_offset +
						  PCI_CMD_OFFSET)) != 2)
		return errno ? -errno : -EIO;
	cmd |= PCI_CMD_MASTER;
	if (pwrite(e->fd, &cmd, sizeof(cmd), (off_t)(e->cfg_offset +
						   PCI_CMD_OFFSET)) != 2)
		return errno ? -errno : -EIO;
	return 0;
}

int edu_open(struct edu *e, int device_fd)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info bar, cfg;
	uint32_t id;
	void *p;
	int ret;

	memset(e, 0, sizeof(*e));
	e->fd = device_fd;
	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &di)) {
		ret = -errno;
		log_err("edu_open: VFIO_DEVICE_GET_INFO: %s", strerror(-ret));
		return ret;
	}
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		log_err("edu_open: not a PCI device (flags 0x%x, %u regions)",
			di.flags, di.num_regions);
		return -ENODEV;
	}
	ret = edu_region(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (!ret)
		ret = edu_region(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret) {
		log_err("edu_open: VFIO_DEVICE_GET_REGION_INFO: %s",
			strerror(-ret));
		return ret;
	}
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    bar.size < EDU_REG_CMD + 8) {
		log_err("edu_open: BAR0 not mappable or too small (0x%llx bytes)",
			(unsigned long long)bar.size);
		return -ENODEV;
	}
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 device_fd, (off_t)bar.offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		log_err("edu_open: mmap BAR0: %s", strerror(-ret));
		return ret;
	}
	e->bar = p;
	e->bar_size = bar.size;
	e->cfg_offset = cfg.offset;
	id = *(volatile const uint32_t *)(e->bar + EDU_REG_ID);
	if ((id & 0xff) != 0xed) {
		log_err("edu_open: identification 0x%08x is not an edu", id);
		edu_close(e);
		return -ENODEV;
	}
	ret = edu_bus_master(e);
	if (ret) {
		log_err("edu_open: enabling bus mastering: %s", strerror(-ret));
		edu_close(e);
		return ret;
	}
	return 0;
}

void edu_close(struct edu *e)
{
	if (e->bar)
		munmap((void *)e->bar, e->bar_size);
	e->bar = NULL;
	e->fd = -1;	/* not ours to close */
}

int edu_dma(struct edu *e, uint64_t iova, uint32_t buf_off, uint32_t len,
	    bool to_ram, unsigned int timeout_ms)
{
	uint64_t deadline;

	/* Strictly inside the buffer: QEMU 7.2 aborts on a range ending at
	 * its last byte. */
	if (!len || len > EDU_DMA_MAX || buf_off >= EDU_BUF_SIZE ||
	    len >= EDU_BUF_SIZE - buf_off ||
	    iova >= EDU_IOVA_LIMIT || len > EDU_IOVA_LIMIT - iova)
		return -EINVAL;
	if (edu_rd(e, EDU_REG_CMD) & EDU_CMD_START)
		return -EBUSY;
	if (to_ram) {
		edu_wr(e, EDU_REG_SRC, EDU_BUF_BASE + buf_off);
		edu_wr(e, EDU_REG_DST, iova);
	} else {
		edu_wr(e, EDU_REG_SRC, iova);
		edu_wr(e, EDU_REG_DST, EDU_BUF_BASE + buf_off);
	}
	edu_wr(e, EDU_REG_CNT, len);
	edu_wr(e, EDU_REG_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	deadline = vb_now_ns() / 1000000 + timeout_ms;
	while (edu_rd(e, EDU_REG_CMD) & EDU_CMD_START) {
		if (vb_now_ns() / 1000000 >= deadline)
			return EDU_DMA_TIMEOUT;
		/* poll(2) with no fds is the sleep every policy allows */
		poll(NULL, 0, EDU_POLL_MS);
	}
	return EDU_DMA_DONE;
}
