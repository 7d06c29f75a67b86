/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * batcher.c with the real sim backend, real peers on socketpairs and the
 * real dispatch table: requests go in as wire messages, replies are read
 * back from the client ends and decoded. Covers merging across clients,
 * retry isolation, reply order, SYNC/STATS ordering, refused requests in
 * their place, per-request pages_done in a merged UNMAP, dead peers,
 * cleanup on disconnect and read throttling.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/batcher.h"
#include "broker/dispatch.h"
#include "broker/domain.h"
#include "broker/peer.h"
#include "broker/stats.h"
#include "proto/codec.h"
#include "check_main.h"

#define PG	VB_PAGE_SIZE
#define A	0	/* device 1, domain "s" */
#define B	1	/* device 2, domain "s" */
#define F	2	/* device 3, fenced */
#define Q	3	/* device 4, domain "s", max_mapped 8 pages */
#define NPEER	4
#define WA	0x100000ull	/* windows */
#define WB	0x200000ull
#define WQ	0x300000ull

static const char conf[] =
	"[broker]\nmax_entries = 64\nwindow = 8\n"
	"[ram r]\nsize = 16M\n"
	"[device 1]\ngroup = sim\ndomain = s\niova = 0x100000 1M\n"
	"[device 2]\ngroup = sim\ndomain = s\niova = 0x200000 1M\n"
	"[device 3]\ngroup = sim\nfenced = yes\niova = 0x100000 1M\n"
	"[device 4]\ngroup = sim\ndomain = s\niova = 0x300000 1M\nmax_mapped = 32K\n";

static struct broker br;
static struct peer *P[NPEER];
static int C[NPEER];
static uint64_t next_id;

static void setup(void)
{
	char err[256];

	memset(&br, 0, sizeof(br));
	TAILQ_INIT(&br.peers);
	next_id = 1;
	ck_assert_int_eq(config_parse(conf, "t", &br.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&br.be), 0);
	br.base = event_base_new();
	ck_assert_ptr_nonnull(br.base);
	ck_assert_int_eq(memory_init(&br.mem, br.cfg), 0);
	ck_assert_int_eq(domain_setup(&br), 0);
	ck_assert_int_eq(batcher_init(&br), 0);
	br.rxbuf = malloc(VB_MSG_MAX_LEN);
	for (int i = 0; i < NPEER; i++) {
		int sv[2];

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		P[i] = peer_new(&br, sv[0], NULL, getpid(), 0, 0);
		ck_assert_ptr_nonnull(P[i]);
		P[i]->dev = &br.devices[i];
		br.devices[i].owner = P[i];
		P[i]->state = PEER_READY;
		P[i]->version = 1;
		peer_set_name(P[i]);
		C[i] = sv[1];
	}
}

static void teardown(void)
{
	peer_close_all(&br);
	for (int i = 0; i < NPEER; i++)
		close(C[i]);
	batcher_fini(&br);
	domain_teardown(&br);
	br.be->ops->destroy(br.be);
	memory_fini(&br.mem);
	event_base_free(br.base);
	free(br.rxbuf);
	config_free(br.cfg);
}

/* Feed one encoded datagram through the codec and the dispatch table. */
static uint64_t feed(int c, const void *buf, ssize_t len)
{
	struct vb_msg m;

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(vb_decode(buf, (size_t)len, VB_DIR_TO_BROKER, 1, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(P[c], &m), 0);
	return m.hdr.id;
}

static uint64_t map_n(int c, const struct vb_map_entry *e, uint32_t n)
{
	static uint8_t buf[VB_MSG_MAX_LEN];

	return feed(c, buf, vb_encode_map(buf, sizeof(buf), 1, next_id++, e, n));
}

static uint64_t map1(int c, uint64_t iova, uint64_t gpa, uint64_t npages)
{
	struct vb_map_entry e = { iova, gpa, npages, VB_PROT_READ | VB_PROT_WRITE, 0 };

	return map_n(c, &e, 1);
}

static uint64_t unmap1(int c, uint64_t iova, uint64_t npages)
{
	uint8_t buf[256];
	struct vb_unmap_entry e = { iova, npages };

	return feed(c, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++, &e, 1));
}

static uint64_t simple(int c, uint16_t type)
{
	uint8_t buf[64];

	return feed(c, buf, vb_encode_simple(buf, sizeof(buf), 1, type, next_id++));
}

static void recv_msg(int c, struct vb_msg *m, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(C[c], buf, cap, MSG_DONTWAIT);

	ck_assert_msg(n > 0, "client %d: no reply waiting (%s)", c, strerror(errno));
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 1, 0, m), 0);
}

static void expect(int c, uint64_t id, int status, uint32_t failed,
		   uint64_t pages)
{
	uint8_t buf[256];
	struct vb_reply r;
	struct vb_msg m;

	recv_msg(c, &m, buf, sizeof(buf));
	ck_assert_uint_eq(m.hdr.type, VB_MSG_REPLY);
	ck_assert_int_eq(vb_msg_reply(&m, &r), 0);
	ck_assert_msg(m.hdr.id == id, "client %d: reply for id %llu, expected %llu",
		      c, (unsigned long long)m.hdr.id, (unsigned long long)id);
	ck_assert_int_eq(r.status, status);
	ck_assert_uint_eq(r.failed_index, failed);
	ck_assert_uint_eq(r.pages_done, pages);
}

static void expect_none(int c)
{
	uint8_t buf[64];

	ck_assert_int_lt(recv(C[c], buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert_int_eq(errno, EAGAIN);
}

static uint64_t mapped(unsigned int dom)
{
	struct backend_usage u = { 0 };

	br.be->ops->usage(br.domains[dom].bd, &u);
	return u.mapped_pages;
}

START_TEST(merge_across_clients)
{
	struct vb_map_entry ea[2] = {
		{ WA, 0, 1, 3, 0 }, { WA + 4 * PG, PG, 2, 1, 0 },
	};
	struct vb_map_entry eb[3] = {
		{ WB, 0, 1, 3, 0 }, { WB + PG, 0, 1, 3, 0 }, { WB + 2 * PG, 0, 1, 2, 0 },
	};
	uint64_t ia = map_n(A, ea, 2), ib = map_n(B, eb, 3), iff = map1(F, WA, 0, 5);

	expect_none(A);
	batcher_flush(&br);
	expect(A, ia, 0, VB_NO_INDEX, 3);
	expect(B, ib, 0, VB_NO_INDEX, 3);
	expect(F, iff, 0, VB_NO_INDEX, 5);
	/* one backend call per domain, the shared one carrying 5 entries */
	ck_assert_uint_eq(br.domains[0].stats.batches, 1);
	ck_assert_uint_eq(br.domains[0].stats.batch_entries.max, 5);
	ck_assert_uint_eq(br.domains[1].stats.batches, 1);
	ck_assert_uint_eq(mapped(0), 6);
	ck_assert_uint_eq(mapped(1), 5);
	/* fenced: the same IOVA in the other domain is still free */
	ck_assert_uint_eq(P[A]->stats.batches, 1);
	ck_assert_uint_eq(P[B]->stats.batches, 1);
	ck_assert_uint_eq(P[A]->pages_current, 3);
	ck_assert_uint_eq(br.mapped_now, 11);
	ck_assert_uint_eq(br.peak_pages, 11);
	/* a new peak is noted; its usage is taken only when needed ... */
	ck_assert(br.peak_stale);
	ck_assert_uint_eq(br.peak_usage.mapped_pages, 0);
	/* ... before the set shrinks from it: the usage is the peak's */
	iff = unmap1(F, WA, 2);
	batcher_flush(&br);
	expect(F, iff, 0, VB_NO_INDEX, 2);
	ck_assert_uint_eq(br.mapped_now, 9);
	ck_assert_uint_eq(br.peak_pages, 11);
	ck_assert(!br.peak_stale);
	ck_assert_uint_eq(br.peak_usage.mapped_pages, 11);
	/* below the peak, a reader's sample changes nothing */
	domain_peak_sample(&br);
	ck_assert_uint_eq(br.peak_usage.mapped_pages, 11);
	/* a reader at a new peak takes it then */
	iff = map1(F, WA + 8 * PG, 0, 4);
	batcher_flush(&br);
	expect(F, iff, 0, VB_NO_INDEX, 4);
	ck_assert_uint_eq(br.peak_pages, 13);
	domain_peak_sample(&br);
	ck_assert_uint_eq(br.peak_usage.mapped_pages, 13);
}
END_TEST

/*
 * max_mapped bounds what one client of a shared domain holds, counting
 * its queued MAPs, so it cannot use up a neighbour's room; refusals are
 * EDQUOT at the entry that crosses it, with nothing mapped.
 */
START_TEST(quota_per_device)
{
	struct vb_map_entry two[2] = {
		{ WQ + 8 * PG, 0, 2, 3, 0 }, { WQ + 12 * PG, 0, 2, 3, 0 },
	};
	uint64_t i1, i2;

	i1 = map1(Q, WQ, 0, 5);
	i2 = map_n(Q, two, 2);		/* 5 + 2 fits, + 2 more does not */
	batcher_flush(&br);
	expect(Q, i1, 0, VB_NO_INDEX, 5);
	expect(Q, i2, EDQUOT, 1, 0);
	/* the neighbour in the same domain is not limited by it */
	i1 = map1(B, WB, 0, 20);
	batcher_flush(&br);
	expect(B, i1, 0, VB_NO_INDEX, 20);
	ck_assert_uint_eq(mapped(0), 25);

	/* queued MAPs count: the second of one flush no longer fits */
	i1 = map1(Q, WQ + 8 * PG, 0, 2);
	i2 = map1(Q, WQ + 12 * PG, 0, 2);
	batcher_flush(&br);
	expect(Q, i1, 0, VB_NO_INDEX, 2);
	expect(Q, i2, EDQUOT, 0, 0);

	/* a MAP the backend refuses gives its room back */
	i1 = map1(Q, WQ, 0, 1);
	batcher_flush(&br);
	expect(Q, i1, EEXIST, 0, 0);
	ck_assert_uint_eq(P[Q]->pages_queued, 0);
	i1 = map1(Q, WQ + 20 * PG, 0, 1);
	batcher_flush(&br);
	expect(Q, i1, 0, VB_NO_INDEX, 1);
	ck_assert_uint_eq(P[Q]->pages_current, 8);

	/* full; an UNMAP makes room once it is answered */
	i1 = map1(Q, WQ + 30 * PG, 0, 1);
	i2 = unmap1(Q, WQ, 3);
	batcher_flush(&br);
	expect(Q, i1, EDQUOT, 0, 0);
	expect(Q, i2, 0, VB_NO_INDEX, 3);
	i1 = map1(Q, WQ + 30 * PG, 0, 3);
	batcher_flush(&br);
	expect(Q, i1, 0, VB_NO_INDEX, 3);
	ck_assert_uint_eq(P[Q]->pages_current, 8);
	ck_assert_uint_eq(P[Q]->pages_queued, 0);
	ck_assert_uint_eq(mapped(0), 28);
	ck_assert_uint_eq(P[Q]->stats.errors, 4);
	ck_assert_uint_eq(P[B]->stats.errors, 0);

	/* the clients listing shows each quota in pages */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	stats_print_clients(&br, true, f);
	stats_print_clients(&br, false, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\"device\":4,\"domain\":1,"));
	ck_assert_ptr_nonnull(strstr(out, "\"pages_current\":8,\"quota_pages\":8,"));
	ck_assert_ptr_nonnull(strstr(out, "\"pages_current\":20,\"quota_pages\":0,"));
	ck_assert_ptr_nonnull(strstr(out, "8 page(s) mapped now (quota 8)\n"));
	free(out);
}
END_TEST

START_TEST(retry_isolation)
{
	uint64_t i1, i2, i3, i4, i5;
	struct vb_map_entry two[2] = {
		{ WA + 8 * PG, 0, 1, 3, 0 }, { WA, 0, 1, 3, 0 },
	};

	i1 = map1(A, WA, 0, 1);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);

	/* A's third request collides with its first: only it may fail */
	i1 = map1(A, WA + PG, 0, 1);
	i2 = map1(B, WB, 0, 1);
	i3 = map1(A, WA, 0, 1);
	i4 = map1(B, WB + PG, 0, 2);
	i5 = map_n(A, two, 2);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
	expect(B, i2, 0, VB_NO_INDEX, 1);
	expect(A, i3, EEXIST, 0, 0);
	expect(B, i4, 0, VB_NO_INDEX, 2);
	/* all-or-nothing: entry 1 collides, so entry 0 is not left mapped */
	expect(A, i5, EEXIST, 1, 0);
	ck_assert_uint_eq(mapped(0), 5);
	/* 1 + the failed merged call + 5 retries alone */
	ck_assert_uint_eq(br.domains[0].stats.batches, 7);
	ck_assert_uint_eq(P[B]->stats.errors, 0);
	ck_assert_uint_eq(P[A]->stats.errors, 2);
	/* the page entry 0 of i5 wanted is really free */
	i1 = map1(A, WA + 8 * PG, 0, 1);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
}
END_TEST

START_TEST(order_preserved)
{
	uint64_t a1, a2, a3, b1, b2;

	a1 = map1(A, WA, 0, 1);
	b1 = unmap1(B, WB, 4);		/* nothing there: 0 pages */
	a2 = unmap1(A, WA, 1);
	b2 = map1(B, WB, PG, 1);
	a3 = map1(A, WA, 2 * PG, 1);	/* maps again what a2 unmapped */
	batcher_flush(&br);
	expect(A, a1, 0, VB_NO_INDEX, 1);
	expect(A, a2, 0, VB_NO_INDEX, 1);
	expect(A, a3, 0, VB_NO_INDEX, 1);
	expect_none(A);
	expect(B, b1, 0, VB_NO_INDEX, 0);
	expect(B, b2, 0, VB_NO_INDEX, 1);
	expect_none(B);
	/* runs: [map a1] [unmap b1 a2] [map b2 a3] */
	ck_assert_uint_eq(br.domains[0].stats.batches, 3);
	ck_assert_uint_eq(mapped(0), 2);
	ck_assert_uint_eq(P[A]->pages_current, 1);
	ck_assert_uint_eq(P[B]->stats.pages_unmapped, 0);
}
END_TEST

START_TEST(sync_and_stats_in_order)
{
	uint8_t buf[256];
	struct vb_stats s;
	struct vb_msg m;
	uint64_t i1, i2, i3, i4, i5;

	i1 = map1(A, WA, 0, 10);
	i2 = simple(A, VB_MSG_SYNC);
	i4 = map1(B, WB, 0, 3);
	i3 = simple(A, VB_MSG_STATS);
	i5 = map1(A, WA + 10 * PG, 0, 1);
	expect_none(A);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 10);
	expect(A, i2, 0, VB_NO_INDEX, 0);
	recv_msg(A, &m, buf, sizeof(buf));
	ck_assert_uint_eq(m.hdr.type, VB_MSG_STATS_REPLY);
	ck_assert_uint_eq(m.hdr.id, i3);
	ck_assert_int_eq(vb_msg_stats(&m, &s), 0);
	/*
	 * STATS counts what was answered before it, itself included, and
	 * nothing of the MAP queued after it: not its request, its pages or
	 * its backend call
	 */
	ck_assert_uint_eq(s.pages_current, 10);
	ck_assert_uint_eq(s.pages_mapped, 10);
	ck_assert_uint_eq(s.map_requests, 1);
	ck_assert_uint_eq(s.requests, 3);
	ck_assert_uint_eq(s.batches, 1);
	expect(A, i5, 0, VB_NO_INDEX, 1);
	expect(B, i4, 0, VB_NO_INDEX, 3);
	/* a SYNC does not split the merged MAP, a STATS ends it */
	ck_assert_uint_eq(br.domains[0].stats.batches, 2);
	ck_assert_uint_eq(P[A]->stats.batches, 2);
	ck_assert_uint_eq(P[A]->stats.requests, 4);
	/* a SYNC alone is answered at the next flush */
	i1 = simple(B, VB_MSG_SYNC);
	expect_none(B);
	batcher_flush(&br);
	expect(B, i1, 0, VB_NO_INDEX, 0);
}
END_TEST

START_TEST(refused_in_place)
{
	struct vb_map_entry big[65];
	uint64_t i1, i2, i3, i4, i5, i6;

	for (int i = 0; i < 65; i++)
		big[i] = (struct vb_map_entry){ WA + 0x80000 + (uint64_t)i * PG, 0, 1, 3, 0 };
	i1 = map1(A, WA, 0, 1);
	i2 = map1(A, WB, 0, 1);			/* B's window: ERANGE */
	i3 = map1(A, WA + PG, 16ull << 20, 1);	/* past RAM: EFAULT */
	i4 = map_n(A, big, 65);			/* max_entries 64: E2BIG */
	i5 = map1(A, WA + 2 * PG, 0, 0);	/* npages 0: EINVAL */
	i6 = map1(A, WA + 3 * PG, 0, 1);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
	expect(A, i2, ERANGE, 0, 0);
	expect(A, i3, EFAULT, 0, 0);
	expect(A, i4, E2BIG, VB_NO_INDEX, 0);
	expect(A, i5, EINVAL, 0, 0);
	expect(A, i6, 0, VB_NO_INDEX, 1);
	/* the refused ones never reached the backend */
	ck_assert_uint_eq(br.domains[0].stats.batches, 1);
	ck_assert_uint_eq(br.domains[0].stats.errors, 4);

	/* several bad entries: the first one names the error and the index */
	struct vb_map_entry two_bad[3] = {
		{ WA + 4 * PG, 0, 1, 3, 0 },
		{ WA + 5 * PG + 1, 0, 1, 3, 0 },	/* unaligned: EINVAL */
		{ WB, 0, 1, 3, 0 },			/* B's window: ERANGE */
	};

	i1 = map_n(A, two_bad, 3);
	batcher_flush(&br);
	expect(A, i1, EINVAL, 1, 0);
	ck_assert_uint_eq(mapped(0), 2);
	ck_assert_uint_eq(mapped(1), 0);
}
END_TEST

/* A: pages 0 and 2 of its window; B: 3 pages. Their replies are dropped. */
static void map_five_pages(void)
{
	map1(A, WA, 0, 1);
	map1(A, WA + 2 * PG, 0, 1);
	map1(B, WB, 0, 3);
	batcher_flush(&br);
	for (int c = 0; c < 2; c++)
		while (recv(C[c], br.rxbuf, VB_MSG_MAX_LEN, MSG_DONTWAIT) > 0)
			;
}

START_TEST(merged_unmap_counts_per_request)
{
	uint64_t i1, i2;

	map_five_pages();
	i1 = unmap1(A, WA, 4);	/* 2 of 4 pages mapped */
	i2 = unmap1(B, WB, 3);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 2);
	expect(B, i2, 0, VB_NO_INDEX, 3);
	ck_assert_uint_eq(br.domains[0].stats.batches, 2);
	ck_assert_uint_eq(mapped(0), 0);
	ck_assert_uint_eq(br.mapped_now, 0);
	ck_assert_uint_eq(br.peak_pages, 5);
}
END_TEST

/* The sim's ops, but unmap never fills per-entry counts (like v3 on holes). */
static struct backend_ops no_entry_ops;
static int (*sim_unmap)(struct backend_domain *, const struct backend_unmap_entry *,
			size_t, struct backend_result *);

static int unmap_without_entry_pages(struct backend_domain *d,
				     const struct backend_unmap_entry *e,
				     size_t n, struct backend_result *res)
{
	uint64_t *keep = res->entry_pages;
	int ret;

	res->entry_pages = NULL;
	ret = sim_unmap(d, e, n, res);
	res->entry_pages = keep;
	return ret;
}

static uint64_t reply_pages(int c, uint64_t id)
{
	uint8_t buf[256];
	struct vb_reply r;
	struct vb_msg m;

	recv_msg(c, &m, buf, sizeof(buf));
	ck_assert_uint_eq(m.hdr.id, id);
	ck_assert_int_eq(vb_msg_reply(&m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	return r.pages_done;
}

START_TEST(merged_unmap_without_entry_counts)
{
	uint64_t i1, i2;

	no_entry_ops = *br.be->ops;
	sim_unmap = no_entry_ops.unmap;
	no_entry_ops.unmap = unmap_without_entry_pages;
	br.be->ops = &no_entry_ops;

	i1 = map1(A, WA, 0, 2);
	i2 = map1(B, WB, 0, 3);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 2);
	expect(B, i2, 0, VB_NO_INDEX, 3);
	/* no holes: each request's count is exact without per-entry data */
	i1 = unmap1(A, WA, 2);
	i2 = unmap1(B, WB, 3);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 2);
	expect(B, i2, 0, VB_NO_INDEX, 3);
	/* holes: only the total is known, and it is kept exact */
	map1(A, WA, 0, 1);
	map1(B, WB, 0, 1);
	batcher_flush(&br);
	reply_pages(A, 5);
	reply_pages(B, 6);
	i1 = unmap1(A, WA, 4);
	i2 = unmap1(B, WB, 4);
	batcher_flush(&br);
	ck_assert_uint_eq(reply_pages(A, i1) + reply_pages(B, i2), 2);
	ck_assert_uint_eq(br.domains[0].stats.pages_unmapped, 7);
	ck_assert_uint_eq(br.mapped_now, 0);
	ck_assert_uint_eq(mapped(0), 0);
}
END_TEST

/*
 * The sim's ops, but an unmap entry at BAD fails as type1 does when
 * dma_entry_limit stops it splitting a run: the entries before it are
 * unmapped and counted, the failing one and the rest are not.
 */
#define BAD	(WB + 16 * PG)
static struct backend_ops failing_ops;

static bool bad_names_index = true;
static bool bad_partial;	/* the failing entry unmaps its first page */
/*
 * The failing entry's pages all come off, then it fails, once: a split
 * run whose remainder went back neither cut nor whole. Issued again, the
 * entry finds holes and succeeds.
 */
static bool bad_once, bad_once_done;

/*
 * With bad_names_index false the backend names no failing entry and
 * leaves the counts from the failing entry on unset, as a backend that
 * stopped without knowing where would.
 */
static int unmap_failing_at_bad(struct backend_domain *d,
				const struct backend_unmap_entry *e,
				size_t n, struct backend_result *res)
{
	size_t k = 0;
	int ret = 0;

	while (k < n && e[k].iova != BAD)
		k++;
	if (k == n || (bad_once && bad_once_done))
		return sim_unmap(d, e, n, res);
	res->pages_done = 0;
	if (k)
		ret = sim_unmap(d, e, k, res);
	ck_assert_int_eq(ret, 0);
	for (size_t i = k; bad_names_index && res->entry_pages && i < n; i++)
		res->entry_pages[i] = 0;
	if (bad_partial || bad_once) {
		/* the failing entry got as far as its first page, or all */
		struct backend_unmap_entry first = { BAD,
						     bad_once ? e[k].npages : 1 };
		struct backend_result sub = { .entry_pages = NULL };

		ck_assert_int_eq(sim_unmap(d, &first, 1, &sub), 0);
		res->pages_done += sub.pages_done;
		if (res->entry_pages)
			res->entry_pages[k] = sub.pages_done;
	}
	res->failed_index = bad_names_index ? (uint32_t)k : VB_NO_INDEX;
	bad_once_done = true;
	return -ENOSPC;
}

/* From here on the backend's unmap is unmap_failing_at_bad(). */
static void fail_unmaps_at_bad(void)
{
	failing_ops = *br.be->ops;
	sim_unmap = failing_ops.unmap;
	failing_ops.unmap = unmap_failing_at_bad;
	br.be->ops = &failing_ops;
}

/*
 * A merged UNMAP that fails part-way, at B's second entry, with a backend
 * that names the failing entry or not: each request is answered as if it
 * had been issued alone, with the pages it did unmap (before, the ones
 * the merged call unmapped were lost from every count).
 */
static void merged_unmap_failing(bool names_index)
{
	struct vb_unmap_entry be[2] = { { WB, 3 }, { BAD, 1 } };
	uint8_t buf[256];
	uint64_t i1, i2, i3;

	fail_unmaps_at_bad();
	bad_names_index = names_index;

	map_five_pages();
	ck_assert_uint_eq(br.mapped_now, 5);
	i1 = unmap1(A, WA, 1);
	i2 = feed(B, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++, be, 2));
	i3 = unmap1(A, WA + 2 * PG, 1);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
	expect(B, i2, ENOSPC, names_index ? 1 : VB_NO_INDEX, 3);
	expect(A, i3, 0, VB_NO_INDEX, 1);
	ck_assert_uint_eq(mapped(0), 0);
	ck_assert_uint_eq(br.mapped_now, 0);
	ck_assert_uint_eq(P[A]->pages_current, 0);
	ck_assert_uint_eq(P[B]->pages_current, 0);
	ck_assert_uint_eq(br.domains[0].stats.pages_unmapped, 5);
	ck_assert_uint_eq(P[B]->stats.errors, 1);
	bad_names_index = true;
}

START_TEST(merged_unmap_fails_part_way)
{
	struct vb_unmap_entry be[2] = { { WB, 3 }, { BAD, 1 } };
	uint8_t buf[256];
	uint64_t i2;

	merged_unmap_failing(true);
	/* alone, the same failure keeps its count too */
	map1(B, WB, 0, 2);
	batcher_flush(&br);
	expect(B, next_id - 1, 0, VB_NO_INDEX, 2);
	i2 = feed(B, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++, be, 2));
	batcher_flush(&br);
	expect(B, i2, ENOSPC, 1, 2);
	ck_assert_uint_eq(br.mapped_now, 0);
	ck_assert_uint_eq(P[B]->stats.pages_unmapped, 5);
}
END_TEST

/* The backend's counts say how far it got when it names no entry. */
START_TEST(merged_unmap_fails_without_index)
{
	merged_unmap_failing(false);
}
END_TEST

/* map_five_pages(), and B's @n pages at BAD (maps do not fail here). */
static void map_five_and_bad(uint64_t n)
{
	uint64_t id;

	map_five_pages();
	id = map1(B, BAD, 0, n);
	batcher_flush(&br);
	expect(B, id, 0, VB_NO_INDEX, n);
}

/*
 * The failing entry itself unmapped a page before it failed: that page
 * is a hole now, so the request is credited with it (and B gets 3 + 1)
 * before it is issued again alone.
 */
START_TEST(merged_unmap_failing_entry_partly_done)
{
	struct vb_unmap_entry be[2] = { { WB, 3 }, { BAD, 2 } };
	uint8_t buf[256];
	uint64_t i1, i2;

	fail_unmaps_at_bad();
	bad_partial = true;

	map_five_and_bad(1);
	i1 = unmap1(A, WA, 1);
	i2 = feed(B, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++, be, 2));
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
	expect(B, i2, ENOSPC, 1, 4);
	ck_assert_uint_eq(P[B]->pages_current, 0);
	ck_assert_uint_eq(br.mapped_now, 1);	/* A's page 2 */
	bad_partial = false;
}
END_TEST

/*
 * The failing entry's range is all holes after the failure: issued again
 * alone, B's request would succeed and be answered 0 (it was, before),
 * though B alone would have got the failure. It gets it, with its pages,
 * and A's later request still runs.
 */
START_TEST(merged_unmap_failure_not_lost_on_retry)
{
	struct vb_unmap_entry be[2] = { { WB, 3 }, { BAD, 2 } };
	uint8_t buf[256];
	uint64_t i1, i2, i3;

	fail_unmaps_at_bad();
	bad_once = true;
	bad_once_done = false;

	map_five_and_bad(2);
	i1 = unmap1(A, WA, 1);
	i2 = feed(B, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++, be, 2));
	i3 = unmap1(A, WA + 2 * PG, 1);
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 1);
	expect(B, i2, ENOSPC, 1, 5);
	expect(A, i3, 0, VB_NO_INDEX, 1);
	ck_assert(bad_once_done);
	ck_assert_uint_eq(P[B]->stats.errors, 1);
	ck_assert_uint_eq(P[B]->pages_current, 0);
	ck_assert_uint_eq(P[A]->pages_current, 0);
	ck_assert_uint_eq(br.mapped_now, 0);
	ck_assert_uint_eq(mapped(0), 0);
	/* two maps, the merged unmap and A's alone; B's is not issued again */
	ck_assert_uint_eq(br.domains[0].stats.batches, 4);
	bad_once = false;
}
END_TEST

/*
 * A merged call never carries more than BATCHER_MAX_MERGE entries (the
 * size of the scratch arrays): more queued requests than that take two
 * backend calls, and every one is answered.
 */
START_TEST(merge_bounded)
{
	static struct vb_unmap_entry e[64];
	static uint8_t buf[VB_MSG_MAX_LEN];
	const unsigned int nreq = BATCHER_MAX_MERGE / 64 + 2;
	uint64_t first = next_id;

	for (unsigned int i = 0; i < 64; i++)
		e[i] = (struct vb_unmap_entry){ WA + i * PG, 1 };
	for (unsigned int i = 0; i < nreq; i++)
		feed(A, buf, vb_encode_unmap(buf, sizeof(buf), 1, next_id++,
					     e, 64));
	ck_assert_uint_eq(br.domains[0].n_pending, nreq);
	batcher_flush(&br);
	ck_assert_uint_eq(br.domains[0].stats.batches, 2);
	ck_assert_uint_eq(br.domains[0].stats.batch_entries.max,
			  BATCHER_MAX_MERGE);
	for (unsigned int i = 0; i < nreq; i++)
		expect(A, first + i, 0, VB_NO_INDEX, 0);
}
END_TEST

/*
 * batcher_drop_peer() takes a closing client's queued requests out of
 * its domain's queue, so none is issued for it and nothing keeps
 * pointing at the peer once it is freed.
 */
START_TEST(drop_peer_dequeues)
{
	uint64_t ib;

	map1(A, WA, 0, 2);
	map1(A, WA + 4 * PG, 0, 1);
	ib = map1(B, WB, 0, 3);
	ck_assert_uint_eq(br.domains[0].n_pending, 3);
	batcher_drop_peer(&br, P[A]);
	ck_assert_uint_eq(br.domains[0].n_pending, 1);
	batcher_flush(&br);
	expect(B, ib, 0, VB_NO_INDEX, 3);
	expect_none(A);
	ck_assert_uint_eq(br.domains[0].stats.batches, 1);
	ck_assert_uint_eq(mapped(0), 3);
}
END_TEST

static int noise_calls;

static void noise_cb(evutil_socket_t fd, short what, void *base)
{
	(void)fd;
	(void)what;
	if (++noise_calls == 1000)
		event_base_loopbreak(base);
}

/*
 * Socket events that keep coming (here a pipe never read, so always
 * readable: a client connecting and closing in a loop) must not hold the
 * flush back: it runs in the loop iteration that queued the request.
 */
START_TEST(flush_not_held_back_by_socket_events)
{
	struct event *noise;
	uint64_t id;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	noise = event_new(br.base, fds[0], EV_READ | EV_PERSIST, noise_cb, br.base);
	ck_assert_ptr_nonnull(noise);
	/* the highest priority, should the base ever get more than one */
	ck_assert_int_eq(event_priority_set(noise, 0), 0);
	ck_assert_int_eq(event_add(noise, NULL), 0);
	noise_calls = 0;
	id = map1(A, WA, 0, 1);
	ck_assert_int_eq(event_base_loop(br.base, EVLOOP_ONCE), 0);
	ck_assert_int_lt(noise_calls, 1000);
	expect(A, id, 0, VB_NO_INDEX, 1);
	event_free(noise);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(dead_peer_skipped)
{
	uint64_t i1;

	i1 = map1(A, WA, 0, 2);
	map1(B, WB, 0, 3);
	map1(B, WB + 1, 0, 1);	/* refused (unaligned), never answered */
	peer_fail(P[B], "test");
	batcher_flush(&br);
	expect(A, i1, 0, VB_NO_INDEX, 2);
	expect_none(B);
	ck_assert_uint_eq(mapped(0), 2);
	/* what B never got back is neither an error nor a latency */
	ck_assert_uint_eq(br.domains[0].stats.errors, 0);
	ck_assert_uint_eq(br.domains[0].stats.latency_us.count, 1);
}
END_TEST

START_TEST(cleanup_on_close)
{
	map1(A, WA, 0, 4);
	map1(A, WA + 0x10000, 0, 3);
	map1(B, WB, 0, 5);
	map1(F, WA, 0, 2);
	batcher_flush(&br);
	ck_assert_uint_eq(mapped(0), 12);
	/* a request still queued when A goes away is dropped, not issued */
	map1(A, WA + 0x20000, 0, 1);
	peer_fail(P[A], "test");
	ck_assert_int_eq(event_base_loop(br.base, EVLOOP_NONBLOCK), 0);
	P[A] = NULL;
	ck_assert_ptr_null(br.devices[0].owner);
	/* only A's pages are gone: B and the fenced domain are untouched */
	ck_assert_uint_eq(mapped(0), 5);
	ck_assert_uint_eq(mapped(1), 2);
	ck_assert_uint_eq(br.domains[0].n_pending, 0);
	ck_assert_uint_eq(br.domains[0].stats.pages_released, 7);
	ck_assert_uint_eq(br.mapped_now, 7);
}
END_TEST

START_TEST(throttle_at_window)
{
	/* window = 8: the 8th outstanding request stops reading */
	for (int i = 0; i < 7; i++)
		map1(A, WA + (uint64_t)i * PG, 0, 1);
	ck_assert(P[A]->reading);
	map1(A, WA + 7 * PG, 0, 1);
	ck_assert(!P[A]->reading);
	ck_assert_uint_eq(P[A]->pending, 8);
	batcher_flush(&br);
	ck_assert_uint_eq(P[A]->pending, 0);
	ck_assert(P[A]->reading);
	for (int i = 0; i < 8; i++)
		expect(A, (uint64_t)i + 1, 0, VB_NO_INDEX, 1);
}
END_TEST

START_TEST(state_table)
{
	uint8_t buf[64];
	struct vb_hello h = { 1, 1, VB_DEVICE_ANY, 0, 0 };
	struct vb_msg m;
	ssize_t n = vb_encode_hello(buf, sizeof(buf), 9, &h);

	/* HELLO after WELCOME is a protocol violation (the codec already
	 * refuses it under a negotiated version; the table must too) */
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(P[A], &m), -EPROTO);
	/* MAP before HELLO is one too */
	P[B]->state = PEER_NEW;
	n = vb_encode_simple(buf, sizeof(buf), 1, VB_MSG_SYNC, 3);
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 1, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(P[B], &m), -EPROTO);
}
END_TEST

static Suite *batcher_suite(void)
{
	Suite *s = suite_create("batcher");
	TCase *tc = tcase_create("flush");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, merge_across_clients);
	tcase_add_test(tc, retry_isolation);
	tcase_add_test(tc, quota_per_device);
	tcase_add_test(tc, order_preserved);
	tcase_add_test(tc, sync_and_stats_in_order);
	tcase_add_test(tc, refused_in_place);
	tcase_add_test(tc, merged_unmap_counts_per_request);
	tcase_add_test(tc, merged_unmap_without_entry_counts);
	tcase_add_test(tc, merged_unmap_fails_part_way);
	tcase_add_test(tc, merged_unmap_fails_without_index);
	tcase_add_test(tc, merged_unmap_failing_entry_partly_done);
	tcase_add_test(tc, merged_unmap_failure_not_lost_on_retry);
	tcase_add_test(tc, merge_bounded);
	tcase_add_test(tc, drop_peer_dequeues);
	tcase_add_test(tc, flush_not_held_back_by_socket_events);
	tcase_add_test(tc, dead_peer_skipped);
	tcase_add_test(tc, cleanup_on_close);
	tcase_add_test(tc, throttle_at_window);
	tcase_add_test(tc, state_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(batcher_suite());
}
