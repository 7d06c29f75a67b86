/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QEMU's edu device driven through VFIO: its DMA engine is the proof that
 * an IOVA reaches (or, after unmap, no longer reaches) a page.
 *
 * QEMU 7.2's edu aborts on a full 4096-byte transfer (off-by-one range
 * check), completes DMA on a 100 ms timer and masks DMA to 28 bits, so
 * transfers are <= EDU_DMA_MAX bytes, always at the start of the device
 * buffer, and IOVAs stay below EDU_IOVA_LIMIT.
 */
#ifndef VT_EDU_H
#define VT_EDU_H

#include <stdint.h>

#define EDU_DMA_MAX	2048u
#define EDU_IOVA_LIMIT	(1ull << 28)

struct edu {
	int fd;
	volatile uint8_t *bar;
	uint64_t bar_size;
};

int edu_open(struct edu *e, int group_fd, const char *addr);
void edu_close(struct edu *e);
/* RAM (iova) -> device buffer. */
int edu_dma_from_ram(struct edu *e, uint64_t iova, uint32_t len);
/* Device buffer -> RAM (iova). */
int edu_dma_to_ram(struct edu *e, uint64_t iova, uint32_t len);

#endif
