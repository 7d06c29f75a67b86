// SPDX-License-Identifier: BSD-3-Clause
/*
 * Shared ring queues (design in ring.h, layout in vfio-broker/proto.h).
 *
 * The other side of the ring may be hostile (the broker's view of a
 * client) and may write anything at any time into the shared pages. So:
 * its index is loaded once per call and judged only as a distance from our
 * own private index; a slot's length is loaded once and bounded before
 * anything is copied; and the message is copied out before anyone looks
 * at it, so what the codec decodes cannot change under it.
 */
#include "proto/ring.h"

#include <errno.h>
#include <string.h>

#define RING_SLOT_HDR		8u	/* uint32_t length + padding */
#define RING_ALIGN		64u
#define RING_PAGE		4096u
#define RING_MAX_SLOTS		65536u

_Static_assert(sizeof(struct vb_ring_layout) == 64, "vb_ring_layout layout");
_Static_assert(sizeof(struct vb_ring_word) == 64, "vb_ring_word layout");
_Static_assert(sizeof(struct vb_ring_hdr) == 7 * 64, "vb_ring_hdr layout");

static uint64_t ring_round(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

static uint32_t ring_sq_slot(uint32_t max_entries)
{
	return (uint32_t)ring_round(RING_SLOT_HDR + sizeof(struct vb_hdr) +
				    sizeof(struct vb_batch) +
				    (uint64_t)max_entries *
				    sizeof(struct vb_map_entry), RING_ALIGN);
}

/* The largest reply is a STATS_REPLY. */
static uint32_t ring_cq_slot(void)
{
	return (uint32_t)ring_round(RING_SLOT_HDR + sizeof(struct vb_hdr) +
				    sizeof(struct vb_stats), RING_ALIGN);
}

int vb_ring_geometry(uint32_t window, uint32_t max_entries,
		     struct vb_ring_layout *out)
{
	uint32_t n = 1;

	if (!window || window > RING_MAX_SLOTS || !max_entries ||
	    max_entries > VB_MAX_ENTRIES_HARD)
		return -EINVAL;
	while (n < window)
		n <<= 1;
	memset(out, 0, sizeof(*out));
	out->magic = VB_RING_MAGIC;
	out->nslots = n;
	out->sq_slot = ring_sq_slot(max_entries);
	out->cq_slot = ring_cq_slot();
	out->sq_off = ring_round(sizeof(struct vb_ring_hdr), RING_PAGE);
	out->cq_off = out->sq_off + (uint64_t)n * out->sq_slot;
	out->size = ring_round(out->cq_off + (uint64_t)n * out->cq_slot,
			       RING_PAGE);
	return 0;
}

/* The size vb_ring_geometry() gives the largest window and entries. */
static uint64_t ring_max_size(void)
{
	struct vb_ring_layout l;

	vb_ring_geometry(RING_MAX_SLOTS, VB_MAX_ENTRIES_HARD, &l);
	return l.size;
}

int vb_ring_check(const struct vb_ring_layout *l, uint64_t size)
{
	uint64_t sq_end, cq_end;

	if (l->magic != VB_RING_MAGIC || !l->nslots ||
	    l->nslots > RING_MAX_SLOTS || (l->nslots & (l->nslots - 1)))
		return -EPROTO;
	if (l->sq_slot % RING_ALIGN || l->cq_slot % RING_ALIGN ||
	    l->sq_slot < RING_SLOT_HDR + sizeof(struct vb_hdr) ||
	    l->sq_slot > ring_sq_slot(VB_MAX_ENTRIES_HARD) ||
	    l->cq_slot < ring_cq_slot() ||
	    l->cq_slot > ring_sq_slot(VB_MAX_ENTRIES_HARD))
		return -EPROTO;
	/*
	 * Every term is bounded above (@size by the largest ring any
	 * geometry makes: a client takes it from the header it checks), so
	 * none of the sums can wrap.
	 */
	if (size > ring_max_size() ||
	    l->sq_off % RING_ALIGN || l->cq_off % RING_ALIGN ||
	    l->sq_off < sizeof(struct vb_ring_hdr) || l->sq_off > size ||
	    l->cq_off > size)
		return -EPROTO;
	sq_end = l->sq_off + (uint64_t)l->nslots * l->sq_slot;
	cq_end = l->cq_off + (uint64_t)l->nslots * l->cq_slot;
	if (l->cq_off < sq_end || cq_end > size || l->size != size)
		return -EPROTO;
	return 0;
}

void vb_ring_format(void *mem, const struct vb_ring_layout *l)
{
	struct vb_ring_hdr *h = mem;

	memset(h, 0, sizeof(*h));
	h->layout = *l;
}

void vb_ring_attach(struct vb_ring *r, void *mem,
		    const struct vb_ring_layout *l, enum vb_ring_side side)
{
	memset(r, 0, sizeof(*r));
	r->base = mem;
	r->layout = *l;
	r->side = side;
}

static bool ring_client(const struct vb_ring *r)
{
	return r->side == VB_RING_CLIENT;
}

static struct vb_ring_hdr *ring_hdr(const struct vb_ring *r)
{
	return (struct vb_ring_hdr *)r->base;
}

/* The queue we produce into: requests for the client, replies for us. */
static uint32_t *ring_tx_tail(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->sq_tail.v : &ring_hdr(r)->cq_tail.v;
}

static uint32_t *ring_tx_head(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->sq_head.v : &ring_hdr(r)->cq_head.v;
}

static uint32_t *ring_rx_tail(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->cq_tail.v : &ring_hdr(r)->sq_tail.v;
}

static uint32_t *ring_rx_head(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->cq_head.v : &ring_hdr(r)->sq_head.v;
}

static uint8_t *ring_slot(const struct vb_ring *r, bool sq, uint32_t pos)
{
	const struct vb_ring_layout *l = &r->layout;
	uint32_t i = pos & (l->nslots - 1);

	return r->base + (sq ? l->sq_off + (uint64_t)i * l->sq_slot :
			       l->cq_off + (uint64_t)i * l->cq_slot);
}

int vb_ring_unread(const struct vb_ring *r)
{
	uint32_t used = r->tx_pos -
			__atomic_load_n(ring_tx_head(r), __ATOMIC_ACQUIRE);

	return used > r->layout.nslots ? -EPROTO : (int)used;
}

int vb_ring_send(struct vb_ring *r, const void *msg, uint32_t len)
{
	bool sq = ring_client(r);
	uint32_t slot = sq ? r->layout.sq_slot : r->layout.cq_slot;
	int used = vb_ring_unread(r);
	uint8_t *s;

	if (used < 0)
		return used;
	if ((uint32_t)used == r->layout.nslots)
		return -EAGAIN;
	if (len > slot - RING_SLOT_HDR)
		return -EMSGSIZE;
	s = ring_slot(r, sq, r->tx_pos);
	__atomic_store_n((uint32_t *)s, len, __ATOMIC_RELAXED);
	memcpy(s + RING_SLOT_HDR, msg, len);
	r->tx_pos++;
	__atomic_store_n(ring_tx_tail(r), r->tx_pos, __ATOMIC_RELEASE);
	return 0;
}

uint32_t vb_ring_readable(const struct vb_ring *r)
{
	return __atomic_load_n(ring_rx_tail(r), __ATOMIC_ACQUIRE) - r->rx_pos;
}

ssize_t vb_ring_recv(struct vb_ring *r, void *buf, size_t cap)
{
	bool sq = !ring_client(r);
	uint32_t slot = sq ? r->layout.sq_slot : r->layout.cq_slot;
	uint32_t avail = vb_ring_readable(r), len;
	const uint8_t *s;

	if (!avail)
		return -EAGAIN;
	if (avail > r->layout.nslots)
		return -EPROTO;
	s = ring_slot(r, sq, r->rx_pos);
	len = __atomic_load_n((const uint32_t *)s, __ATOMIC_RELAXED);
	if (len > slot - RING_SLOT_HDR || len > cap)
		return -EPROTO;
	memcpy(buf, s + RING_SLOT_HDR, len);
	r->rx_pos++;
	__atomic_store_n(ring_rx_head(r), r->rx_pos, __ATOMIC_RELEASE);
	return (ssize_t)len;
}

static uint32_t *ring_own_idle(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->client_idle.v :
				&ring_hdr(r)->broker_idle.v;
}

static uint32_t *ring_peer_idle(const struct vb_ring *r)
{
	return ring_client(r) ? &ring_hdr(r)->broker_idle.v :
				&ring_hdr(r)->client_idle.v;
}

/*
 * The pairing that makes sleeping safe: one side stores its idle word and
 * then reads the queue, the other writes the queue and then reads the idle
 * word, each with a full barrier in between, so at least one of them sees
 * the other's store: a published message is either found by the last
 * check or announced with a datagram.
 */
void vb_ring_set_idle(struct vb_ring *r)
{
	__atomic_store_n(ring_own_idle(r), 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool vb_ring_clear_idle(struct vb_ring *r)
{
	return __atomic_exchange_n(ring_own_idle(r), 0, __ATOMIC_SEQ_CST) == 0;
}

bool vb_ring_take_peer_idle(struct vb_ring *r)
{
	uint32_t *w = ring_peer_idle(r);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* read first: a write would pull the line away from the other side
	 * on every message while it is awake */
	if (!__atomic_load_n(w, __ATOMIC_RELAXED))
		return false;
	return __atomic_exchange_n(w, 0, __ATOMIC_SEQ_CST) != 0;
}
