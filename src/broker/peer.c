/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer transport (design in peer.h). Everything here is about the socket:
 * datagrams in, through the codec, to dispatch; datagrams out through a
 * bounded queue; replies of a peer with a shared ring go to peer_ring.c.
 * Nothing here decides what a client may do.
 */
#define _GNU_SOURCE
#include "broker/peer.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/batcher.h"
#include "broker/dispatch.h"
#include "broker/domain.h"
#include "broker/peer_ring.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/codec.h"

/* Datagrams handled per read callback, so one client cannot hog a turn. */
#define PEER_READ_BURST		64

struct peer_msg {
	size_t len;
	unsigned int nfds;
	int fds[VB_MAX_WELCOME_FDS];
	uint8_t data[];
};

static void peer_read_cb(evutil_socket_t fd, short what, void *arg);
static void peer_write_cb(evutil_socket_t fd, short what, void *arg);
static void peer_close_cb(evutil_socket_t fd, short what, void *arg);

void peer_set_name(struct peer *p)
{
	if (p->dev)
		snprintf(p->name, sizeof(p->name), "dev %u pid %d", p->dev->id,
			 (int)p->pid);
	else if (p->bound)
		snprintf(p->name, sizeof(p->name), "dev %u? pid %d",
			 p->bound->id, (int)p->pid);
	else
		snprintf(p->name, sizeof(p->name), "pid %d uid %u", (int)p->pid,
			 (unsigned int)p->uid);
}

struct peer *peer_new(struct broker *b, int fd, struct device *bound,
		      pid_t pid, uid_t uid, gid_t gid)
{
	struct peer *p = calloc(1, sizeof(*p));
	int fl = fcntl(fd, F_GETFL);

	if (!p || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_err("cannot set up peer on fd %d: %s", fd,
			p ? strerror(errno) : "out of memory");
		free(p);
		reaper_close_socket(&b->reaper, fd);
		return NULL;
	}
	p->b = b;
	p->fd = fd;
	p->bound = bound;
	p->pid = pid;
	p->uid = uid;
	p->gid = gid;
	p->ring_fd = -1;
	p->pidfd = -1;
	p->window = b->cfg->window;
	/* window replies + WELCOME; see the bound in peer.h. */
	p->outq_cap = p->window + 2;
	p->outq = calloc(p->outq_cap, sizeof(*p->outq));
	p->ev_read = event_new(b->base, fd, EV_READ | EV_PERSIST, peer_read_cb, p);
	p->ev_write = event_new(b->base, fd, EV_WRITE | EV_PERSIST, peer_write_cb, p);
	p->ev_close = event_new(b->base, -1, 0, peer_close_cb, p);
	if (!p->outq || !p->ev_read || !p->ev_write || !p->ev_close ||
	    event_add(p->ev_read, NULL)) {
		log_err("cannot set up peer on fd %d: out of memory", fd);
		if (p->ev_read)
			event_free(p->ev_read);
		if (p->ev_write)
			event_free(p->ev_write);
		if (p->ev_close)
			event_free(p->ev_close);
		free(p->outq);
		free(p);
		reaper_close_socket(&b->reaper, fd);
		return NULL;
	}
	p->reading = true;
	p->connected_ns = vb_now_ns();
	peer_set_name(p);
	TAILQ_INSERT_TAIL(&b->peers, p, link);
	b->n_peers++;
	log_debug("%s: connected", p->name);
	return p;
}

/*
 * A connection that has not said HELLO, unless it is a devproc the broker
 * spawned, is read only while the broker takes fds (broker_fds_gated()).
 */
static bool peer_gated(const struct peer *p)
{
	return p->state == PEER_NEW && !p->bound;
}

static void peer_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	if (p->state != PEER_NEW)
		return;
	/*
	 * While the fd gate is up the broker, not the client, is not reading
	 * it: its HELLO may be waiting in the socket. It gets the whole
	 * deadline again.
	 */
	if (peer_gated(p) && p->b->fds_gated) {
		struct timeval tv = { .tv_sec = p->deadline_s };

		if (!evtimer_add(p->ev_deadline, &tv))
			return;
	}
	peer_fail(p, "no HELLO within %u s of connecting", p->deadline_s);
}

int peer_set_deadline(struct peer *p, unsigned int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	p->deadline_s = seconds;
	p->ev_deadline = evtimer_new(p->b->base, peer_deadline_cb, p);
	if (!p->ev_deadline || evtimer_add(p->ev_deadline, &tv))
		return -ENOMEM;
	return 0;
}

unsigned int peer_count_new(const struct broker *b, uid_t uid)
{
	const struct peer *p;
	unsigned int n = 0;

	/* spawned devprocs carry the broker's own uid, and are not callers */
	TAILQ_FOREACH(p, &b->peers, link)
		if (p->state == PEER_NEW && p->uid == uid && !p->bound)
			n++;
	return n;
}

/* A ring peer's socket carries only KICKs: its window is the ring's. */
static bool peer_throttled(const struct peer *p)
{
	return !p->ring.base && p->pending + p->outq_len >= p->window;
}

/* EV_READ is on exactly when the peer may send and has room. */
static void peer_update_read(struct peer *p)
{
	bool want = (p->state == PEER_NEW || p->state == PEER_READY) &&
		    !peer_throttled(p) && !(peer_gated(p) && p->b->fds_gated);

	if (want == p->reading)
		return;
	if (want ? event_add(p->ev_read, NULL) : event_del(p->ev_read)) {
		peer_fail(p, "cannot %s read event", want ? "add" : "delete");
		return;
	}
	p->reading = want;
}

/* Mark dead and defer the teardown; see "Lifetime" in peer.h. */
static void peer_schedule_close(struct peer *p)
{
	p->state = PEER_DEAD;
	event_del(p->ev_read);
	event_del(p->ev_write);
	p->reading = false;
	event_active(p->ev_close, 0, 0);
}

void peer_fail(struct peer *p, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (p->state == PEER_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!strcmp(reason, "disconnected"))
		client_log(p->b, LOG_LVL_INFO, "%s: disconnected", p->name);
	else
		client_log(p->b, LOG_LVL_WARN, "%s: dropping client: %s",
			   p->name, reason);
	peer_schedule_close(p);
}

void peer_finish(struct peer *p, const char *reason)
{
	if (p->state == PEER_DEAD)
		return;
	client_log(p->b, LOG_LVL_INFO, "%s: refusing client: %s", p->name,
		   reason);
	p->state = PEER_CLOSING;
	peer_update_read(p);
	if (!p->outq_len && p->state != PEER_DEAD)
		peer_schedule_close(p);
}

static ssize_t peer_sendmsg(struct peer *p, const void *buf, size_t len,
			    const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VB_MAX_WELCOME_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(p->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int peer_send(struct peer *p, const void *buf, size_t len, const int *fds,
	      unsigned int nfds)
{
	struct peer_msg *m;
	ssize_t n;

	if (p->state == PEER_DEAD)
		return -EPIPE;
	if (nfds > VB_MAX_WELCOME_FDS)
		return -EINVAL;
	if (!p->outq_len) {
		n = peer_sendmsg(p, buf, len, fds, nfds);
		if (n >= 0)
			return 0;
		if (n != -EAGAIN) {
			peer_fail(p, "sendmsg: %s", strerror((int)-n));
			return (int)n;
		}
	}
	if (p->outq_len == p->outq_cap) {
		/* Cannot happen while throttling holds (peer.h); be safe. */
		peer_fail(p, "outgoing queue full (%u datagrams)", p->outq_cap);
		return -ENOBUFS;
	}
	m = malloc(sizeof(*m) + len);
	if (!m) {
		peer_fail(p, "out of memory queueing a reply");
		return -ENOMEM;
	}
	m->len = len;
	m->nfds = nfds;
	if (nfds)
		memcpy(m->fds, fds, nfds * sizeof(int));
	memcpy(m->data, buf, len);
	p->outq[(p->outq_head + p->outq_len) % p->outq_cap] = m;
	if (p->outq_len++ == 0 && event_add(p->ev_write, NULL)) {
		peer_fail(p, "cannot add write event");
		return -EIO;
	}
	return 0;
}

static void peer_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	while (p->outq_len && p->state != PEER_DEAD) {
		struct peer_msg *m = p->outq[p->outq_head];
		ssize_t n = peer_sendmsg(p, m->data, m->len, m->fds, m->nfds);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			peer_fail(p, "sendmsg: %s", strerror((int)-n));
			return;
		}
		free(m);
		p->outq[p->outq_head] = NULL;
		p->outq_head = (p->outq_head + 1) % p->outq_cap;
		p->outq_len--;
	}
	if (p->state == PEER_DEAD)
		return;
	event_del(p->ev_write);
	if (p->state == PEER_CLOSING) {
		peer_schedule_close(p);
		return;
	}
	peer_update_read(p);
}

/* Wire version for a reply: the negotiated one; 0 (a refusal) before it. */
static uint16_t peer_version(const struct peer *p)
{
	return p->version;
}

void peer_request_started(struct peer *p)
{
	p->pending++;
	peer_update_read(p);
}

/* Send the encoded answer to one request (@n: the encoder's result). */
static void peer_send_answer(struct peer *p, const uint8_t *buf, ssize_t n)
{
	if (n < 0) {
		log_err("%s: encoding an answer failed: %s", p->name,
			strerror((int)-n));
		peer_fail(p, "internal error encoding a reply");
		return;
	}
	/* Count the slot free before sending, so a queued reply fits. */
	if (p->pending)
		p->pending--;
	if (p->ring.base) {
		peer_ring_reply(p, buf, (size_t)n);
		return;
	}
	peer_send(p, buf, (size_t)n, NULL, 0);
	peer_update_read(p);
}

void peer_reply(struct peer *p, uint64_t id, int status,
		uint32_t failed_index, uint64_t pages_done)
{
	struct vb_reply r = {
		.status = status,
		.failed_index = failed_index,
		.pages_done = pages_done,
	};
	uint8_t buf[sizeof(struct vb_hdr) + sizeof(r)];

	peer_send_answer(p, buf, vb_encode_reply(buf, sizeof(buf),
						 peer_version(p), id, &r));
}

void peer_reply_stats(struct peer *p, uint64_t id)
{
	struct vb_stats s = {
		.reply = { .status = 0, .failed_index = VB_NO_INDEX },
		.requests = p->stats.requests,
		.map_requests = p->stats.map_requests,
		.unmap_requests = p->stats.unmap_requests,
		.pages_mapped = p->stats.pages_mapped,
		.pages_unmapped = p->stats.pages_unmapped,
		.pages_current = p->pages_current,
		.errors = p->stats.errors,
		.batches = p->stats.batches,
	};
	uint8_t buf[sizeof(struct vb_hdr) + sizeof(s)];

	peer_send_answer(p, buf, vb_encode_stats(buf, sizeof(buf),
						 peer_version(p), id, &s));
}

/*
 * Close every fd a client passed us: clients never have reason to. On the
 * reaper thread, since such a file's last close may block (reaper.h).
 */
static unsigned int peer_close_fds(struct peer *p, struct msghdr *msg)
{
	unsigned int n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fd;

		for (size_t i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			reaper_close(&p->b->reaper, fd);
			n++;
		}
	}
	return n;
}

/*
 * One datagram into p->b->rxbuf: its length, or -errno. Every fd it
 * carried is handed to the reaper at once (their number in *@nfds).
 */
static ssize_t peer_recv(struct peer *p, unsigned int *nfds, int *flags)
{
	/*
	 * Room for as many fds as one datagram can carry (the kernel's
	 * SCM_MAX_FD): any that did not fit would be dropped inside
	 * recvmsg(), their last close run by this thread.
	 */
	union {
		char buf[CMSG_SPACE(sizeof(int) * PEER_SCM_MAX_FD)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = p->b->rxbuf, .iov_len = VB_MSG_MAX_LEN };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	ssize_t n;

	do
		n = recvmsg(p->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*nfds = peer_close_fds(p, &msg);
	*flags = msg.msg_flags;
	return n;
}

/*
 * Whether a read of 0 bytes was the hangup: a SOCK_SEQPACKET read gives 0
 * for an empty datagram too (protocol.md §10 calls that malformed), after
 * which a live client's socket has nothing more to say. Whatever the next
 * read takes goes with the client, whose connection ends either way.
 */
static bool peer_at_eof(struct peer *p)
{
	unsigned int nfds;
	int flags;
	ssize_t n = peer_recv(p, &nfds, &flags);

	return n != -EAGAIN && n <= 0;
}

/* Receive and handle one datagram; returns false to stop reading. */
static bool peer_read_one(struct peer *p)
{
	unsigned int nfds;
	int flags;
	ssize_t n = peer_recv(p, &nfds, &flags);

	if (n < 0) {
		if (n != -EAGAIN)
			peer_fail(p, "recvmsg: %s", strerror((int)-n));
		return false;
	}
	p->b->messages_in++;
	if (n == 0) {
		if (nfds)
			peer_fail(p, "empty datagram carrying %u fd(s)", nfds);
		else if (!peer_at_eof(p))
			peer_fail(p, "empty datagram");
		else
			peer_fail(p, "disconnected");
		return false;
	}
	if (flags & (MSG_TRUNC | MSG_CTRUNC)) {
		peer_fail(p, "datagram larger than %u bytes or too many fds",
			  VB_MSG_MAX_LEN);
		return false;
	}
	return peer_handle(p, p->b->rxbuf, (size_t)n, nfds, false);
}

bool peer_handle(struct peer *p, const uint8_t *buf, size_t n,
		 unsigned int nfds, bool from_ring)
{
	struct vb_msg m;
	int ret;

	ret = vb_decode(buf, n, VB_DIR_TO_BROKER, p->version, nfds, &m);
	if (ret) {
		uint16_t type = 0;

		if (n >= 4)
			memcpy(&type, buf + 2, sizeof(type));
		peer_fail(p, "malformed message (%zu bytes, type %u, %u fd(s)%s): %s",
			  n, type, nfds, from_ring ? ", from the ring" : "",
			  strerror(-ret));
		return false;
	}
	/* Two paths for requests would have no order between them. */
	if (p->ring.base && !from_ring && m.hdr.type != VB_MSG_KICK) {
		peer_fail(p, "%s on the socket: this client's requests go through its shared ring",
			  vb_msg_name(m.hdr.type));
		return false;
	}
	if (from_ring && m.hdr.type == VB_MSG_KICK) {
		peer_fail(p, "KICK in the shared ring: a KICK goes on the socket");
		return false;
	}
	ret = dispatch_message(p, &m);
	if (ret == -ENOMEM) {
		peer_fail(p, "out of memory for a %s", vb_msg_name(m.hdr.type));
		return false;
	}
	if (ret) {
		peer_fail(p, "%s not allowed now (%s)", vb_msg_name(m.hdr.type),
			  strerror(-ret));
		return false;
	}
	return true;
}

static void peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < PEER_READ_BURST; i++) {
		if (p->state != PEER_NEW && p->state != PEER_READY)
			break;
		if (peer_throttled(p))
			break;
		if (peer_gated(p) && broker_fds_gated(p->b))
			break;
		if (!peer_read_one(p))
			break;
	}
	if (p->state != PEER_DEAD)
		peer_update_read(p);
}

static void peer_free(struct peer *p)
{
	struct broker *b = p->b;

	batcher_drop_peer(b, p);
	if (p->dev) {
		int64_t released = domain_release_device(b, p->dev);

		if (released > 0)
			log_info("%s: released %lld page(s) left mapped",
				 p->name, (long long)released);
		/* the next claim tries again first (dispatch_hello) */
		p->dev->unreleased = released < 0;
		p->dev->owner = NULL;
	}
	client_log(b, LOG_LVL_INFO,
		   "%s: closed: %llu request(s), %llu page(s) mapped, %llu unmapped, %llu error(s)",
		   p->name, (unsigned long long)p->stats.requests,
		   (unsigned long long)p->stats.pages_mapped,
		   (unsigned long long)p->stats.pages_unmapped,
		   (unsigned long long)p->stats.errors);
	while (p->outq_len) {
		free(p->outq[p->outq_head]);
		p->outq_head = (p->outq_head + 1) % p->outq_cap;
		p->outq_len--;
	}
	free(p->outq);
	peer_ring_destroy(p);
	if (p->pidfd >= 0)
		close(p->pidfd);
	event_free(p->ev_read);
	event_free(p->ev_write);
	event_free(p->ev_close);
	if (p->ev_deadline)
		event_free(p->ev_deadline);
	/* datagrams still queued in it may carry a client's fds */
	reaper_close_socket(&b->reaper, p->fd);
	TAILQ_REMOVE(&b->peers, p, link);
	b->n_peers--;
	free(p);
}

static void peer_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	struct broker *b = p->b;

	(void)fd;
	(void)what;
	peer_free(p);
	/* the socket went to the reaper, with whatever fds it still held */
	broker_fds_gated(b);
	broker_check_done(b);
}

void peer_update_reads(struct broker *b)
{
	struct peer *p;

	TAILQ_FOREACH(p, &b->peers, link)
		if (peer_gated(p))
			peer_update_read(p);
}

void peer_close_all(struct broker *b)
{
	struct peer *p;

	while ((p = TAILQ_FIRST(&b->peers))) {
		p->state = PEER_DEAD;
		peer_free(p);
	}
}
