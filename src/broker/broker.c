/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-broker decisions that more than one file triggers: when a
 * --exit-when-done run is over (the last spawned devproc has exited and its
 * connection is closed, in whichever order the two events arrive),
 * whether a line about a client may still be logged, and whether fds may
 * still be taken from clients.
 */
#include "broker/broker.h"

#include <event2/event.h>

#include "broker/listener.h"
#include "broker/peer.h"
#include "common/log.h"

/*
 * Lines about clients: a burst as large as a busy start-up or a test of
 * every attack needs, then as many a second as a reader keeps up with.
 */
#define BROKER_CLIENT_LOG_BURST	1000
#define BROKER_CLIENT_LOG_PER_S	100

bool broker_client_log(struct broker *b)
{
	return log_budget_allow(&b->client_log, BROKER_CLIENT_LOG_BURST,
				BROKER_CLIENT_LOG_PER_S, "about clients");
}

#define BROKER_FDS_GATE_MS	100

static void broker_fds_gate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { .tv_usec = BROKER_FDS_GATE_MS * 1000 };
	struct broker *b = arg;

	(void)fd;
	(void)what;
	reaper_flush(&b->reaper);
	if (!reaper_caught_up(&b->reaper)) {
		if (!evtimer_add(b->ev_fds_gate, &tv))
			return;
		/* nothing else would ever lift it */
		log_err("cannot re-arm the fd gate timer; taking fds as before");
	} else {
		log_warn("the reaper caught up (%u fd(s) still to close): taking new connections again",
			 reaper_open(&b->reaper));
	}
	b->fds_gated = false;
	listener_resume(b);
	peer_update_reads(b);
}

bool broker_fds_gated(struct broker *b)
{
	struct timeval tv = { .tv_usec = BROKER_FDS_GATE_MS * 1000 };

	if (b->fds_gated)
		return true;
	if (!reaper_busy(&b->reaper) || !b->base)
		return false;
	if (!b->ev_fds_gate)
		b->ev_fds_gate = evtimer_new(b->base, broker_fds_gate_cb, b);
	if (!b->ev_fds_gate || evtimer_add(b->ev_fds_gate, &tv)) {
		/* without the timer nothing would lift the gate */
		log_err("cannot arm the fd gate timer; taking fds as before");
		return false;
	}
	b->fds_gated = true;
	log_warn("%u fd(s) clients sent or left are waiting to be closed (a close blocks): no new connections, and none without HELLO is read, until that is down to %u",
		 reaper_open(&b->reaper), b->reaper.limit / 2);
	listener_pause(b);
	return true;
}

void broker_fds_gate_free(struct broker *b)
{
	if (b->ev_fds_gate)
		event_free(b->ev_fds_gate);
	b->ev_fds_gate = NULL;
}

void broker_check_done(struct broker *b)
{
	const struct peer *p;

	if (!b->exit_when_done || b->stopping || b->n_children_live)
		return;
	TAILQ_FOREACH(p, &b->peers, link)
		if (p->bound)
			return;
	log_info("every spawned devproc has finished");
	b->stopping = true;
	if (b->base)
		event_base_loopexit(b->base, NULL);
}
