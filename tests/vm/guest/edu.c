// SPDX-License-Identifier: BSD-3-Clause
/*
 * edu register use: 0x00 id (0x010000ed), 0x80 source, 0x88 destination,
 * 0x90 count, 0x98 command (bit 0 start/busy, bit 1 device->RAM). The
 * device's buffer sits at 0x40000 in its own DMA address space. Bus
 * mastering is enabled through the VFIO config region, as a VMM would.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "edu.h"
#include "harness.h"

#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000

static uint64_t rd64(struct edu *e, unsigned int off)
{
	return *(volatile uint64_t *)(e->bar + off);
}

static void wr64(struct edu *e, unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(e->bar + off) = v;
}

int edu_open(struct edu *e, int group_fd, const char *addr)
{
	struct vfio_region_info bar = { .argsz = sizeof(bar),
					.index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;
	void *p;

	e->bar = NULL;
	e->fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, addr);
	CHECK(e->fd >= 0, "GET_DEVICE_FD %s: %s", addr, strerror(errno));
	CHECK(!ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &bar), "BAR0 info: %s", strerror(errno));
	CHECK(!ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg), "config info: %s", strerror(errno));
	CHECK(bar.flags & VFIO_REGION_INFO_FLAG_MMAP, "BAR0 not mappable");
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, bar.offset);
	CHECK(p != MAP_FAILED, "mmap BAR0: %s", strerror(errno));
	e->bar = p;
	e->bar_size = bar.size;
	CHECK((*(volatile uint32_t *)(e->bar + EDU_ID) & 0xff) == 0xed, "edu id 0x%x",
	      *(volatile uint32_t *)(e->bar + EDU_ID));
	CHECK(pread(e->fd, &cmd, 2, cfg.offset + 4) == 2, "read PCI command");
	cmd |= 0x4;	/* bus master */
	CHECK(pwrite(e->fd, &cmd, 2, cfg.offset + 4) == 2, "write PCI command");
	return 0;
}

void edu_close(struct edu *e)
{
	if (e->bar)
		munmap((void *)e->bar, e->bar_size);
	if (e->fd >= 0)
		close(e->fd);
	e->bar = NULL;
	e->fd = -1;
}

static int edu_dma(struct edu *e, uint64_t src, uint64_t dst, uint32_t len,
		   uint64_t cmd)
{
	uint64_t deadline = harness_now_ns() + 3000000000ull;

	CHECK(len && len <= EDU_DMA_MAX, "edu DMA length %u", len);
	CHECK(!(rd64(e, EDU_DMA_CMD) & EDU_CMD_START), "edu DMA busy before start");
	wr64(e, EDU_DMA_SRC, src);
	wr64(e, EDU_DMA_DST, dst);
	wr64(e, EDU_DMA_CNT, len);
	wr64(e, EDU_DMA_CMD, cmd | EDU_CMD_START);
	while (rd64(e, EDU_DMA_CMD) & EDU_CMD_START) {
		CHECK(harness_now_ns() < deadline, "edu DMA did not complete");
		usleep(5000);
	}
	return 0;
}

int edu_dma_from_ram(struct edu *e, uint64_t iova, uint32_t len)
{
	CHECK(iova + len <= EDU_IOVA_LIMIT, "iova 0x%llx beyond edu mask",
	      (unsigned long long)iova);
	return edu_dma(e, iova, EDU_BUF, len, 0);
}

int edu_dma_to_ram(struct edu *e, uint64_t iova, uint32_t len)
{
	CHECK(iova + len <= EDU_IOVA_LIMIT, "iova 0x%llx beyond edu mask",
	      (unsigned long long)iova);
	return edu_dma(e, EDU_BUF, iova, len, EDU_CMD_TO_RAM);
}
