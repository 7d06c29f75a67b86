/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM, owned by the broker: one memfd per configured region, sized
 * with ftruncate and mapped MAP_SHARED here. Clients name memory by GPA
 * only; memory_translate() is the one place a GPA range becomes a broker
 * vaddr, and it refuses any range not wholly inside one region.
 */
#ifndef VB_BROKER_MEMORY_H
#define VB_BROKER_MEMORY_H

#include <stdint.h>

#include "broker/config.h"

struct memory_region {
	char name[CONFIG_NAME_MAX];
	uint64_t gpa;
	uint64_t size;
	int fd;
	uint8_t *va;
};

struct memory {
	struct memory_region r[VB_MAX_RAM_REGIONS];
	unsigned int n;
};

int memory_init(struct memory *m, const struct config *cfg);
void memory_fini(struct memory *m);
/*
 * [gpa, gpa + len) inside one region: store the broker vaddr of gpa and
 * return 0; otherwise -EFAULT. len 0 or a wrapping range is -EFAULT too.
 */
int memory_translate(const struct memory *m, uint64_t gpa, uint64_t len,
		     uint64_t *vaddr);

#endif /* VB_BROKER_MEMORY_H */
