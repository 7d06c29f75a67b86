/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One client connection (a spawned devproc's socketpair end or an accepted
 * listening-socket connection). The peer layer knows the socket: it reads
 * datagrams, runs them through the codec and hands them to dispatch; it
 * keeps a bounded queue of outgoing datagrams and arms EV_WRITE only while
 * that queue is non-empty.
 *
 * Flow control: the peer stops reading (EV_READ off) while
 *   pending (requests not yet answered) + queued replies >= window,
 * so a flooding client waits in its own socket buffer, never in ours; the
 * outgoing queue can therefore never hold more than window + 1 datagrams
 * (window replies and the WELCOME). Its room is one more: a ring client's
 * WAKEs share it, and one that leaves them unread is dropped when it is
 * full.
 *
 * A peer granted a shared ring (peer_ring.c) exchanges requests and replies
 * through it; its socket then carries only KICK datagrams in and WAKE
 * datagrams out, so it is read whenever readable and the window is
 * enforced on the ring instead: a request is taken from the ring only while
 * pending + replies still unread in the ring < window.
 *
 * Lifetime: peer_fail() marks the peer dead and defers the teardown to an
 * event, so callers up the stack (the read loop, the batcher) never see a
 * freed peer. Teardown drops its queued requests, unmaps its device's
 * windows and releases the device.
 */
#ifndef VB_BROKER_PEER_H
#define VB_BROKER_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "broker/broker.h"
#include "proto/ring.h"

enum peer_state {
	PEER_NEW,	/* waiting for HELLO */
	PEER_READY,	/* WELCOME sent: requests allowed */
	PEER_CLOSING,	/* refused: send what is queued, then close */
	PEER_DEAD,	/* teardown scheduled */
};

struct peer_msg;

struct peer {
	TAILQ_ENTRY(peer) link;
	struct broker *b;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_close;
	struct event *ev_deadline;	/* HELLO due by then; NULL: none */
	unsigned int deadline_s;
	enum peer_state state;
	bool reading;

	struct device *bound;	/* spawned for this device, else NULL */
	struct device *dev;	/* claimed device (after WELCOME) */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint16_t version;	/* negotiated, 0 before WELCOME */
	uint32_t window;

	uint32_t pending;	/* requests received, reply not yet queued */
	struct peer_msg **outq;	/* ring */
	uint32_t outq_cap;
	uint32_t outq_head;
	uint32_t outq_len;

	struct vb_ring ring;	/* ring.base NULL: no shared ring */
	int ring_fd;		/* lent to WELCOME; closed with the peer */
	int pidfd;		/* the client process, or -1 (holder.h) */
	/* A client KICKs only after taking an idle word the broker set, so
	 * more KICKs than announcements is a flood (dispatch_kick). An
	 * announcement the client did not take is withdrawn when the broker
	 * wakes, so a quiet client cannot bank KICKs over many sleeps; and
	 * one that owes PEER_RING_KICKS_OWED_MAX is not announced to, so
	 * taking words without KICKing banks no more than that. */
	uint64_t ring_idle_sets;
	uint64_t ring_kicks;
	bool ring_announced;	/* idle word set by this sleep */

	struct stats_counters stats;
	uint64_t pages_current;
	uint64_t pages_queued;	/* by MAPs not yet answered (the quota's) */
	uint64_t batch_gen;	/* last backend call counted for this peer */
	uint64_t connected_ns;
	char name[64];		/* "dev 3 pid 1234", for every log line */
};

/* Takes ownership of @fd (non-blocking is set here). */
struct peer *peer_new(struct broker *b, int fd, struct device *bound,
		      pid_t pid, uid_t uid, gid_t gid);
/* Drop @p unless it has sent HELLO within @seconds (clients of the
 * listening socket: a connection that never speaks must not hold an fd). */
int peer_set_deadline(struct peer *p, unsigned int seconds);
/* Connections from @uid to the listening socket still in the handshake
 * (state NEW); spawned peers do not count. */
unsigned int peer_count_new(const struct broker *b, uid_t uid);
/* Queue or send one datagram; @fds are lent (not closed). */
int peer_send(struct peer *p, const void *buf, size_t len, const int *fds,
	      unsigned int nfds);
/* Answer a request (status: 0 or positive errno); ends its pending slot. */
void peer_reply(struct peer *p, uint64_t id, int status,
		uint32_t failed_index, uint64_t pages_done);
void peer_reply_stats(struct peer *p, uint64_t id);
/* Decode one received message (from the socket, or from the ring when
 * @from_ring) and dispatch it; false when the peer was dropped for it. */
bool peer_handle(struct peer *p, const uint8_t *buf, size_t len,
		 unsigned int nfds, bool from_ring);
/* A request has been taken in (counts towards the window). */
void peer_request_started(struct peer *p);
/* Drop the peer now (protocol violation, I/O error, EOF). */
__attribute__((format(printf, 2, 3)))
void peer_fail(struct peer *p, const char *fmt, ...);
/* Refuse the peer: flush queued replies, then close. */
void peer_finish(struct peer *p, const char *reason);
void peer_set_name(struct peer *p);
/* The most fds one datagram can carry (the kernel's SCM_MAX_FD). */
#define PEER_SCM_MAX_FD		253

/* Tear down every peer immediately (shutdown). */
void peer_close_all(struct broker *b);
/* broker_fds_gated() changed: read peers without HELLO again, or not. */
void peer_update_reads(struct broker *b);

#endif /* VB_BROKER_PEER_H */
