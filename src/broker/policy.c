/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entry validation (see policy.h for the rules and their order). All range
 * arithmetic uses the inclusive last byte, computed with overflow checks,
 * so ranges touching 2^64 are handled without wrapping.
 */
#include "broker/policy.h"

#include <errno.h>

int policy_check_batch(const struct policy_limits *l, uint32_t count,
		       uint32_t flags)
{
	if (count == 0 || flags != 0)
		return -EINVAL;
	if (count > l->max_entries)
		return -E2BIG;
	return 0;
}

/* Byte length and inclusive last byte of npages pages at @addr. */
static int policy_span(uint64_t addr, uint64_t npages, uint64_t *last)
{
	uint64_t len;

	if (addr & (VB_PAGE_SIZE - 1) || npages == 0)
		return -EINVAL;
	if (npages > (UINT64_MAX >> VB_PAGE_SHIFT))
		return -EINVAL;
	len = npages << VB_PAGE_SHIFT;
	if (__builtin_add_overflow(addr, len - 1, last))
		return -EINVAL;
	return 0;
}

static int policy_in_window(const struct policy_limits *l, uint64_t iova,
			    uint64_t last)
{
	for (unsigned int i = 0; i < l->n_iova; i++) {
		const struct vb_range *w = &l->iova[i];

		if (w->size && iova >= w->start && last <= w->start + (w->size - 1))
			return 0;
	}
	return -ERANGE;
}

int policy_check_iova(const struct policy_limits *l, uint64_t iova,
		      uint64_t npages)
{
	uint64_t last;
	int ret = policy_span(iova, npages, &last);

	return ret ? ret : policy_in_window(l, iova, last);
}

int policy_check_map(const struct policy_limits *l,
		     const struct vb_map_entry *e,
		     struct backend_map_entry *out)
{
	uint64_t ilast, glast, vaddr;
	int ret;

	ret = policy_span(e->iova, e->npages, &ilast);
	if (!ret)
		ret = policy_span(e->gpa, e->npages, &glast);
	if (ret)
		return ret;
	if (!(e->prot & VB_PROT_MASK) || (e->prot & ~VB_PROT_MASK) || e->reserved)
		return -EINVAL;
	ret = policy_in_window(l, e->iova, ilast);
	if (ret)
		return ret;
	ret = memory_translate(l->mem, e->gpa, glast - e->gpa + 1, &vaddr);
	if (ret)
		return ret;
	out->iova = e->iova;
	out->vaddr = vaddr;
	out->npages = e->npages;
	out->prot = e->prot;
	return 0;
}

int policy_check_unmap(const struct policy_limits *l,
		       const struct vb_unmap_entry *e,
		       struct backend_unmap_entry *out)
{
	int ret = policy_check_iova(l, e->iova, e->npages);

	if (ret)
		return ret;
	out->iova = e->iova;
	out->npages = e->npages;
	return 0;
}

int policy_check_quota(uint64_t left, const struct backend_map_entry *e,
		       uint32_t n, uint64_t *pages, uint32_t *failed_index)
{
	uint64_t sum = 0;

	/* checked entries are below 2^52 pages each: the sum cannot wrap */
	for (uint32_t i = 0; i < n; i++) {
		sum += e[i].npages;
		if (sum > left) {
			*failed_index = i;
			return -EDQUOT;
		}
	}
	*pages = sum;
	return 0;
}
