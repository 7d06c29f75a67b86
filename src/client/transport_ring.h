/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client transport over a shared ring (layout in vfio-broker/proto.h):
 * after a request is queued, a KICK datagram when the broker sleeps; to
 * wait for replies, spin on the ring and then sleep on the socket until
 * the broker's WAKE. Knows the ring, the socket and those two datagrams,
 * nothing of what the requests say.
 */
#ifndef VB_CLIENT_TRANSPORT_RING_H
#define VB_CLIENT_TRANSPORT_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"

/* After vb_ring_send(): KICK the broker if it announced it sleeps. */
int transport_ring_kick(int fd, struct vb_ring *r, uint16_t version,
			int timeout_ms);

/*
 * Wait until the ring holds a reply: spin up to @spin_us first, then sleep
 * up to @timeout_ms (-1: forever). 0 when there is one, -EAGAIN when
 * there is none in time, -EPIPE when the broker hung up with nothing left
 * in the ring, -EPROTO for a datagram other than an expected WAKE.
 *
 * With @armed and @timeout_ms 0, a wait that finds nothing leaves the idle
 * word set and *@armed true: the caller is about to sleep on the socket in
 * its own event loop, and the broker's next reply must make it readable
 * with a WAKE. transport_ring_disarm() takes the word back (reading that
 * WAKE if it was sent) before the ring is read again.
 *
 * A WAKE the broker owes (it took the idle word) is read waiting at most
 * @wake_ms (-1: forever): -ETIMEDOUT when it does not come.
 */
int transport_ring_wait(int fd, struct vb_ring *r, uint16_t version,
			int timeout_ms, unsigned int spin_us, bool *armed,
			int wake_ms);
int transport_ring_disarm(int fd, struct vb_ring *r, uint16_t version,
			  bool *armed, int wake_ms);

#endif /* VB_CLIENT_TRANSPORT_RING_H */
