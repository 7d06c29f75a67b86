// SPDX-License-Identifier: BSD-3-Clause
/*
 * edu: real DMA through the broker's mappings. The device fd comes from
 * WELCOME; the IOMMU mappings come only from MAP/UNMAP requests. Each
 * round proves three things in guest RAM, seen through the memfd the
 * broker shares (the same pages the kernel pinned for the IOMMU):
 *
 *   1. mapped: a page copied RAM -> device -> another RAM page arrives
 *      byte for byte, and the bytes after the transfer are untouched;
 *   2. unmapped, write: a device -> RAM transfer at the unmapped IOVA
 *      leaves the page as it was;
 *   3. unmapped, read: a RAM -> device transfer from the unmapped IOVA does
 *      not fetch the page's new contents into the device.
 *
 * --foreign-iova/--foreign-gpa aim the device at an IOVA that another
 * device (in another domain) has mapped to that GPA: neither direction may
 * reach the page. --keep-mapped leaves one page mapped at the window's
 * first IOVA (the last page of the GPA range), so a neighbour can be aimed
 * at it and the kill tests see a pin that must outlive the other devproc.
 *
 * edu completes even a refused transfer (the IOMMU drops it and the guest
 * logs a fault), so a faulting transfer is expected to complete; if one
 * does not within the timeout that is reported, not counted as a pass.
 */
#include "devproc/devproc.h"
#include "devproc/edu.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

#define EDU_TIMEOUT_MS	5000
#define EDU_LEN		EDU_DMA_MAX
#define EDU_UNTOUCHED	0xd5	/* filler of pages no DMA may change */

struct edu_ctx {
	struct devproc *dp;
	struct edu dev;
	uint64_t gpa_base;
	uint64_t gpa_pages;
	uint64_t iova_base;
	uint64_t iova_pages;
};

static void edu_pattern(uint8_t *p, size_t len, uint64_t tag)
{
	/* tags of consecutive rounds differ in bit 0 only: mix before the
	 * generator's odd-seed rule, or two rounds would share a pattern */
	uint64_t s = (tag * 0x9e3779b97f4a7c15ull) | 1;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(devproc_rand(&s) >> 56);
}

static uint8_t *edu_page(struct edu_ctx *c, uint64_t gpa)
{
	uint8_t *p = guest_mem_ptr(&c->dp->gm, gpa, VB_PAGE_SIZE);

	if (!p)
		workload_fail(c->dp, "GPA 0x%llx not in guest RAM",
			      (unsigned long long)gpa);
	return p;
}

static bool edu_bytes_are(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* A transfer that must complete (its IOVA is mapped). */
static int edu_xfer(struct edu_ctx *c, uint64_t iova, bool to_ram)
{
	int rc = edu_dma(&c->dev, iova, 0, EDU_LEN, to_ram, EDU_TIMEOUT_MS);

	if (rc == EDU_DMA_DONE)
		return 0;
	workload_fail(c->dp, "DMA %s IOVA 0x%llx: %s",
		      to_ram ? "to" : "from", (unsigned long long)iova,
		      rc == EDU_DMA_TIMEOUT ? "did not complete" :
					      strerror(-rc));
	return rc == EDU_DMA_TIMEOUT ? -ETIMEDOUT : rc;
}

/* A transfer the IOMMU must refuse: completion is expected, not proof. */
static int edu_xfer_refused(struct edu_ctx *c, uint64_t iova, bool to_ram)
{
	int rc = edu_dma(&c->dev, iova, 0, EDU_LEN, to_ram, EDU_TIMEOUT_MS);

	if (rc == EDU_DMA_DONE)
		return 0;
	if (rc == EDU_DMA_TIMEOUT) {
		workload_fail(c->dp, "DMA %s unmapped IOVA 0x%llx never completed (device stuck?)",
			      to_ram ? "to" : "from",
			      (unsigned long long)iova);
		return -ETIMEDOUT;
	}
	workload_fail(c->dp, "DMA at IOVA 0x%llx: %s",
		      (unsigned long long)iova, strerror(-rc));
	return rc;
}

/* Every entry here is one page: a request must do exactly @n pages. */
static int edu_check(struct edu_ctx *c, const char *what, uint64_t iova,
		     uint32_t n, int rc, const struct vb_reply *r)
{
	if (rc == -EPIPE)
		return rc;
	if (rc || r->pages_done != n) {
		workload_fail(c->dp, "%s of %u pages at IOVA 0x%llx: %s, %llu pages done",
			      what, n, (unsigned long long)iova,
			      rc ? strerror(-rc) : "ok",
			      (unsigned long long)r->pages_done);
		return rc ? rc : -EIO;
	}
	return 0;
}

static int edu_map(struct edu_ctx *c, const struct vb_map_entry *e,
		   uint32_t n)
{
	struct vb_reply r;
	int rc = workload_map(c->dp, e, n, &r);

	return edu_check(c, "MAP", e[0].iova, n, rc, &r);
}

static int edu_unmap(struct edu_ctx *c, const struct vb_unmap_entry *e,
		     uint32_t n)
{
	struct vb_reply r;
	int rc = workload_unmap(c->dp, e, n, &r);

	return edu_check(c, "UNMAP", e[0].iova, n, rc, &r);
}

/*
 * Copy @src (mapped read-only at @s_iova) into @dst (mapped write-only at
 * @d_iova) through the device, and check @dst: the transfer's bytes equal
 * @src's, the rest of the page is still EDU_UNTOUCHED.
 */
static int edu_copy_check(struct edu_ctx *c, uint64_t s_iova, const uint8_t *src,
			  uint64_t d_iova, uint8_t *dst)
{
	int rc;

	memset(dst, EDU_UNTOUCHED, VB_PAGE_SIZE);
	rc = edu_xfer(c, s_iova, false);
	if (!rc)
		rc = edu_xfer(c, d_iova, true);
	if (rc)
		return rc;
	if (memcmp(dst, src, EDU_LEN))
		workload_fail(c->dp, "DMA through IOVAs 0x%llx -> 0x%llx: bytes in guest RAM differ from the source page",
			      (unsigned long long)s_iova,
			      (unsigned long long)d_iova);
	else if (!edu_bytes_are(dst + EDU_LEN, VB_PAGE_SIZE - EDU_LEN,
				EDU_UNTOUCHED))
		workload_fail(c->dp, "DMA to IOVA 0x%llx wrote past its %u bytes",
			      (unsigned long long)d_iova, EDU_LEN);
	return 0;
}

/*
 * After a read the IOMMU had to refuse, learn what reached the device:
 * map @m's page, read the device buffer out into @out and unmap it again.
 * *@leaked: the buffer held @forbidden's bytes, so the refused read did
 * fetch them. The read-out itself must land (a refused read leaves the
 * buffer in a state of QEMU's choosing, so only "not @forbidden and not
 * the filler" can be asked), or it tells nothing about the read.
 */
static int edu_read_out(struct edu_ctx *c, const struct vb_map_entry *m,
			uint8_t *out, const uint8_t *forbidden, bool *leaked)
{
	struct vb_unmap_entry u = { m->iova, 1 };
	int rc;

	*leaked = false;
	rc = edu_map(c, m, 1);
	if (rc)
		return rc;
	memset(out, EDU_UNTOUCHED, VB_PAGE_SIZE);
	rc = edu_xfer(c, m->iova, true);
	if (rc)
		return rc;
	if (!memcmp(out, forbidden, EDU_LEN))
		*leaked = true;
	else if (edu_bytes_are(out, EDU_LEN, EDU_UNTOUCHED))
		workload_fail(c->dp, "read-out through IOVA 0x%llx did not arrive",
			      (unsigned long long)m->iova);
	return edu_unmap(c, &u, 1);
}

static int edu_round(struct edu_ctx *c, uint64_t i)
{
	struct devproc *dp = c->dp;
	uint64_t sp = (2 * i) % c->gpa_pages, dpg = (2 * i + 1) % c->gpa_pages;
	uint64_t s_gpa = c->gpa_base + sp * VB_PAGE_SIZE;
	uint64_t d_gpa = c->gpa_base + dpg * VB_PAGE_SIZE;
	uint64_t s_iova = c->iova_base + ((2 * i) % c->iova_pages) * VB_PAGE_SIZE;
	uint64_t d_iova = c->iova_base +
			  ((2 * i + 1) % c->iova_pages) * VB_PAGE_SIZE;
	uint64_t tag = dp->opts.seed * 0x9e3779b97f4a7c15ull ^
		       ((uint64_t)dp->info->device_id << 40) ^ i;
	struct vb_map_entry me[2] = {
		{ .iova = s_iova, .gpa = s_gpa, .npages = 1,
		  .prot = VB_PROT_READ },
		{ .iova = d_iova, .gpa = d_gpa, .npages = 1,
		  .prot = VB_PROT_WRITE },
	};
	struct vb_unmap_entry ue[2] = { { s_iova, 1 }, { d_iova, 1 } };
	uint8_t *src = edu_page(c, s_gpa), *dst = edu_page(c, d_gpa);
	uint8_t before[EDU_LEN];
	bool leaked;
	int rc;

	if (!src || !dst)
		return -EFAULT;
	edu_pattern(src, VB_PAGE_SIZE, tag);

	/* 1. mapped: the bytes arrive */
	rc = edu_map(c, me, 2);
	if (!rc)
		rc = edu_copy_check(c, s_iova, src, d_iova, dst);
	if (rc)
		return rc;
	rc = edu_unmap(c, ue, 2);
	if (rc)
		return rc;

	/* 2. unmapped, write: the device still holds the pattern; aimed at
	 * the unmapped destination it must not land. */
	memset(dst, EDU_UNTOUCHED, VB_PAGE_SIZE);
	rc = edu_xfer_refused(c, d_iova, true);
	if (rc)
		return rc;
	if (!edu_bytes_are(dst, VB_PAGE_SIZE, EDU_UNTOUCHED)) {
		workload_fail(dp, "DMA to unmapped IOVA 0x%llx changed GPA 0x%llx",
			      (unsigned long long)d_iova,
			      (unsigned long long)d_gpa);
		return 0;
	}

	/* 3. unmapped, read: new source bytes must not reach the device.
	 * The device buffer is then read out through a fresh mapping. */
	edu_pattern(src, VB_PAGE_SIZE, ~tag);
	memcpy(before, src, EDU_LEN);
	rc = edu_xfer_refused(c, s_iova, false);
	if (rc)
		return rc;
	rc = edu_read_out(c, &me[1], dst, before, &leaked);
	if (leaked)
		workload_fail(dp, "the device read GPA 0x%llx through unmapped IOVA 0x%llx",
			      (unsigned long long)s_gpa,
			      (unsigned long long)s_iova);
	return rc;
}

/*
 * Aim the device at an IOVA that only another device's domain maps (to
 * @gpa): a write must not change the page, a read must not fetch it.
 */
static int edu_foreign(struct edu_ctx *c, uint64_t iova, uint64_t gpa)
{
	struct devproc *dp = c->dp;
	uint64_t own_gpa = c->gpa_base, own_iova = c->iova_base;
	struct vb_map_entry me = { .iova = own_iova, .gpa = own_gpa,
				   .npages = 1,
				   .prot = VB_PROT_READ | VB_PROT_WRITE };
	struct vb_unmap_entry ue = { own_iova, 1 };
	uint8_t *theirs = edu_page(c, gpa), *own = edu_page(c, own_gpa);
	uint8_t snap[VB_PAGE_SIZE];
	bool leaked;
	int rc;

	if (!theirs || !own)
		return -EFAULT;
	if (gpa == own_gpa) {
		workload_fail(dp, "--foreign-gpa 0x%llx is this device's own scratch page",
			      (unsigned long long)gpa);
		return -EINVAL;
	}
	memcpy(snap, theirs, sizeof(snap));
	/* Load the device buffer with bytes of ours, different from theirs. */
	edu_pattern(own, VB_PAGE_SIZE, 0xf0f0f0f0ull ^ dp->info->device_id);
	if (!memcmp(own, snap, EDU_LEN))
		own[0] ^= 0xff;
	rc = edu_map(c, &me, 1);
	if (!rc)
		rc = edu_xfer(c, own_iova, false);
	if (!rc)
		rc = edu_unmap(c, &ue, 1);
	if (rc)
		return rc;

	rc = edu_xfer_refused(c, iova, true);
	if (rc)
		return rc;
	if (memcmp(theirs, snap, sizeof(snap))) {
		workload_fail(dp, "DMA to foreign IOVA 0x%llx changed the other device's GPA 0x%llx",
			      (unsigned long long)iova,
			      (unsigned long long)gpa);
		return 0;
	}
	rc = edu_xfer_refused(c, iova, false);
	if (rc)
		return rc;
	rc = edu_read_out(c, &me, own, snap, &leaked);
	if (leaked)
		workload_fail(dp, "the device read the other device's GPA 0x%llx through foreign IOVA 0x%llx",
			      (unsigned long long)gpa,
			      (unsigned long long)iova);
	if (!rc && !leaked && !dp->opts.quiet)
		log_info("edu: foreign IOVA 0x%llx (GPA 0x%llx) unreachable in both directions",
			 (unsigned long long)iova, (unsigned long long)gpa);
	return rc;
}

/*
 * Leave the window's first IOVA mapped to the range's last page, after
 * proving the mapping works (copy through it into a scratch page).
 */
static int edu_keep(struct edu_ctx *c)
{
	uint64_t k_gpa = c->gpa_base + (c->gpa_pages - 1) * VB_PAGE_SIZE;
	uint64_t k_iova = c->iova_base;
	uint64_t t_gpa = c->gpa_base, t_iova = c->iova_base + VB_PAGE_SIZE;
	struct vb_map_entry me[2] = {
		{ .iova = k_iova, .gpa = k_gpa, .npages = 1,
		  .prot = VB_PROT_READ | VB_PROT_WRITE },
		{ .iova = t_iova, .gpa = t_gpa, .npages = 1,
		  .prot = VB_PROT_WRITE },
	};
	struct vb_unmap_entry ue = { t_iova, 1 };
	uint8_t *kp = edu_page(c, k_gpa), *tp = edu_page(c, t_gpa);
	int rc;

	if (!kp || !tp)
		return -EFAULT;
	edu_pattern(kp, VB_PAGE_SIZE, 0x4b454550ull ^ c->dp->info->device_id);
	rc = edu_map(c, me, 2);
	if (!rc)
		rc = edu_copy_check(c, k_iova, kp, t_iova, tp);
	if (!rc)
		rc = edu_unmap(c, &ue, 1);
	if (!rc)
		log_info("edu: keeping IOVA 0x%llx -> GPA 0x%llx mapped",
			 (unsigned long long)k_iova,
			 (unsigned long long)k_gpa);
	return rc;
}

static int edu_layout(struct edu_ctx *c)
{
	const struct vb_range *w = &c->dp->info->iova[0];
	uint64_t size;
	int rc;

	rc = workload_gpa_range(c->dp, &c->gpa_base, &size);
	if (rc)
		return rc;
	c->gpa_pages = size / VB_PAGE_SIZE;
	if (w->start >= EDU_IOVA_LIMIT) {
		workload_fail(c->dp, "IOVA window 0x%llx is above edu's 28-bit DMA mask",
			      (unsigned long long)w->start);
		return -ERANGE;
	}
	c->iova_base = w->start;
	size = w->size < EDU_IOVA_LIMIT - w->start ? w->size :
						     EDU_IOVA_LIMIT - w->start;
	c->iova_pages = size / VB_PAGE_SIZE;
	if (c->gpa_pages < 2 || c->iova_pages < 2) {
		workload_fail(c->dp, "edu needs at least 2 pages of GPA range and of IOVA window below 256 MiB");
		return -EINVAL;
	}
	return 0;
}

int workload_edu_run(struct devproc *dp)
{
	struct edu_ctx c = { .dp = dp };
	int rc;

	if (dp->info->device_fd < 0) {
		workload_fail(dp, "the broker sent no VFIO device fd (the device needs 'pci =' and a VFIO backend)");
		return 0;
	}
	rc = edu_layout(&c);
	if (rc)
		return 0;
	rc = edu_open(&c.dev, dp->info->device_fd);
	if (rc) {
		workload_fail(dp, "edu_open: %s", strerror(-rc));
		return 0;
	}
	for (uint64_t i = 0; i < dp->opts.iterations && !rc; i++)
		rc = edu_round(&c, i);
	if (!rc && dp->opts.has_foreign)
		rc = edu_foreign(&c, dp->opts.foreign_iova,
				 dp->opts.foreign_gpa);
	if (!rc && dp->opts.keep_mapped)
		rc = edu_keep(&c);
	edu_close(&c.dev);
	if (rc == -EPIPE)
		return rc;
	if (!rc)
		workload_check_stats(dp, dp->opts.keep_mapped ? 1 : 0);
	return 0;
}
