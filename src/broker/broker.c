/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whole-broker decisions that more than one file triggers: for now, when a
 * --exit-when-done run is over (the last spawned devproc has exited and its
 * connection is closed, in whichever order the two events arrive).
 */
#include "broker/broker.h"

#include <event2/event.h>

#include "broker/peer.h"
#include "common/log.h"

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
