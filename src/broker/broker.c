/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-broker decisions that more than one file triggers: when a
 * --exit-when-done run is over (the last spawned devproc has exited and its
 * connection is closed, in whichever order the two events arrive), and
 * whether a line about a client may still be logged.
 */
#include "broker/broker.h"

#include <event2/event.h>

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
