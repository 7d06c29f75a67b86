/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest RAM the broker shares: each region's memfd mapped MAP_SHARED,
 * so what the devproc writes at a GPA is what the guest (and the broker)
 * sees there. Lookups take [gpa, gpa + len) and refuse ranges that cross a
 * region's end or overflow.
 */
#ifndef VB_DEVPROC_GUEST_MEM_H
#define VB_DEVPROC_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio-broker/proto.h"

struct vb_client_info;

struct guest_mem {
	unsigned int n;
	struct {
		uint64_t gpa;
		uint64_t size;
		uint8_t *base;
	} region[VB_MAX_RAM_REGIONS];
};

/* @populate: fault every page in now (MAP_POPULATE) rather than on use. */
int guest_mem_map(struct guest_mem *gm, const struct vb_client_info *info,
		  bool populate);
void guest_mem_unmap(struct guest_mem *gm);
/* Host pointer for [gpa, gpa + len), or NULL if not inside one region. */
uint8_t *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif /* VB_DEVPROC_GUEST_MEM_H */
