/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's state, one instance per process (no globals): guest RAM,
 * the backend and its domains, the configured devices, connected peers and
 * the pending batch. Ownership: a device belongs to at most one peer at a
 * time (device->owner); a domain's pending queue holds requests of peers
 * whose device is in that domain, in arrival order.
 */
#ifndef VB_BROKER_BROKER_H
#define VB_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "broker/backend.h"
#include "broker/config.h"
#include "broker/memory.h"
#include "broker/reaper.h"
#include "broker/stats.h"
#include "common/log.h"

struct event_base;
struct event;
struct peer;
struct request;
struct listener;

struct domain {
	uint32_t id;
	char name[CONFIG_NAME_MAX];
	struct backend_domain *bd;
	struct stats_counters stats;
	TAILQ_HEAD(, request) pending;	/* batcher queue, arrival order */
	unsigned int n_pending;
};

struct device {
	const struct config_device *cfg;
	uint32_t id;
	struct domain *domain;
	struct peer *owner;		/* claimed by, or NULL */
	bool unreleased;		/* a past client's pages may be left */
	int holder_pidfd;		/* last process lent device_fd, or -1 */
	pid_t holder_pid;		/* (holder.h) */
	int device_fd;			/* VFIO device fd for WELCOME, or -1 */
	pid_t child;			/* spawned devproc, 0 if none */
	bool spawned;			/* has (had) a child */
	bool child_done;
	bool child_failed;		/* its end counts as a failure */
	int child_status;		/* wait status */
};

struct broker {
	struct event_base *base;
	struct config *cfg;
	struct backend *be;
	struct memory mem;

	struct domain *domains;
	unsigned int n_domains;
	struct device *devices;
	unsigned int n_devices;

	TAILQ_HEAD(, peer) peers;
	unsigned int n_peers;
	uint8_t *rxbuf;			/* one datagram, VB_MSG_MAX_LEN */
	uint64_t messages_in;		/* datagrams received (loop.c) */

	/* batcher */
	struct event *ev_flush;
	bool flush_armed;
	struct backend_map_entry *scratch_map;
	struct backend_unmap_entry *scratch_unmap;
	uint64_t *scratch_pages;
	uint64_t batch_gen;		/* numbers backend calls, see batcher.c */

	struct listener *listener;
	struct listener *control;
	struct reaper reaper;		/* closes what clients control */
	bool fds_gated;			/* see broker_fds_gated() */
	struct event *ev_fds_gate;

	/* devprocs spawned by the broker */
	unsigned int n_children;
	unsigned int n_children_live;
	bool child_failed;
	bool exit_when_done;
	bool stopping;

	/* whole-run figures for progress and the summary */
	uint64_t start_ns;
	uint64_t mapped_now;
	uint64_t peak_pages;
	struct backend_usage peak_usage;	/* at peak_pages, see domain.h */
	bool peak_stale;		/* peak_usage not yet taken at it */
	uint64_t prog_ns;		/* last progress line */
	uint64_t prog_pages;		/* mapped + unmapped at it */

	struct log_budget client_log;	/* see broker_client_log() */
};

/* Stop the loop if --exit-when-done and nothing is left to wait for. */
void broker_check_done(struct broker *b);
/*
 * Must the broker stop taking fds from clients for now? Every datagram a
 * client sends may carry fds, and the reaper closes them; while it is
 * stuck (reaper_busy()) they stay open here, and past the fd limit the
 * kernel would close the next ones in this thread. So from then until
 * the reaper catches up, no new connection is accepted and connections
 * without HELLO are not read (what they sent stays in their sockets,
 * in the kernel's hands); clients that said HELLO go on being served.
 * Checked wherever fds come in; a timer looks again while it lasts.
 */
bool broker_fds_gated(struct broker *b);
void broker_fds_gate_free(struct broker *b);
/*
 * May a line about a client's coming, going or misbehaving be logged?
 * Anyone may connect, so these lines have a budget (broker.c); the first
 * line after some were refused says how many.
 */
bool broker_client_log(struct broker *b);
/* log_msg() at @level, within that budget (lines not logged cost none). */
#define client_log(b, level, ...)					\
	do {								\
		if (log_enabled(level) && broker_client_log(b))	\
			log_msg(level, __func__, __VA_ARGS__);		\
	} while (0)

#endif /* VB_BROKER_BROKER_H */
