/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The batcher collects the requests that arrive from all clients during
 * one event-loop iteration and issues them at a flush event that runs after
 * the iteration's socket callbacks, i.e. once the loop has read what was
 * ready. At the flush, per domain and in arrival order, consecutive
 * requests of the same operation (MAP or UNMAP), from any number of
 * clients, become one backend call. SYNC, STATS and requests already
 * refused by policy ride along in their place and are answered in order,
 * after everything before them has been applied.
 *
 * A merged MAP is all-or-nothing in the backend, so when it fails the
 * batcher re-issues each request of the run alone: only the request that
 * really collides gets the error, the others succeed as if they had been
 * sent alone.
 */
#ifndef VB_BROKER_BATCHER_H
#define VB_BROKER_BATCHER_H

#include <stdint.h>
#include <sys/queue.h>

#include "broker/broker.h"

/* Upper bound on the entries merged into one backend call. */
#define BATCHER_MAX_MERGE	(4 * VB_MAX_ENTRIES_HARD)

struct request {
	TAILQ_ENTRY(request) link;
	struct peer *peer;
	uint64_t id;
	uint64_t t_recv_ns;
	uint16_t type;		/* VB_MSG_MAP, UNMAP, SYNC, STATS */
	uint32_t count;		/* entries */
	int status;		/* preset positive errno: answer without executing */
	uint32_t failed_index;
	uint64_t pages_done;
	uint64_t pages_queued;	/* MAP: its part of peer->pages_queued */
	/* Entries, translated and validated; the one matching @type is set. */
	struct backend_map_entry *map;
	struct backend_unmap_entry *unmap;
};

int batcher_init(struct broker *b);
void batcher_fini(struct broker *b);
/* A request with room for @count entries (of @type's kind); NULL on ENOMEM. */
struct request *batcher_request_new(struct peer *p, uint16_t type,
				    uint64_t id, uint32_t count);
void batcher_request_free(struct request *r);
/* Queue @r on its peer's domain and make sure a flush is scheduled. */
void batcher_submit(struct broker *b, struct request *r);
/* Forget every queued request of @p (it is going away). */
void batcher_drop_peer(struct broker *b, struct peer *p);
/* Issue everything queued now (the flush event calls this). */
void batcher_flush(struct broker *b);
/* The same from outside the event loop, disarming the flush event: the
 * loop's pass over the shared rings answers what it took at once. */
void batcher_flush_now(struct broker *b);

#endif /* VB_BROKER_BATCHER_H */
