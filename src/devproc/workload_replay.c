/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay: run a recorded trace one synchronous request at a time and
 * compare every status (and pages_done, where the trace gives one) with
 * what the trace expects. An expected error is a pass; any difference is a
 * failure naming the trace line.
 */
#include "devproc/devproc.h"
#include "devproc/replay_trace.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

/*
 * Compare the broker's answer with the trace. A call the library failed
 * instead (a dead handle, a malformed message) was never answered and no
 * later one will be: that stops the replay rather than being compared,
 * or a trace expecting that errno would pass against a dead connection.
 */
static int replay_check(struct devproc *dp, const struct replay_op *op,
			const char *what, int rc, const struct vb_reply *r)
{
	int got = -rc, lost = workload_lost(rc, r);

	if (lost) {
		log_err("dev %u replay: trace line %u: %s got no answer: %s",
			dp->info->device_id, op->line, what, strerror(-lost));
		return lost;
	}
	if (got != op->expect) {
		workload_fail(dp, "trace line %u: %s got %s (%d), expected %s (%d)",
			      op->line, what, replay_trace_errname(got), got,
			      replay_trace_errname(op->expect), op->expect);
		return 0;
	}
	if (op->done != REPLAY_NO_DONE && r->pages_done != op->done)
		workload_fail(dp, "trace line %u: %s did %llu pages, expected %llu",
			      op->line, what,
			      (unsigned long long)r->pages_done,
			      (unsigned long long)op->done);
	return 0;
}

static int replay_step(struct devproc *dp, const struct replay_op *op)
{
	struct vb_map_entry me;
	struct vb_unmap_entry ue;
	struct vb_stats st;
	struct vb_reply r;
	int rc;

	switch (op->kind) {
	case REPLAY_MAP:
		memset(&me, 0, sizeof(me));
		if (replay_trace_resolve(&op->iova, dp->info, &me.iova) ||
		    replay_trace_resolve(&op->gpa, dp->info, &me.gpa)) {
			workload_fail(dp, "trace line %u: no such window or RAM region",
				      op->line);
			return 0;
		}
		me.npages = op->npages;
		me.prot = op->prot;
		rc = workload_map(dp, &me, 1, &r);
		return replay_check(dp, op, "map", rc, &r);
	case REPLAY_UNMAP:
		if (replay_trace_resolve(&op->iova, dp->info, &ue.iova)) {
			workload_fail(dp, "trace line %u: no such window",
				      op->line);
			return 0;
		}
		ue.npages = op->npages;
		rc = workload_unmap(dp, &ue, 1, &r);
		return replay_check(dp, op, "unmap", rc, &r);
	case REPLAY_SYNC:
		dp->res.requests++;
		/* the broker answers every SYNC with 0 (protocol.md 8.3) */
		memset(&r, 0, sizeof(r));
		rc = vb_client_sync(dp->client);
		return replay_check(dp, op, "sync", rc, &r);
	case REPLAY_EXPECT_MAPPED:
		/* without its counters the rest cannot be checked */
		rc = workload_stats(dp, &st);
		if (rc) {
			log_err("dev %u replay: trace line %u: STATS failed: %s",
				dp->info->device_id, op->line, strerror(-rc));
			return rc;
		}
		if (st.pages_current != op->npages)
			workload_fail(dp, "trace line %u: %llu pages mapped, expected %llu",
				      op->line,
				      (unsigned long long)st.pages_current,
				      (unsigned long long)op->npages);
		return 0;
	}
	return -EINVAL;
}

int workload_replay_run(struct devproc *dp)
{
	if (!dp->trace) {
		workload_fail(dp, "replay needs --trace FILE");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < dp->trace->n; i++) {
		int rc = replay_step(dp, &dp->trace->ops[i]);

		if (rc)
			return rc;
	}
	if (!dp->opts.quiet)
		log_info("dev %u: replayed %u operations",
			 dp->info->device_id, dp->trace->n);
	return 0;
}
