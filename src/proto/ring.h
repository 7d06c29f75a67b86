/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shared ring's two single-producer, single-consumer queues (layout in
 * vfio-broker/proto.h), over memory the caller has mapped. No I/O, no
 * allocation: the caller owns the mapping and the socket that carries the
 * KICK and WAKE datagrams.
 *
 * Each side keeps its own indices in struct vb_ring and only ever publishes
 * them; it reads the other side's from the shared header, and treats a
 * value that would put more than nslots messages in flight as a protocol
 * violation (-EPROTO). Nothing else of the shared header is read after
 * attaching: the broker attaches with the layout it chose itself, never
 * with what the shared copy says now.
 */
#ifndef VB_PROTO_RING_H
#define VB_PROTO_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfio-broker/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vb_ring_side {
	VB_RING_CLIENT,	/* sends on the request queue, receives replies */
	VB_RING_BROKER,	/* receives requests, sends replies */
};

struct vb_ring {
	uint8_t *base;		/* NULL: no ring attached */
	struct vb_ring_layout layout;
	enum vb_ring_side side;
	uint32_t tx_pos;	/* our producer index (sq_tail or cq_tail) */
	uint32_t rx_pos;	/* our consumer index (cq_head or sq_head) */
};

/*
 * The layout for a window of @window requests of up to @max_entries
 * entries: -EINVAL when either is 0 or above the protocol's caps.
 */
int vb_ring_geometry(uint32_t window, uint32_t max_entries,
		     struct vb_ring_layout *out);
/* Check a layout against the size of the mapping it came in. */
int vb_ring_check(const struct vb_ring_layout *l, uint64_t size);
/* Broker: write the header of a fresh, zeroed mapping. */
void vb_ring_format(void *mem, const struct vb_ring_layout *l);
/* Start using @mem (already checked against @l) as @side. */
void vb_ring_attach(struct vb_ring *r, void *mem,
		    const struct vb_ring_layout *l, enum vb_ring_side side);

/*
 * Queue one message of @len bytes. -EAGAIN when the queue is full,
 * -EMSGSIZE when it does not fit a slot, -EPROTO when the consumer's index
 * is impossible.
 */
int vb_ring_send(struct vb_ring *r, const void *msg, uint32_t len);
/*
 * Copy the next message into @buf and free its slot. Returns its length;
 * -EAGAIN when nothing is queued, -EPROTO when the producer's index or the
 * slot's length is impossible (or the message exceeds @cap).
 */
ssize_t vb_ring_recv(struct vb_ring *r, void *buf, size_t cap);
/* Nonzero when vb_ring_recv() has something to say: a message, or that
 * the producer's index is impossible. */
uint32_t vb_ring_readable(const struct vb_ring *r);
/* Our sent messages the other side has not taken yet; -EPROTO if its
 * index is impossible. */
int vb_ring_unread(const struct vb_ring *r);

/*
 * Sleeping. vb_ring_set_idle(r, true) before checking the queue a last
 * time and blocking; vb_ring_clear_idle() after, which returns true when
 * the other side took the word meanwhile (so one KICK/WAKE is on its way
 * and must be read). vb_ring_take_peer_idle() after publishing: true
 * means the other side sleeps and wants one KICK/WAKE.
 */
void vb_ring_set_idle(struct vb_ring *r);
bool vb_ring_clear_idle(struct vb_ring *r);
bool vb_ring_take_peer_idle(struct vb_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* VB_PROTO_RING_H */
