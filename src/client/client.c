/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvfiobroker API on top of the transport and the codec.
 *
 * State: a FIFO of outstanding requests (id, type, callback), sized to the
 * request window the broker granted. The broker answers a client's
 * requests in order, so a reply must match the FIFO head by id and type;
 * anything else is a protocol violation. Request ids count up from 1 (the
 * HELLO uses 0).
 *
 * Errors are sticky: after a hangup (-EPIPE) or a malformed reply (-EPROTO)
 * the handle is dead and every call returns that error. Outstanding
 * requests are then completed with that status so callers' bookkeeping
 * always sees exactly one completion per submitted request.
 *
 * A completion is removed from the FIFO before its callback runs, so a
 * callback may submit further requests. It may also close the handle: the
 * calls that run callbacks count themselves in c->depth, and a close from
 * inside one only marks the handle; the outermost of them frees it on its
 * way out. Closing completes what is still outstanding with -ECANCELED.
 *
 * The client asks for a shared ring at HELLO. When the broker grants one,
 * requests and replies travel through it (transport_ring.c) and the socket
 * carries only KICK/WAKE datagrams and the hangup; otherwise every request
 * and reply is a datagram. The API behaves the same either way.
 */
#include "vfio-broker/client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/transport.h"
#include "client/transport_ring.h"
#include "proto/codec.h"

#define CLIENT_MAX_WINDOW	1024u	/* local cap on the FIFO size */
#define CLIENT_HANDSHAKE_MS	30000
#define CLIENT_FLAGS		VB_CLIENT_NO_RING	/* every VB_CLIENT_* flag known */

struct client_slot {
	uint64_t id;
	uint16_t type;
	vb_client_done_fn done;
	void *arg;
	struct vb_stats *stats;	/* STATS only: where the body goes */
};

struct vb_client {
	int fd;
	int dead;		/* 0 or the sticky negative errno */
	uint64_t next_id;
	struct vb_client_info info;
	struct client_slot *fifo;
	unsigned int cap, head, count;
	unsigned int spin_us;	/* see vb_client_set_spin() */
	int timeout_ms;		/* see vb_client_set_timeout(); -1: none */
	struct vb_ring ring;	/* ring.base NULL: requests use the socket */
	bool ring_armed;	/* our idle word is left set, see client_recv */
	unsigned int depth;	/* calls in progress that may run callbacks */
	bool closing;		/* closed from a callback: free when depth is 0 */
	uint8_t buf[VB_MSG_MAX_LEN];	/* tx and rx, one at a time */
};

const char *vb_client_version(void)
{
	return VB_CLIENT_VERSION;
}

const struct vb_client_info *vb_client_get_info(const struct vb_client *c)
{
	return &c->info;
}

int vb_client_fd(const struct vb_client *c)
{
	return c->fd;
}

int vb_client_set_spin(struct vb_client *c, unsigned int usec)
{
	if (usec > VB_CLIENT_SPIN_MAX_US)
		return -EINVAL;
	c->spin_us = usec;
	return 0;
}

int vb_client_set_timeout(struct vb_client *c, int timeout_ms)
{
	if (timeout_ms == 0 || timeout_ms < -1)
		return -EINVAL;
	c->timeout_ms = timeout_ms;
	return 0;
}

unsigned int vb_client_outstanding(const struct vb_client *c)
{
	return c->count;
}

/* Fail every outstanding request with @err and make the handle dead. */
static int client_die(struct vb_client *c, int err)
{
	if (!c->dead)
		c->dead = err;
	while (c->count) {
		struct client_slot s = c->fifo[c->head];
		struct vb_reply r = {
			.status = -c->dead, .failed_index = VB_NO_INDEX,
		};

		c->head = (c->head + 1) % c->cap;
		c->count--;
		if (s.done)
			s.done(s.arg, s.id, &r);
	}
	return c->dead;
}

static int client_check_status(int32_t status)
{
	return status >= 0 && status < 4096 ? 0 : -EPROTO;
}

/* Match one received datagram to the FIFO head and complete it. */
static int client_complete(struct vb_client *c, size_t len, unsigned int nfds)
{
	struct client_slot s;
	struct vb_stats stats;
	struct vb_reply r;
	struct vb_msg m;

	if (nfds)
		return -EPROTO;	/* fds only come with WELCOME */
	if (vb_decode(c->buf, len, VB_DIR_TO_CLIENT, c->info.version, 0, &m))
		return -EPROTO;
	if (c->count == 0)
		return -EPROTO;	/* an answer to nothing */
	s = c->fifo[c->head];
	if (m.hdr.id != s.id)
		return -EPROTO;
	if (m.hdr.type == VB_MSG_REPLY) {
		if (vb_msg_reply(&m, &r) || client_check_status(r.status))
			return -EPROTO;
		/* STATS succeeds only with a STATS_REPLY. */
		if (s.type == VB_MSG_STATS && r.status == 0)
			return -EPROTO;
	} else if (m.hdr.type == VB_MSG_STATS_REPLY &&
		   s.type == VB_MSG_STATS) {
		if (vb_msg_stats(&m, &stats) ||
		    client_check_status(stats.reply.status))
			return -EPROTO;
		r = stats.reply;
		if (s.stats)
			*s.stats = stats;
	} else {
		return -EPROTO;
	}
	c->head = (c->head + 1) % c->cap;
	c->count--;
	if (s.done)
		s.done(s.arg, s.id, &r);
	return 0;
}

/*
 * The next reply into c->buf, from the ring or the socket: its length, or
 * -EAGAIN when none came within @timeout_ms, -EPIPE, -EMSGSIZE, -EPROTO.
 *
 * @arm: the caller asked not to wait at all, so it may be about to sleep
 * on vb_client_fd() in its own event loop. With a ring, replies arrive
 * without any socket activity unless the broker is asked to WAKE us, so an
 * empty ring then leaves that request standing (c->ring_armed) until the
 * next call takes it back.
 */
static ssize_t client_recv(struct vb_client *c, int timeout_ms, bool arm,
			   int *fds, unsigned int *nfds)
{
	int rc;

	if (!c->ring.base)
		return transport_recv(c->fd, c->buf, sizeof(c->buf), fds,
				      VB_MAX_RAM_REGIONS, nfds, timeout_ms,
				      c->spin_us);
	*nfds = 0;
	rc = transport_ring_disarm(c->fd, &c->ring, c->info.version,
				   &c->ring_armed, c->timeout_ms);
	if (rc)
		return rc;
	for (;;) {
		ssize_t n = vb_ring_recv(&c->ring, c->buf, sizeof(c->buf));

		if (n != -EAGAIN)
			return n < 0 ? -EPROTO : n;
		rc = transport_ring_wait(c->fd, &c->ring, c->info.version,
					 timeout_ms, c->spin_us,
					 arm ? &c->ring_armed : NULL,
					 c->timeout_ms);
		if (rc)
			return rc;
	}
}

/*
 * Nothing is outstanding, so neither the socket nor the ring has anything
 * to say but that the broker is gone (the socket's hangup) or, against
 * the protocol, a reply to nothing. An event loop that polls
 * vb_client_fd() sees the hangup as readable forever; it learns it here
 * instead of spinning.
 */
static int client_check_idle(struct vb_client *c)
{
	int fds[VB_MAX_RAM_REGIONS];
	unsigned int nfds;
	ssize_t n;

	/* with a ring, a reply to nothing arrives there */
	if (c->ring.base && vb_ring_readable(&c->ring))
		return client_die(c, -EPROTO);
	n = transport_recv(c->fd, c->buf, sizeof(c->buf), fds,
			   VB_MAX_RAM_REGIONS, &nfds, 0, 0);
	if (n == -EAGAIN)
		return 0;
	if (n >= 0) {
		transport_close_fds(fds, nfds);
		n = -EPROTO;
	}
	return client_die(c, n == -EMSGSIZE ? -EPROTO : (int)n);
}

static int client_poll(struct vb_client *c, int timeout_ms)
{
	int delivered = 0;

	if (c->dead)
		return c->dead;
	if (!c->count)
		return client_check_idle(c);
	while (c->count && !c->closing) {
		int fds[VB_MAX_RAM_REGIONS];
		unsigned int nfds;
		ssize_t n;
		int rc;

		n = client_recv(c, delivered ? 0 : timeout_ms,
				timeout_ms == 0, fds, &nfds);
		if (n == -EAGAIN)
			break;
		/* The hangup stays visible on the socket: report what was
		 * delivered now, the hangup on the next call. */
		if (n == -EPIPE && delivered)
			break;
		if (n < 0)	/* oversized or fd-stuffed datagrams: EPROTO */
			return client_die(c, n == -EMSGSIZE ? -EPROTO : (int)n);
		rc = client_complete(c, (size_t)n, nfds);
		if (rc) {
			transport_close_fds(fds, nfds);
			return client_die(c, rc);
		}
		delivered++;
	}
	return delivered;
}

/*
 * Wait for at least one completion, for as long as vb_client_set_timeout()
 * allows: a broker that does not answer in that time kills the handle.
 */
static int client_poll_limited(struct vb_client *c)
{
	int rc = client_poll(c, c->timeout_ms);

	if (rc == 0 && c->count && !c->dead)
		return client_die(c, -ETIMEDOUT);
	return rc;
}

static void client_free(struct vb_client *c);

/* Every public call that may run callbacks goes in and out through these. */
static void client_enter(struct vb_client *c)
{
	c->depth++;
}

static int client_leave(struct vb_client *c, int rc)
{
	if (--c->depth == 0 && c->closing)
		client_free(c);
	return rc;
}

int vb_client_poll(struct vb_client *c, int timeout_ms)
{
	client_enter(c);
	return client_leave(c, client_poll(c, timeout_ms));
}

int vb_client_wait(struct vb_client *c)
{
	int rc = 0;

	client_enter(c);
	while (c->count && rc >= 0)
		rc = client_poll_limited(c);
	return client_leave(c, rc < 0 ? rc : c->dead);
}

static int client_submit(struct vb_client *c, uint16_t type, const void *e,
			 uint32_t count, vb_client_done_fn done, void *arg,
			 struct vb_stats *stats, uint64_t *id)
{
	struct client_slot *s;
	uint64_t rid;
	ssize_t len;
	int rc;

	if (c->dead)
		return c->dead;
	if (type == VB_MSG_MAP || type == VB_MSG_UNMAP) {
		if (!e || count == 0)
			return -EINVAL;
		if (count > c->info.max_entries)
			return -E2BIG;
	}
	if (c->count == c->cap)
		return -EAGAIN;
	rid = c->next_id;
	switch (type) {
	case VB_MSG_MAP:
		len = vb_encode_map(c->buf, sizeof(c->buf), c->info.version,
				    rid, e, count);
		break;
	case VB_MSG_UNMAP:
		len = vb_encode_unmap(c->buf, sizeof(c->buf), c->info.version,
				      rid, e, count);
		break;
	default:
		len = vb_encode_simple(c->buf, sizeof(c->buf), c->info.version,
				       type, rid);
		break;
	}
	if (len < 0)
		return (int)len;
	if (c->ring.base) {
		/* never full: at most cap <= window <= nslots outstanding */
		rc = vb_ring_send(&c->ring, c->buf, (uint32_t)len);
		if (rc)
			return client_die(c, -EPROTO);
		rc = transport_ring_kick(c->fd, &c->ring, c->info.version,
					 c->timeout_ms);
	} else {
		rc = transport_send(c->fd, c->buf, (size_t)len, c->timeout_ms);
	}
	if (rc) {
		/* replies that came before the hangup are still delivered */
		if (rc == -EPIPE && c->count)
			client_poll(c, 0);
		return client_die(c, rc);
	}
	c->next_id++;
	s = &c->fifo[(c->head + c->count) % c->cap];
	*s = (struct client_slot){ .id = rid, .type = type, .done = done,
				   .arg = arg, .stats = stats };
	c->count++;
	if (id)
		*id = rid;
	return 0;
}

/* A failed send completes what is outstanding: callbacks may run. */
static int client_submit_public(struct vb_client *c, uint16_t type,
				const void *e, uint32_t count,
				vb_client_done_fn done, void *arg, uint64_t *id)
{
	client_enter(c);
	return client_leave(c, client_submit(c, type, e, count, done, arg,
					     NULL, id));
}

int vb_client_submit_map(struct vb_client *c, const struct vb_map_entry *e,
			 uint32_t count, vb_client_done_fn done, void *arg,
			 uint64_t *id)
{
	return client_submit_public(c, VB_MSG_MAP, e, count, done, arg, id);
}

int vb_client_submit_unmap(struct vb_client *c,
			   const struct vb_unmap_entry *e, uint32_t count,
			   vb_client_done_fn done, void *arg, uint64_t *id)
{
	return client_submit_public(c, VB_MSG_UNMAP, e, count, done, arg, id);
}

int vb_client_submit_sync(struct vb_client *c, vb_client_done_fn done,
			  void *arg, uint64_t *id)
{
	return client_submit_public(c, VB_MSG_SYNC, NULL, 0, done, arg, id);
}

struct client_call {
	const struct vb_client *c;
	bool done;
	bool answered;	/* by the broker, not by client_die() */
	struct vb_reply reply;
};

static void client_call_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct client_call *call = arg;

	(void)id;
	call->done = true;
	/* a handle completes its requests itself only once it is dead */
	call->answered = !call->c->dead;
	call->reply = *r;
}

/*
 * Submit and wait for this request; earlier completions run first. A
 * callback of theirs that closes the handle completes this one too.
 */
static int client_call_wait(struct vb_client *c, uint16_t type,
			    const void *e, uint32_t count,
			    struct vb_stats *stats, struct vb_reply *res)
{
	struct client_call call = { .c = c };
	int rc;

	while (c->count == c->cap) {
		rc = client_poll_limited(c);
		if (rc < 0)
			return rc;
	}
	rc = client_submit(c, type, e, count, client_call_done, &call, stats,
			   NULL);
	if (rc)
		return rc;
	while (!call.done) {
		rc = client_poll_limited(c);
		if (rc < 0 && !call.done)
			return rc;
	}
	/* *res is the broker's reply: a call the library failed has none */
	if (res && call.answered)
		*res = call.reply;
	return -call.reply.status;
}

static int client_call(struct vb_client *c, uint16_t type, const void *e,
		       uint32_t count, struct vb_stats *stats,
		       struct vb_reply *res)
{
	client_enter(c);
	return client_leave(c, client_call_wait(c, type, e, count, stats,
						res));
}

int vb_client_map(struct vb_client *c, const struct vb_map_entry *e,
		  uint32_t count, struct vb_reply *res)
{
	return client_call(c, VB_MSG_MAP, e, count, NULL, res);
}

int vb_client_unmap(struct vb_client *c, const struct vb_unmap_entry *e,
		    uint32_t count, struct vb_reply *res)
{
	return client_call(c, VB_MSG_UNMAP, e, count, NULL, res);
}

int vb_client_sync(struct vb_client *c)
{
	return client_call(c, VB_MSG_SYNC, NULL, 0, NULL, NULL);
}

int vb_client_stats(struct vb_client *c, struct vb_stats *out)
{
	struct vb_stats tmp;
	int rc;

	rc = client_call(c, VB_MSG_STATS, NULL, 0, &tmp, NULL);
	if (rc == 0 && out)
		*out = tmp;
	return rc;
}

/*
 * Map the ring the broker sent. Its size is in its own header, read
 * through a first one-page mapping: fstat() may be denied to a sandboxed
 * client, mmap() never is (it maps guest RAM too).
 */
static int client_map_ring(struct vb_client *c, int fd)
{
	struct vb_ring_layout l, need;
	void *mem;

	mem = mmap(NULL, VB_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	memcpy(&l, mem, sizeof(l));
	munmap(mem, VB_PAGE_SIZE);
	/* room for our whole window of the largest requests we may send */
	if (vb_ring_geometry(c->cap, c->info.max_entries, &need) ||
	    vb_ring_check(&l, l.size) || l.nslots < need.nslots ||
	    l.sq_slot < need.sq_slot || l.cq_slot < need.cq_slot)
		return -EPROTO;
	mem = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	vb_ring_attach(&c->ring, mem, &l, VB_RING_CLIENT);
	return 0;
}

/*
 * VB_CLIENT_NO_RING, or VB_CLIENT_RING=0 in the environment: talk to a
 * broker from before the ring, which drops a client that asks for one.
 */
static uint32_t client_hello_flags(uint32_t flags)
{
	const char *v = getenv("VB_CLIENT_RING");

	if ((flags & VB_CLIENT_NO_RING) || (v && !strcmp(v, "0")))
		return 0;
	return VB_HELLO_F_RING;
}

static int client_handshake(struct vb_client *c, uint32_t device_id,
			    uint32_t flags)
{
	struct vb_hello h = {
		.min_version = VB_PROTO_VERSION_MIN,
		.max_version = VB_PROTO_VERSION_MAX,
		.device_id = device_id,
		.flags = client_hello_flags(flags),
	};
	int fds[VB_MAX_WELCOME_FDS];
	struct vb_welcome w;
	unsigned int nfds;
	struct vb_reply r;
	struct vb_msg m;
	ssize_t n;
	int rc;

	n = vb_encode_hello(c->buf, sizeof(c->buf), 0, &h);
	if (n < 0)
		return (int)n;
	rc = transport_send(c->fd, c->buf, (size_t)n, CLIENT_HANDSHAKE_MS);
	if (rc)
		return rc;
	n = transport_recv(c->fd, c->buf, sizeof(c->buf), fds,
			   VB_MAX_WELCOME_FDS, &nfds, CLIENT_HANDSHAKE_MS, 0);
	if (n == -EAGAIN)
		return -ETIMEDOUT;
	if (n == -EMSGSIZE)
		return -EPROTO;	/* larger than any WELCOME */
	if (n < 0)
		return (int)n;
	rc = vb_decode(c->buf, (size_t)n, VB_DIR_TO_CLIENT, 0, nfds, &m);
	if (rc == 0 && m.hdr.id != 0)
		rc = -EPROTO;
	if (rc == 0 && m.hdr.type == VB_MSG_REPLY) {
		/* The broker refused: its status is the answer, as it is. */
		transport_close_fds(fds, nfds);
		if (vb_msg_reply(&m, &r))
			return -EPROTO;
		return r.status > 0 && r.status < 4096 ? -r.status : -EPROTO;
	}
	if (rc == 0)
		rc = vb_msg_welcome(&m, &w, c->info.iova, c->info.ram);
	/* a ring comes only to a HELLO that asked for one (§5.2) */
	if (rc == 0 && (w.flags & VB_WELCOME_F_RING) &&
	    !(h.flags & VB_HELLO_F_RING))
		rc = -EPROTO;
	if (rc) {
		/* whatever the codec says: the broker broke the protocol */
		transport_close_fds(fds, nfds);
		return -EPROTO;
	}
	c->info.version = w.version;
	c->info.device_id = w.device_id;
	c->info.domain_id = w.domain_id;
	c->info.page_size = w.page_size;
	c->info.max_entries = w.max_entries;
	/* what this library can keep outstanding, at most the broker's */
	c->info.window = w.window < CLIENT_MAX_WINDOW ? w.window :
							CLIENT_MAX_WINDOW;
	c->info.n_iova = w.n_iova;
	c->info.n_ram = w.n_ram;
	/* The codec checked nfds: n_ram memfds, then the device fd. */
	for (unsigned int i = 0; i < w.n_ram; i++)
		c->info.ram_fd[i] = fds[i];
	if (w.flags & VB_WELCOME_F_DEVICE_FD)
		c->info.device_fd = fds[w.n_ram];
	c->cap = c->info.window;
	c->fifo = calloc(c->cap, sizeof(*c->fifo));
	if (!c->fifo)
		rc = -ENOMEM;
	if (w.flags & VB_WELCOME_F_RING) {
		int fd = fds[nfds - 1];

		if (rc == 0)
			rc = client_map_ring(c, fd);
		close(fd);	/* the mapping is all we keep */
	}
	return rc;
}

int vb_client_open_fd_flags(int fd, uint32_t device_id, uint32_t flags,
			    struct vb_client **out)
{
	struct vb_client *c;
	int rc;

	*out = NULL;
	if (flags & ~CLIENT_FLAGS) {
		close(fd);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->next_id = 1;
	c->timeout_ms = -1;
	for (unsigned int i = 0; i < VB_MAX_RAM_REGIONS; i++)
		c->info.ram_fd[i] = -1;
	c->info.device_fd = -1;
	rc = client_handshake(c, device_id, flags);
	if (rc) {
		vb_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int vb_client_open_fd(int fd, uint32_t device_id, struct vb_client **out)
{
	return vb_client_open_fd_flags(fd, device_id, 0, out);
}

int vb_client_connect_flags(const char *path, uint32_t device_id,
			    uint32_t flags, struct vb_client **out)
{
	int fd;

	*out = NULL;
	if (flags & ~CLIENT_FLAGS)	/* before anything reaches the broker */
		return -EINVAL;
	fd = transport_connect(path, CLIENT_HANDSHAKE_MS);
	if (fd < 0)
		return fd;
	return vb_client_open_fd_flags(fd, device_id, flags, out);
}

int vb_client_connect(const char *path, uint32_t device_id,
		      struct vb_client **out)
{
	return vb_client_connect_flags(path, device_id, 0, out);
}

static void client_free(struct vb_client *c)
{
	for (unsigned int i = 0; i < VB_MAX_RAM_REGIONS; i++)
		if (c->info.ram_fd[i] >= 0)
			close(c->info.ram_fd[i]);
	if (c->info.device_fd >= 0)
		close(c->info.device_fd);
	if (c->fd >= 0)
		close(c->fd);
	if (c->ring.base)
		munmap(c->ring.base, c->ring.layout.size);
	free(c->fifo);
	free(c);
}

void vb_client_close(struct vb_client *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	client_enter(c);
	client_die(c, -ECANCELED);
	client_leave(c, 0);
}
