/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-iommu streaming pattern: the driver maps a few small buffers,
 * the device does DMA into them, the driver unmaps them, over and over.
 *
 * Each iteration places --buffers buffers of 1..--buffer-pages pages at
 * consecutive IOVAs (wrapping at the end of the window; the previous
 * iteration's buffers are unmapped by then) and at random GPAs. Maps are
 * pipelined up to --pipeline deep, then every buffer is touched through the
 * guest-memory mapping, then the unmaps are pipelined. Every reply must
 * be status 0 with pages_done exactly the buffer's size, and at the end
 * STATS must show nothing mapped, or with --keep-mapped exactly the last
 * iteration's buffers, which then stay mapped (a device holding a full
 * ring of DMA buffers: what the memory benchmark measures).
 */
#include "devproc/devproc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct viommu_buf {
	struct devproc *dp;
	uint64_t iova;
	uint64_t gpa;
	uint64_t npages;
};

static void viommu_check(struct viommu_buf *b, uint64_t id,
			 const struct vb_reply *r, const char *what)
{
	if (r->status || r->pages_done != b->npages)
		workload_fail(b->dp, "%s id %llu iova 0x%llx: status %d pages_done %llu, expected 0 and %llu",
			      what, (unsigned long long)id,
			      (unsigned long long)b->iova, r->status,
			      (unsigned long long)r->pages_done,
			      (unsigned long long)b->npages);
}

static void viommu_map_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct viommu_buf *b = arg;

	workload_note_map(b->dp, r);
	viommu_check(b, id, r, "map");
}

static void viommu_unmap_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct viommu_buf *b = arg;

	workload_note_unmap(b->dp, r);
	viommu_check(b, id, r, "unmap");
}

/* A random page-aligned GPA range of @npages inside the device's memory. */
static int viommu_pick_gpa(uint64_t base, uint64_t size, uint64_t *rng,
			   uint64_t npages, uint64_t *gpa)
{
	uint64_t pages = size / VB_PAGE_SIZE;

	if (pages < npages)
		return -ENOSPC;
	*gpa = base + (devproc_rand(rng) % (pages - npages + 1)) * VB_PAGE_SIZE;
	return 0;
}

static int viommu_issue(struct devproc *dp, struct viommu_buf *bufs,
			uint64_t n, bool map)
{
	for (uint64_t i = 0; i < n; i++) {
		struct viommu_buf *b = &bufs[i];
		struct vb_map_entry me = {
			.iova = b->iova, .gpa = b->gpa, .npages = b->npages,
			.prot = VB_PROT_READ | VB_PROT_WRITE,
		};
		struct vb_unmap_entry ue = { .iova = b->iova,
					     .npages = b->npages };
		struct vb_reply r;
		int rc, lost;

		if (dp->opts.pipeline == 0) {
			rc = map ? workload_map(dp, &me, 1, &r) :
				   workload_unmap(dp, &ue, 1, &r);
			lost = workload_lost(rc, &r);
			if (lost)
				return lost;
			/* the synchronous helpers did the accounting */
			viommu_check(b, 0, &r, map ? "map" : "unmap");
			continue;
		}
		rc = map ? workload_submit_map(dp, &me, 1, viommu_map_done, b) :
			   workload_submit_unmap(dp, &ue, 1, viommu_unmap_done,
						 b);
		if (rc)
			return rc;
	}
	return vb_client_wait(dp->client);
}

/*
 * --coalesce: a virtio-iommu device drains its request queue before it
 * acts, so the round's buffers go out as few MAP (UNMAP) requests with one
 * entry per buffer, max_entries at a time. Each request is checked as a
 * whole, through a viommu_buf that spans its buffers.
 */
static int viommu_issue_coalesced(struct devproc *dp, struct viommu_buf *bufs,
				  uint64_t n, bool map,
				  struct vb_map_entry *me,
				  struct vb_unmap_entry *ue,
				  struct viommu_buf *reqs)
{
	uint64_t max = dp->info->max_entries;

	for (uint64_t first = 0, k = 0; first < n; first += max, k++) {
		uint32_t cnt = (uint32_t)(n - first < max ? n - first : max);
		struct viommu_buf *req = &reqs[k];
		struct vb_reply r;
		int rc, lost;

		*req = (struct viommu_buf){ .dp = dp, .iova = bufs[first].iova };
		for (uint32_t i = 0; i < cnt; i++) {
			const struct viommu_buf *b = &bufs[first + i];

			me[i] = (struct vb_map_entry){
				.iova = b->iova, .gpa = b->gpa,
				.npages = b->npages,
				.prot = VB_PROT_READ | VB_PROT_WRITE,
			};
			ue[i] = (struct vb_unmap_entry){ b->iova, b->npages };
			req->npages += b->npages;
		}
		if (dp->opts.pipeline == 0) {
			rc = map ? workload_map(dp, me, cnt, &r) :
				   workload_unmap(dp, ue, cnt, &r);
			lost = workload_lost(rc, &r);
			if (lost)
				return lost;
			viommu_check(req, 0, &r, map ? "map" : "unmap");
			continue;
		}
		rc = map ? workload_submit_map(dp, me, cnt, viommu_map_done, req) :
			   workload_submit_unmap(dp, ue, cnt, viommu_unmap_done,
						 req);
		if (rc)
			return rc;
	}
	return vb_client_wait(dp->client);
}

int workload_virtio_iommu_run(struct devproc *dp)
{
	const struct vb_range *win = &dp->info->iova[0];
	uint64_t win_pages = win->size / VB_PAGE_SIZE;
	uint64_t nbuf = dp->opts.buffers, maxp = dp->opts.buffer_pages;
	uint64_t rng = dp->opts.seed ? dp->opts.seed : 1;
	uint64_t cursor = 0;	/* page offset of the next IOVA in the window */
	uint64_t held = 0;	/* --keep-mapped: pages left mapped */
	uint64_t gbase, gsize;
	struct viommu_buf *bufs, *reqs;
	struct vb_map_entry *me;
	struct vb_unmap_entry *ue;
	int rc;

	rc = workload_gpa_range(dp, &gbase, &gsize);
	if (rc)
		return rc;
	if (nbuf == 0 || maxp == 0) {
		workload_fail(dp, "needs --buffers and --buffer-pages > 0");
		return -EINVAL;
	}
	if (nbuf * maxp > win_pages) {
		workload_fail(dp, "%llu buffers of up to %llu pages do not fit the %llu-page window",
			      (unsigned long long)nbuf, (unsigned long long)maxp,
			      (unsigned long long)win_pages);
		return -EINVAL;
	}
	bufs = calloc(nbuf, sizeof(*bufs));
	reqs = calloc(nbuf, sizeof(*reqs));
	me = calloc(nbuf, sizeof(*me));
	ue = calloc(nbuf, sizeof(*ue));
	if (!bufs || !reqs || !me || !ue) {
		rc = -ENOMEM;
		goto out;
	}

	for (uint64_t it = 0; it < dp->opts.iterations && rc == 0; it++) {
		/* a round's buffers are all mapped at once: wrapping inside
		 * one would put two of them on the same pages (EEXIST) */
		if (cursor + nbuf * maxp > win_pages)
			cursor = 0;
		for (uint64_t i = 0; i < nbuf; i++) {
			struct viommu_buf *b = &bufs[i];

			b->dp = dp;
			b->npages = 1 + devproc_rand(&rng) % maxp;
			b->iova = win->start + cursor * VB_PAGE_SIZE;
			cursor += b->npages;
			rc = viommu_pick_gpa(gbase, gsize, &rng, b->npages,
					     &b->gpa);
			if (rc) {
				workload_fail(dp, "the device's guest memory does not hold %llu pages",
					      (unsigned long long)b->npages);
				break;
			}
		}
		if (rc)
			break;
		rc = dp->opts.coalesce ?
		     viommu_issue_coalesced(dp, bufs, nbuf, true, me, ue, reqs) :
		     viommu_issue(dp, bufs, nbuf, true);
		if (rc)
			break;
		for (uint64_t i = 0; i < nbuf; i++)
			workload_touch(dp, bufs[i].gpa, bufs[i].npages,
				       it * 0x9E3779B97F4A7C15ULL + i);
		if (dp->opts.keep_mapped && it + 1 == dp->opts.iterations) {
			for (uint64_t i = 0; i < nbuf; i++)
				held += bufs[i].npages;
			break;
		}
		rc = dp->opts.coalesce ?
		     viommu_issue_coalesced(dp, bufs, nbuf, false, me, ue,
					    reqs) :
		     viommu_issue(dp, bufs, nbuf, false);
		if (!dp->opts.quiet && (it + 1) % 1000 == 0)
			log_info("dev %u: %llu iterations", dp->info->device_id,
				 (unsigned long long)(it + 1));
	}
out:
	workload_drain(dp);
	free(bufs);
	free(reqs);
	free(me);
	free(ue);
	if (rc)
		return rc;
	workload_check_stats(dp, held);
	return 0;
}
