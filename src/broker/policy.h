/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-client policy: re-checks the meaning of every entry a client sends
 * before anything reaches a backend (the codec has already checked sizes).
 * Checks run in a fixed order so the errno is predictable:
 *   batch:  count 0, flags != 0 -> EINVAL; count > max_entries -> E2BIG
 *   entry:  unaligned iova/gpa, npages 0, byte length or end overflowing
 *           64 bits, prot empty or unknown, reserved != 0 -> EINVAL;
 *           IOVA range not inside one of the device's windows -> ERANGE;
 *           GPA range not inside one RAM region -> EFAULT.
 *   quota:  a MAP whose pages would take the device's client past its
 *           max_mapped (counting what is mapped and what is queued)
 *           -> EDQUOT, at the entry that crosses it.
 */
#ifndef VB_BROKER_POLICY_H
#define VB_BROKER_POLICY_H

#include <stdint.h>

#include "broker/backend.h"
#include "broker/memory.h"
#include "vfio-broker/proto.h"

struct policy_limits {
	const struct vb_range *iova;	/* the device's windows */
	unsigned int n_iova;
	const struct memory *mem;
	uint32_t max_entries;
};

int policy_check_batch(const struct policy_limits *l, uint32_t count,
		       uint32_t flags);
/* On success fills @out (with the broker vaddr of the GPA). */
int policy_check_map(const struct policy_limits *l,
		     const struct vb_map_entry *e,
		     struct backend_map_entry *out);
int policy_check_unmap(const struct policy_limits *l,
		       const struct vb_unmap_entry *e,
		       struct backend_unmap_entry *out);
/*
 * A MAP of @n checked entries may add at most @left pages. Returns 0 and
 * the pages it adds in @pages, or -EDQUOT with the first entry that would
 * go past @left in @failed_index.
 */
int policy_check_quota(uint64_t left, const struct backend_map_entry *e,
		       uint32_t n, uint64_t *pages, uint32_t *failed_index);
/* [iova, iova + npages pages) inside one window (exposed for tests). */
int policy_check_iova(const struct policy_limits *l, uint64_t iova,
		      uint64_t npages);

#endif /* VB_BROKER_POLICY_H */
