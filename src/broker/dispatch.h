/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a client may do, and when: a table per message type gives the
 * handler and the peer states in which the message is allowed (HELLO only
 * while NEW; MAP, UNMAP, SYNC, STATS only once WELCOME has been sent). A
 * message outside its states is a protocol violation. Handlers re-check the
 * meaning of every argument (device, permission, entries via policy.c) and
 * answer problems with an errno reply, not a disconnect.
 */
#ifndef VB_BROKER_DISPATCH_H
#define VB_BROKER_DISPATCH_H

#include "broker/peer.h"
#include "proto/codec.h"

/* Returns 0, or -errno for a protocol violation (the caller drops @p). */
int dispatch_message(struct peer *p, const struct vb_msg *m);

#endif /* VB_BROKER_DISPATCH_H */
