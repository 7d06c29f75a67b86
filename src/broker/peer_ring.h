/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A client's shared ring, broker side (layout in vfio-broker/proto.h,
 * queues in proto/ring.h): created at HELLO when the client asks for one
 * and the configuration allows it, drained by the event loop on every
 * pass, and where that client's replies go. Under polling neither side
 * makes a system call per request; a sleeping side is woken by one KICK
 * or WAKE datagram on the socket.
 */
#ifndef VB_BROKER_PEER_RING_H
#define VB_BROKER_PEER_RING_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/peer.h"

/* Create and map @p's ring; returns its memfd (kept in @p, closed with it)
 * or a negative errno (the client then uses the socket). */
int peer_ring_create(struct peer *p);
void peer_ring_destroy(struct peer *p);
/* Queue an encoded reply, and WAKE the client if it sleeps. */
void peer_ring_reply(struct peer *p, const void *buf, size_t len);
/* Take what the rings hold, within each client's window; returns how
 * many messages were taken, and in *@live whether any ring is in use. */
unsigned int peer_ring_poll(struct broker *b, bool *live);
/*
 * The loop is about to block: tell every ring so, and check them once
 * more. false when one holds work after all: the loop must not block,
 * and the announcement is already withdrawn; after a true, the loop calls
 * peer_ring_awake() once it wakes.
 */
bool peer_ring_sleep(struct broker *b);
void peer_ring_awake(struct broker *b);

#endif /* VB_BROKER_PEER_RING_H */
