/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's event loop.
 *
 * Blocking in epoll costs every request a wakeup of the broker and, when
 * the reply comes back, one of the client: two context switches, and on
 * separate CPUs an inter-processor interrupt each. With poll_us the loop
 * instead keeps asking for events without blocking while messages keep
 * arriving, and blocks only after poll_us microseconds without one. A
 * client that busy-waits for its replies too (vb_client_set_spin) then
 * exchanges requests with the broker with neither side ever sleeping, for
 * the price of a CPU spinning while the stream lasts.
 *
 * Shared rings are drained at the top of every pass, polling or not, and
 * what they held is issued and answered right there (batcher_flush_now).
 * While they keep delivering, the loop asks libevent for socket events
 * only every LOOP_RING_PASSES passes: each such pass is a system call, and
 * under emulation a few of them per request cost more than the request.
 * The same holds while it polls with rings in use and nothing arrives: a
 * ring request that comes while the loop sits in such a call waits for
 * it, and a client that waits for each answer (coIOMMU's pins) pays that
 * on every round trip.
 * Without polling, a pass that finds the rings empty blocks at once, as
 * event_base_dispatch() would. A client whose ring fills while the loop
 * sleeps sends a KICK, which the loop announces on every ring before it
 * blocks (peer_ring_sleep).
 */
#include "broker/loop.h"

#include <event2/event.h>
#include <stdbool.h>

#include "broker/batcher.h"
#include "broker/broker.h"
#include "broker/peer_ring.h"
#include "common/clock.h"
#include "common/log.h"

/* Busy ring passes between two looks at the sockets. */
#define LOOP_RING_PASSES	16

/*
 * Stop requests (broker_check_done, signals) end up as event_base_loopexit,
 * whose flag the next event_base_loop() call clears on entry: so it must be
 * looked at after every pass, before a blocking pass could sleep forever.
 */
static bool loop_done(struct broker *b)
{
	return b->stopping || event_base_got_exit(b->base) ||
	       event_base_got_break(b->base);
}

int loop_run(struct broker *b)
{
	uint64_t budget = (uint64_t)b->cfg->poll_us * 1000, idle_from, seen;
	unsigned int ring_passes = 0, idle_passes = 0;
	bool sleep_refused = false;

	if (budget)
		log_info("polling: %u us without a message before the loop blocks",
			 b->cfg->poll_us);
	seen = b->messages_in;
	idle_from = vb_now_ns();
	while (!loop_done(b)) {
		bool busy = false, rings;
		int rc;

		/*
		 * Counted since the sockets' last look, not in a row: a client
		 * that publishes just after an empty pass and just before the
		 * loop would block makes busy and empty passes alternate.
		 */
		if (peer_ring_poll(b, &rings)) {
			batcher_flush_now(b);
			if (++ring_passes < LOOP_RING_PASSES)
				continue;	/* idle_from moves below */
			busy = true;
		} else if (sleep_refused) {
			/*
			 * The last sleep check saw a ring readable, and this
			 * pass found nothing: its client rewrote its tail in
			 * between. The sockets get their look now, or a client
			 * doing that on purpose would keep them waiting.
			 */
			busy = true;
		}
		sleep_refused = false;
		if (budget && !busy && rings &&
		    ++idle_passes % LOOP_RING_PASSES) {
			/* polling, the sockets' turn not yet come */
			if (b->messages_in != seen) {
				seen = b->messages_in;
				idle_from = vb_now_ns();
			}
			if (vb_now_ns() - idle_from < budget)
				continue;
		} else if (budget || busy) {
			/* Without polling, only busy rings need a look at the
			 * sockets before the loop sleeps: the blocking pass sees
			 * the rest. */
			rc = event_base_loop(b->base, EVLOOP_NONBLOCK);
			ring_passes = 0;
			if (rc)
				return rc < 0 ? -1 : 0;	/* 1: no events left */
			if (loop_done(b))
				break;
			if (b->messages_in != seen) {
				seen = b->messages_in;
				idle_from = vb_now_ns();
				continue;
			}
			if (vb_now_ns() - idle_from < budget)
				continue;
		}
		if (!peer_ring_sleep(b)) {
			sleep_refused = true;
			continue;
		}
		rc = event_base_loop(b->base, EVLOOP_ONCE);
		ring_passes = 0;
		peer_ring_awake(b);
		if (rc)
			return rc < 0 ? -1 : 0;
		seen = b->messages_in;
		idle_from = vb_now_ns();
	}
	return 0;
}
