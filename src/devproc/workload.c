/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers the workloads share: request accounting, the pipeline depth
 * limit, and the checks against the broker's STATS. Synchronous helpers
 * account their reply themselves; pipelined callbacks call
 * workload_note_map/unmap.
 */
#include "devproc/devproc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

double workload_pages_per_s(const struct devproc_result *res)
{
	if (res->seconds <= 0)
		return 0;
	return (double)(res->pages_mapped + res->pages_unmapped) /
	       res->seconds;
}

void workload_fail(struct devproc *dp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dp->res.errors++;
	log_err("dev %u %s: %s", dp->info ? dp->info->device_id : 0,
		dp->opts.workload, msg);
}

unsigned int workload_depth(const struct devproc *dp)
{
	unsigned int d = dp->opts.pipeline ? dp->opts.pipeline : 1;

	/* info->window: what the library can keep outstanding */
	return d < dp->info->window ? d : dp->info->window;
}

int workload_make_room(struct devproc *dp)
{
	while (vb_client_outstanding(dp->client) >= workload_depth(dp)) {
		int rc = vb_client_poll(dp->client, -1);

		if (rc < 0)
			return rc;
	}
	return 0;
}

void workload_drain(struct devproc *dp)
{
	/* a dead handle has completed everything already */
	if (vb_client_outstanding(dp->client))
		(void)vb_client_wait(dp->client);
}

void workload_note_map(struct devproc *dp, const struct vb_reply *r)
{
	dp->res.pages_mapped += r->pages_done;
}

void workload_note_unmap(struct devproc *dp, const struct vb_reply *r)
{
	dp->res.pages_unmapped += r->pages_done;
}

int workload_submit_map(struct devproc *dp, const struct vb_map_entry *e,
			uint32_t n, vb_client_done_fn done, void *arg)
{
	int rc = workload_make_room(dp);

	if (!rc)
		rc = vb_client_submit_map(dp->client, e, n, done, arg, NULL);
	if (!rc) {
		dp->res.requests++;
		dp->res.maps++;
	}
	return rc;
}

int workload_submit_unmap(struct devproc *dp, const struct vb_unmap_entry *e,
			  uint32_t n, vb_client_done_fn done, void *arg)
{
	int rc = workload_make_room(dp);

	if (!rc)
		rc = vb_client_submit_unmap(dp->client, e, n, done, arg, NULL);
	if (!rc) {
		dp->res.requests++;
		dp->res.unmaps++;
	}
	return rc;
}

/* Returns the broker's answer (-status) or a transport error; *r is only
 * meaningful when the reply arrived (rc is 0 or a broker status). */
int workload_map(struct devproc *dp, const struct vb_map_entry *e, uint32_t n,
		 struct vb_reply *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = vb_client_map(dp->client, e, n, r);
	dp->res.requests++;
	dp->res.maps++;
	workload_note_map(dp, r);
	return rc;
}

int workload_unmap(struct devproc *dp, const struct vb_unmap_entry *e,
		   uint32_t n, struct vb_reply *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = vb_client_unmap(dp->client, e, n, r);
	dp->res.requests++;
	dp->res.unmaps++;
	workload_note_unmap(dp, r);
	return rc;
}

int workload_stats(struct devproc *dp, struct vb_stats *st)
{
	dp->res.requests++;
	return vb_client_stats(dp->client, st);
}

void workload_check_stats(struct devproc *dp, uint64_t current)
{
	struct vb_stats st;
	int rc;

	rc = workload_stats(dp, &st);
	if (rc) {
		workload_fail(dp, "STATS failed: %s", strerror(-rc));
		return;
	}
	if (st.pages_current != current)
		workload_fail(dp, "broker has %llu pages mapped, expected %llu",
			      (unsigned long long)st.pages_current,
			      (unsigned long long)current);
	if (st.pages_mapped != dp->res.pages_mapped ||
	    st.pages_unmapped != dp->res.pages_unmapped)
		workload_fail(dp, "broker counted %llu/%llu pages mapped/unmapped, devproc %llu/%llu",
			      (unsigned long long)st.pages_mapped,
			      (unsigned long long)st.pages_unmapped,
			      (unsigned long long)dp->res.pages_mapped,
			      (unsigned long long)dp->res.pages_unmapped);
	if (st.map_requests != dp->res.maps ||
	    st.unmap_requests != dp->res.unmaps)
		workload_fail(dp, "broker counted %llu/%llu map/unmap requests, devproc %llu/%llu",
			      (unsigned long long)st.map_requests,
			      (unsigned long long)st.unmap_requests,
			      (unsigned long long)dp->res.maps,
			      (unsigned long long)dp->res.unmaps);
}

int workload_gpa_range(struct devproc *dp, uint64_t *base, uint64_t *size)
{
	const struct vb_client_info *in = dp->info;
	uint64_t b = dp->opts.gpa_base, s = dp->opts.gpa_size;

	if (in->n_ram == 0) {
		workload_fail(dp, "the broker gave no guest RAM");
		return -EINVAL;
	}
	if (!dp->opts.has_gpa_base)
		b = in->ram[0].gpa;
	for (uint32_t i = 0; i < in->n_ram; i++) {
		const struct vb_ram_region *r = &in->ram[i];

		if (b < r->gpa || b - r->gpa >= r->size)
			continue;
		if (!s)
			s = r->size - (b - r->gpa);
		if ((b | s) % VB_PAGE_SIZE || s > r->size - (b - r->gpa))
			break;
		*base = b;
		*size = s;
		return 0;
	}
	workload_fail(dp, "--gpa-base 0x%llx --gpa-size 0x%llx is not a page-aligned range inside one RAM region",
		      (unsigned long long)b, (unsigned long long)s);
	return -EINVAL;
}

void workload_touch(struct devproc *dp, uint64_t gpa, uint64_t npages,
		    uint64_t tag)
{
	uint64_t len = npages * VB_PAGE_SIZE;
	uint8_t *p = guest_mem_ptr(&dp->gm, gpa, len);

	if (!p) {
		workload_fail(dp, "GPA 0x%llx + %llu pages not in guest RAM",
			      (unsigned long long)gpa,
			      (unsigned long long)npages);
		return;
	}
	/* A passthrough device's DMA costs its device process nothing:
	 * benchmarks of the mapping path leave this self-check out. */
	if (dp->opts.no_touch)
		return;
	/* One word per 512 bytes is enough to see a wrong mapping or a
	 * torn region, and keeps touching cheap. */
	for (uint64_t off = 0; off < len; off += 512) {
		uint64_t v = tag ^ (gpa + off);

		memcpy(p + off, &v, sizeof(v));
	}
	for (uint64_t off = 0; off < len; off += 512) {
		uint64_t v;

		memcpy(&v, p + off, sizeof(v));
		if (v != (tag ^ (gpa + off))) {
			workload_fail(dp, "guest memory at GPA 0x%llx reads back wrong",
				      (unsigned long long)(gpa + off));
			return;
		}
	}
}
