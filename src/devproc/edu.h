/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal driver for QEMU's "edu" teaching device, run from inside the
 * devproc's sandbox on the VFIO device fd the broker passed in WELCOME.
 * Its DMA engine is what proves the broker's mappings: a transfer at an
 * IOVA lands in guest RAM only while that IOVA is mapped in the device's
 * own domain.
 *
 * QEMU 7.2's edu masks DMA addresses to 28 bits, aborts QEMU on a full
 * 4096-byte transfer (off-by-one range check) and completes a command on a
 * 100 ms timer; hence EDU_DMA_MAX, EDU_IOVA_LIMIT and polling. It also
 * completes a command whose DMA the IOMMU refused: the transfer is simply
 * dropped (the guest kernel logs a DMAR fault), so completion proves
 * nothing about where bytes went; only guest memory can tell.
 *
 * BAR0 is mmapped (plain mmap of the device fd, allowed by every devproc
 * policy); the PCI command register is read and written with pread/pwrite
 * on the config region, which only the edu policy allows.
 */
#ifndef VB_DEVPROC_EDU_H
#define VB_DEVPROC_EDU_H

#include <stdbool.h>
#include <stdint.h>

#define EDU_DMA_MAX	2048u		/* bytes per transfer */
#define EDU_IOVA_LIMIT	(1ull << 28)	/* edu's DMA mask */
#define EDU_BUF_SIZE	4096u		/* device buffer used (of 4 KiB) */

struct edu {
	int fd;				/* lent by the client handle */
	volatile uint8_t *bar;
	uint64_t bar_size;
	uint64_t cfg_offset;		/* config region in the device fd */
};

enum edu_dma_result {
	EDU_DMA_DONE = 0,		/* the command completed */
	EDU_DMA_TIMEOUT = 1,		/* still busy after the deadline */
};

/* Check the device is an edu, map BAR0, enable bus mastering. */
int edu_open(struct edu *e, int device_fd);
void edu_close(struct edu *e);
/*
 * One transfer of @len (1..EDU_DMA_MAX) bytes between guest IOVA @iova and
 * offset @buf_off of the device buffer; @to_ram picks the direction.
 * Returns an enum edu_dma_result, or -errno for bad arguments or a device
 * that is busy before the start. @timeout_ms bounds the wait.
 */
int edu_dma(struct edu *e, uint64_t iova, uint32_t buf_off, uint32_t len,
	    bool to_ram, unsigned int timeout_ms);

#endif /* VB_DEVPROC_EDU_H */
