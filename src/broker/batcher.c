/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cross-client batching (design in batcher.h).
 *
 * A "run" is the longest prefix of a domain's queue whose executable
 * requests (MAP or UNMAP, not refused, peer alive) all have the same
 * operation and whose entries fit in BATCHER_MAX_MERGE. Non-executable
 * requests inside the run are answered in their place. Accounting happens
 * whether or not the peer is still alive, because the backend state changed
 * either way; only the reply is skipped for a dead peer.
 */
#include "broker/batcher.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/domain.h"
#include "broker/peer.h"
#include "common/clock.h"
#include "common/log.h"

static void batcher_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	(void)fd;
	(void)what;
	batcher_flush(b);
}

int batcher_init(struct broker *b)
{
	b->scratch_map = calloc(BATCHER_MAX_MERGE, sizeof(*b->scratch_map));
	b->scratch_unmap = calloc(BATCHER_MAX_MERGE, sizeof(*b->scratch_unmap));
	b->scratch_pages = calloc(BATCHER_MAX_MERGE, sizeof(*b->scratch_pages));
	if (!b->scratch_map || !b->scratch_unmap || !b->scratch_pages)
		return -ENOMEM;
	if (!b->base)
		return 0;	/* unit tests flush by hand */
	/*
	 * Activated by the first request an iteration queues, it runs after
	 * every socket event that iteration's epoll_wait returned: libevent
	 * runs active callbacks in activation order, and those were all
	 * active before the first read. Not at a lower priority: libevent
	 * would hold that back for as long as socket events keep coming,
	 * which any process may cause by connecting in a loop.
	 */
	b->ev_flush = event_new(b->base, -1, 0, batcher_flush_cb, b);
	if (!b->ev_flush)
		return -ENOMEM;
	return 0;
}

void batcher_fini(struct broker *b)
{
	if (b->ev_flush)
		event_free(b->ev_flush);
	b->ev_flush = NULL;
	free(b->scratch_map);
	free(b->scratch_unmap);
	free(b->scratch_pages);
	b->scratch_map = NULL;
	b->scratch_unmap = NULL;
	b->scratch_pages = NULL;
}

struct request *batcher_request_new(struct peer *p, uint16_t type,
				    uint64_t id, uint32_t count)
{
	size_t esz = 0;
	struct request *r;

	if (type == VB_MSG_MAP)
		esz = sizeof(struct backend_map_entry);
	else if (type == VB_MSG_UNMAP)
		esz = sizeof(struct backend_unmap_entry);
	if (count > VB_MAX_ENTRIES_HARD)
		return NULL;
	r = calloc(1, sizeof(*r) + esz * count);
	if (!r)
		return NULL;
	r->peer = p;
	r->id = id;
	r->type = type;
	r->count = count;
	r->failed_index = VB_NO_INDEX;
	r->t_recv_ns = vb_now_ns();
	if (type == VB_MSG_MAP)
		r->map = (struct backend_map_entry *)(r + 1);
	else if (type == VB_MSG_UNMAP)
		r->unmap = (struct backend_unmap_entry *)(r + 1);
	return r;
}

void batcher_request_free(struct request *r)
{
	free(r);
}

void batcher_submit(struct broker *b, struct request *r)
{
	struct domain *d = r->peer->dev->domain;

	TAILQ_INSERT_TAIL(&d->pending, r, link);
	d->n_pending++;
	if (b->ev_flush && !b->flush_armed) {
		b->flush_armed = true;
		event_active(b->ev_flush, 0, 0);
	}
}

void batcher_drop_peer(struct broker *b, struct peer *p)
{
	if (!p->dev)
		return;
	struct domain *d = p->dev->domain;
	struct request *r, *next;

	(void)b;
	for (r = TAILQ_FIRST(&d->pending); r; r = next) {
		next = TAILQ_NEXT(r, link);
		if (r->peer != p)
			continue;
		TAILQ_REMOVE(&d->pending, r, link);
		d->n_pending--;
		batcher_request_free(r);
	}
}

static bool batcher_executable(const struct request *r)
{
	return r->status == 0 && r->peer->state != PEER_DEAD &&
	       (r->type == VB_MSG_MAP || r->type == VB_MSG_UNMAP);
}

static uint64_t batcher_pages(const struct request *r)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < r->count; i++)
		n += r->type == VB_MSG_MAP ? r->map[i].npages : r->unmap[i].npages;
	return n;
}

/* Count one backend call of @n entries for the domain and each client in it. */
static void batcher_account_call(struct broker *b, struct domain *d,
				 struct request *first, struct request *end,
				 size_t n)
{
	uint64_t gen = ++b->batch_gen;

	d->stats.batches++;
	stats_hist_add(&d->stats.batch_entries, n);
	for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
		if (!batcher_executable(r) || r->peer->batch_gen == gen)
			continue;
		r->peer->batch_gen = gen;
		r->peer->stats.batches++;
		stats_hist_add(&r->peer->stats.batch_entries, n);
	}
}

static int batcher_status(int ret)
{
	return ret < 0 ? -ret : EIO;
}

static int batcher_do_map(struct broker *b, struct domain *d,
			  const struct backend_map_entry *e, size_t n,
			  struct backend_result *res)
{
	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	res->entry_pages = NULL;
	return b->be->ops->map(d->bd, e, n, res);
}

/* @entry_pages NULL: the total is all the caller needs (one request). */
static int batcher_do_unmap(struct broker *b, struct domain *d,
			    const struct backend_unmap_entry *e, size_t n,
			    struct backend_result *res, uint64_t *entry_pages)
{
	/* A sentinel shows whether the backend filled the per-entry counts. */
	for (size_t i = 0; entry_pages && i < n; i++)
		entry_pages[i] = UINT64_MAX;
	res->failed_index = VB_NO_INDEX;
	res->pages_done = 0;
	res->entry_pages = entry_pages;
	domain_peak_sample(b);
	return b->be->ops->unmap(d->bd, e, n, res);
}

/*
 * Re-issue each executable request of the run alone. An UNMAP's pages_done
 * adds to what it was credited with before (batcher_unmap_failed): pages
 * an earlier call already unmapped are holes now and count nothing again.
 * A failed UNMAP keeps what it did unmap before the failing entry; a MAP
 * is all-or-nothing and reports 0.
 */
static void batcher_retry_alone(struct broker *b, struct domain *d,
				struct request *first, struct request *end)
{
	struct backend_result res;
	int ret;

	for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
		if (!batcher_executable(r))
			continue;
		if (r->type == VB_MSG_MAP)
			ret = batcher_do_map(b, d, r->map, r->count, &res);
		else
			ret = batcher_do_unmap(b, d, r->unmap, r->count, &res,
					       NULL);
		batcher_account_call(b, d, r, TAILQ_NEXT(r, link), r->count);
		if (r->type == VB_MSG_UNMAP)
			r->pages_done += res.pages_done;
		if (ret) {
			r->status = batcher_status(ret);
			r->failed_index = res.failed_index;
			if (r->type == VB_MSG_MAP)
				r->pages_done = 0;
			/* Not executable any more: later retries skip it. */
		} else if (r->type == VB_MSG_MAP) {
			r->pages_done = res.pages_done;
		}
	}
}

static void batcher_map_run(struct broker *b, struct domain *d,
			    struct request *first, struct request *end,
			    size_t n, unsigned int nreq)
{
	struct backend_result res;
	size_t k = 0;
	int ret;

	for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
		if (!batcher_executable(r))
			continue;
		memcpy(b->scratch_map + k, r->map, r->count * sizeof(*r->map));
		k += r->count;
	}
	ret = batcher_do_map(b, d, b->scratch_map, n, &res);
	batcher_account_call(b, d, first, end, n);
	if (!ret) {
		for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link))
			if (batcher_executable(r))
				r->pages_done = batcher_pages(r);
		return;
	}
	if (nreq == 1) {
		for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
			if (!batcher_executable(r))
				continue;
			r->status = batcher_status(ret);
			r->failed_index = res.failed_index;
		}
		return;
	}
	log_debug("domain %u: merged MAP of %u requests failed at entry %u (%s); issuing each alone",
		  d->id, nreq, res.failed_index, strerror(-ret));
	batcher_retry_alone(b, d, first, end);
}

/*
 * How many leading entries of a failed merged UNMAP are done, with their
 * counts in @counts: those its counts cover, and never the failing entry
 * or any after it when the backend names one.
 */
static size_t batcher_unmap_done(const uint64_t *counts, size_t n,
				 uint32_t failed)
{
	size_t c = 0;

	while (c < n && counts[c] != UINT64_MAX)
		c++;
	return failed != VB_NO_INDEX && c > failed ? failed : c;
}

/*
 * A merged UNMAP failed part-way (type1 out of dma_entry_limit while
 * splitting a run): its entries before the failing one were unmapped, the
 * rest were not. Requests whose entries are all done are answered from
 * the per-entry counts, and so is the one holding the failing entry when
 * the backend named it and counted every entry up to it: alone, it would
 * have unmapped the same pages and failed there the same way. Issued
 * again instead, it could find its failing range all holes (a split run
 * whose remainder went back neither as it was nor cut) and be answered
 * 0, and the failure would be lost. Every later request (from the first
 * one not done when the backend did not say where it stopped) is issued
 * alone, credited with what its entries already unmapped (those pages
 * are holes now and count nothing when it is issued again), so each
 * reply is what that request alone would have got.
 */
static void batcher_unmap_failed(struct broker *b, struct domain *d,
				 struct request *first, struct request *end,
				 size_t n, uint32_t failed, int ret)
{
	size_t done = batcher_unmap_done(b->scratch_pages, n, failed), k = 0;
	struct request *r;

	for (r = first; r != end; r = TAILQ_NEXT(r, link)) {
		if (!batcher_executable(r))
			continue;
		r->pages_done = 0;
		for (size_t i = k; i < k + r->count && i <= done && i < n; i++)
			if (b->scratch_pages[i] != UINT64_MAX)
				r->pages_done += b->scratch_pages[i];
		if (k + r->count > done)
			break;
		k += r->count;
	}
	if (r != end && failed != VB_NO_INDEX && done == failed) {
		r->status = batcher_status(ret);
		r->failed_index = failed - k;
		r = TAILQ_NEXT(r, link);
	}
	batcher_retry_alone(b, d, r, end);
}

static void batcher_unmap_run(struct broker *b, struct domain *d,
			      struct request *first, struct request *end,
			      size_t n, unsigned int nreq)
{
	uint64_t requested = 0, left;
	struct backend_result res;
	bool per_entry;
	size_t k = 0;
	int ret;

	for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
		if (!batcher_executable(r))
			continue;
		memcpy(b->scratch_unmap + k, r->unmap, r->count * sizeof(*r->unmap));
		k += r->count;
		requested += batcher_pages(r);
	}
	ret = batcher_do_unmap(b, d, b->scratch_unmap, n, &res,
			       nreq > 1 ? b->scratch_pages : NULL);
	batcher_account_call(b, d, first, end, n);
	if (ret) {
		if (nreq == 1) {
			for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link))
				if (batcher_executable(r)) {
					r->status = batcher_status(ret);
					r->failed_index = res.failed_index;
					r->pages_done = res.pages_done;
				}
			return;
		}
		log_debug("domain %u: merged UNMAP of %u requests failed at entry %u (%s)",
			  d->id, nreq, res.failed_index, strerror(-ret));
		batcher_unmap_failed(b, d, first, end, n, res.failed_index,
				     ret);
		return;
	}
	/* one request: its pages_done is the total, counted below */
	per_entry = nreq > 1;
	for (size_t i = 0; per_entry && i < n; i++)
		if (b->scratch_pages[i] == UINT64_MAX)
			per_entry = false;
	/*
	 * Each request's own pages_done: from the per-entry counts when the
	 * backend gives them, trivially when nothing was a hole, and otherwise
	 * (a backend without per-entry counts, holes in a merged batch) in
	 * arrival order, which is exact for the totals but not per request.
	 */
	if (!per_entry && nreq > 1 && res.pages_done != requested)
		log_debug("domain %u: merged UNMAP crossed holes and the backend gives no per-entry counts",
			  d->id);
	k = 0;
	left = res.pages_done;
	for (struct request *r = first; r != end; r = TAILQ_NEXT(r, link)) {
		uint64_t want;

		if (!batcher_executable(r))
			continue;
		if (per_entry) {
			r->pages_done = 0;
			for (uint32_t i = 0; i < r->count; i++)
				r->pages_done += b->scratch_pages[k + i];
		} else {
			want = batcher_pages(r);
			r->pages_done = want < left ? want : left;
			left -= r->pages_done;
		}
		k += r->count;
	}
}

/*
 * Requests are counted as they are answered, so a STATS reply's counts
 * cover exactly the requests answered before it, itself included.
 */
static void batcher_count(struct peer *p, struct domain *d, uint16_t type)
{
	struct stats_counters *pc = &p->stats, *dc = &d->stats;

	pc->requests++;
	dc->requests++;
	switch (type) {
	case VB_MSG_MAP:
		pc->map_requests++;
		dc->map_requests++;
		break;
	case VB_MSG_UNMAP:
		pc->unmap_requests++;
		dc->unmap_requests++;
		break;
	case VB_MSG_SYNC:
		pc->sync_requests++;
		dc->sync_requests++;
		break;
	default:
		pc->stats_requests++;
		dc->stats_requests++;
		break;
	}
}

/* Account and answer one request; it leaves the queue afterwards. */
static void batcher_complete(struct broker *b, struct domain *d,
			     struct request *r)
{
	struct peer *p = r->peer;
	uint64_t lat;

	batcher_count(p, d, r->type);
	/* a failed UNMAP may have unmapped pages before its failing entry;
	 * a failed MAP left nothing (pages_done 0) */
	if (r->type == VB_MSG_MAP) {
		p->pages_queued -= r->pages_queued;
		p->stats.pages_mapped += r->pages_done;
		d->stats.pages_mapped += r->pages_done;
		p->pages_current += r->pages_done;
		b->mapped_now += r->pages_done;
	} else if (r->type == VB_MSG_UNMAP) {
		p->stats.pages_unmapped += r->pages_done;
		d->stats.pages_unmapped += r->pages_done;
		p->pages_current -= r->pages_done < p->pages_current ?
				    r->pages_done : p->pages_current;
		b->mapped_now -= r->pages_done < b->mapped_now ?
				 r->pages_done : b->mapped_now;
	}
	/* latency and errors are those of replies someone received */
	if (p->state == PEER_DEAD)
		return;
	lat = (vb_now_ns() - r->t_recv_ns) / 1000;
	stats_hist_add(&p->stats.latency_us, lat);
	stats_hist_add(&d->stats.latency_us, lat);
	if (r->status) {
		p->stats.errors++;
		d->stats.errors++;
	}
	if (r->type == VB_MSG_STATS && !r->status)
		peer_reply_stats(p, r->id);
	else
		peer_reply(p, r->id, r->status, r->failed_index, r->pages_done);
}

static void batcher_domain(struct broker *b, struct domain *d)
{
	while (!TAILQ_EMPTY(&d->pending)) {
		struct request *first = TAILQ_FIRST(&d->pending), *r;
		unsigned int nreq = 0;
		uint16_t op = 0;
		size_t n = 0;

		for (r = first; r; r = TAILQ_NEXT(r, link)) {
			/*
			 * A STATS ends its run, so no backend call made for
			 * a request queued after it is in its counts.
			 */
			if (r->type == VB_MSG_STATS) {
				if (!op)
					r = TAILQ_NEXT(r, link);
				break;
			}
			if (!batcher_executable(r))
				continue;
			if (op && (r->type != op || n + r->count > BATCHER_MAX_MERGE))
				break;
			op = r->type;
			n += r->count;
			nreq++;
		}
		if (op == VB_MSG_MAP)
			batcher_map_run(b, d, first, r, n, nreq);
		else if (op == VB_MSG_UNMAP)
			batcher_unmap_run(b, d, first, r, n, nreq);

		struct request *end = r;

		while ((r = TAILQ_FIRST(&d->pending)) != end) {
			TAILQ_REMOVE(&d->pending, r, link);
			d->n_pending--;
			batcher_complete(b, d, r);
			batcher_request_free(r);
		}
	}
}

void batcher_flush_now(struct broker *b)
{
	if (!b->flush_armed)
		return;
	/* takes the armed flush event off libevent's active list */
	if (b->ev_flush)
		event_del(b->ev_flush);
	batcher_flush(b);
}

void batcher_flush(struct broker *b)
{
	b->flush_armed = false;
	for (unsigned int i = 0; i < b->n_domains; i++)
		batcher_domain(b, &b->domains[i]);
	domain_peak_note(b);
}
