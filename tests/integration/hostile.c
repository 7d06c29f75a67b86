/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vb-hostile: a deliberately misbehaving broker client for the integration
 * tests. It speaks the wire protocol by hand (through the codec, never the
 * client library, which would refuse to send most of this) and reports what
 * the broker did: an error reply with its errno, or a disconnect.
 *
 *   vb-hostile --connect PATH [--device N] --expect OUTCOME ATTACK
 *
 * OUTCOME is "disconnect", "ok" or an errno name (EINVAL, ERANGE, ...).
 * The ring-* attacks ask for a shared ring at HELLO and misuse it: what
 * they write into the shared memory is as untrusted as a datagram.
 * The linger-fd* attacks hand the broker a file whose last close blocks
 * for LINGER_SECONDS and then hold it that long (see lingering_socket());
 * stuck-reaper-flood sends a flood of fds behind one.
 * Exit status 0 when the broker did what was expected, 1 otherwise, 2 on a
 * usage or set-up error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* sendmmsg */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/codec.h"
#include "proto/ring.h"

#define OUTCOME_DISCONNECT	(-1)

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "ok", 0 }, { "EINVAL", EINVAL }, { "ERANGE", ERANGE },
	{ "EFAULT", EFAULT }, { "E2BIG", E2BIG }, { "EEXIST", EEXIST },
	{ "EPERM", EPERM }, { "EBUSY", EBUSY }, { "ENODEV", ENODEV },
	{ "ENOSPC", ENOSPC },
	{ "EPROTONOSUPPORT", EPROTONOSUPPORT }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "disconnect", OUTCOME_DISCONNECT },
};

struct conn {
	int fd;
	const char *path;	/* the broker's socket */
	uint16_t version;
	struct vb_welcome welcome;
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	int ram_fd;		/* the first RAM region's memfd */
	int ring_fd;		/* -1 unless the broker granted a ring */
	struct vb_ring ring;
};

static uint8_t buf[VB_MSG_MAX_LEN + 64];

static const char *outcome_name(int v)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].value == v)
			return errno_names[i].name;
	return strerror(v);
}

static int outcome_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcmp(errno_names[i].name, s))
			return errno_names[i].value;
	fprintf(stderr, "vb-hostile: unknown outcome %s\n", s);
	exit(2);
}

/*
 * A connection to @path; -errno when there is none (with SOCK_NONBLOCK in
 * @type, -EAGAIN quietly: the broker's backlog is full).
 */
static int conn_open_type(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		if (err != -EAGAIN)
			perror("vb-hostile: connect");
		close(fd);
		return err;
	}
	return fd;
}

static int conn_open(const char *path)
{
	return conn_open_type(path, SOCK_SEQPACKET);
}

static int send_raw(int fd, const void *p, size_t len)
{
	return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

static int send_with_fd(int sock, const void *p, size_t len, int fd);

/*
 * Receive one message, closing any fds that came with it except the first
 * and the last when @keep_first / @keep_last are set (they get those).
 * Returns its length, 0 on hang-up, or -errno.
 */
static ssize_t recv_msg_keep(int fd, unsigned int *nfds, int timeout_ms,
			     int *keep_first, int *keep_last)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VB_MAX_WELCOME_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	*nfds = 0;
	if (poll(&pfd, 1, timeout_ms) == 0)
		return -ETIMEDOUT;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[VB_MAX_WELCOME_FDS];

		memcpy(fds, CMSG_DATA(c), k * sizeof(int));
		for (unsigned int i = 0; i < k; i++) {
			if (keep_last && i == k - 1)
				*keep_last = fds[i];
			else if (keep_first && i == 0)
				*keep_first = fds[i];
			else
				close(fds[i]);
		}
		*nfds += k;
	}
	return n;
}

static ssize_t recv_msg(int fd, unsigned int *nfds, int timeout_ms)
{
	return recv_msg_keep(fd, nfds, timeout_ms, NULL, NULL);
}

/* Wait for the answer to a request: its status, or OUTCOME_DISCONNECT. */
static int await_reply(struct conn *c)
{
	unsigned int nfds;
	struct vb_msg m;
	struct vb_reply r;
	ssize_t n = recv_msg(c->fd, &nfds, 10000);

	if (n == -ETIMEDOUT) {
		fprintf(stderr, "vb-hostile: no answer within 10 s\n");
		exit(1);
	}
	if (n <= 0)
		return OUTCOME_DISCONNECT;
	if (vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, c->version, nfds, &m) ||
	    vb_msg_reply(&m, &r)) {
		fprintf(stderr, "vb-hostile: broker sent an undecodable reply\n");
		exit(1);
	}
	return r.status;
}

static int hello(struct conn *c, uint32_t device, bool ring)
{
	struct vb_hello h = { VB_PROTO_VERSION_MIN, VB_PROTO_VERSION_MAX,
			      device, ring ? VB_HELLO_F_RING : 0, 0 };
	unsigned int nfds;
	struct vb_msg m;
	struct vb_reply r;
	ssize_t n = vb_encode_hello(buf, sizeof(buf), 1, &h);

	if (n < 0 || send_raw(c->fd, buf, (size_t)n))
		return OUTCOME_DISCONNECT;
	n = recv_msg_keep(c->fd, &nfds, 10000, &c->ram_fd,
			  ring ? &c->ring_fd : NULL);
	if (n <= 0)
		return OUTCOME_DISCONNECT;
	if (vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 0, nfds, &m))
		return OUTCOME_DISCONNECT;
	if (m.hdr.type == VB_MSG_REPLY) {
		vb_msg_reply(&m, &r);
		return r.status;
	}
	if (vb_msg_welcome(&m, &c->welcome, c->iova, c->ram))
		return OUTCOME_DISCONNECT;
	c->version = c->welcome.version;
	if (ring) {
		struct vb_ring_layout l;
		void *mem;

		if (!(c->welcome.flags & VB_WELCOME_F_RING)) {
			fprintf(stderr, "vb-hostile: the broker granted no ring\n");
			exit(2);
		}
		/* its size is in its header; the test's broker is trusted */
		if (pread(c->ring_fd, &l, sizeof(l), 0) != sizeof(l) ||
		    vb_ring_check(&l, l.size)) {
			fprintf(stderr, "vb-hostile: bad ring layout\n");
			exit(2);
		}
		mem = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   c->ring_fd, 0);
		if (mem == MAP_FAILED) {
			perror("vb-hostile: mmap ring");
			exit(2);
		}
		vb_ring_attach(&c->ring, mem, &l, VB_RING_CLIENT);
	}
	return 0;
}

static int send_map(struct conn *c, uint64_t id, const struct vb_map_entry *e,
		    uint32_t count)
{
	ssize_t n = vb_encode_map(buf, sizeof(buf), c->version, id, e, count);

	return n < 0 ? (int)n : send_raw(c->fd, buf, (size_t)n);
}

static struct vb_map_entry good_entry(const struct conn *c)
{
	struct vb_map_entry e = {
		.iova = c->iova[0].start, .gpa = c->ram[0].gpa, .npages = 1,
		.prot = VB_PROT_READ | VB_PROT_WRITE,
	};
	return e;
}

/* Send @len bytes that start like a valid header of @type, then wait. */
static int attack_raw(struct conn *c, uint16_t version, uint16_t type,
		      uint32_t hdr_len, size_t len)
{
	struct vb_hdr h = { version, type, hdr_len, 7 };

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h) < len ? sizeof(h) : len);
	if (send_raw(c->fd, buf, len))
		return OUTCOME_DISCONNECT;
	return await_reply(c);
}

/*
 * Fill the socket without reading replies. The broker must stop reading us
 * once our window is full, so the socket buffer fills and sending blocks;
 * it must then answer every request that it accepted.
 */
static int attack_flood(struct conn *c)
{
	struct vb_unmap_entry u = { c->iova[0].start, 1 };
	unsigned long sent = 0, answered = 0;
	unsigned int nfds;
	int fl = fcntl(c->fd, F_GETFL);

	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		ssize_t n = vb_encode_unmap(buf, sizeof(buf), c->version,
					    sent + 10, &u, 1);
		if (send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) == n) {
			sent++;
			if (sent > 200000) {
				fprintf(stderr, "vb-hostile: flood never throttled\n");
				return EOVERFLOW;
			}
			continue;
		}
		if (errno != EAGAIN)
			return OUTCOME_DISCONNECT;
		/* Blocked: give the broker time to drain, then try once more. */
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };

		if (poll(&p, 1, 500) == 0)
			break;
	}
	fcntl(c->fd, F_SETFL, fl);
	printf("vb-hostile: throttled after %lu requests\n", sent);
	while (answered < sent) {
		struct vb_msg m;
		struct vb_reply r;
		ssize_t n = recv_msg(c->fd, &nfds, 10000);

		if (n <= 0)
			return OUTCOME_DISCONNECT;
		if (vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, c->version,
			      nfds, &m) || vb_msg_reply(&m, &r) || r.status)
			return r.status ? r.status : EPROTO;
		answered++;
	}
	return 0;
}

static struct vb_ring_hdr *ring_hdr(const struct conn *c)
{
	return (struct vb_ring_hdr *)c->ring.base;
}

/*
 * Some attacks need two steps without the broker running in between: the
 * KICKs of ring-kick-banked all queued before it reads one, and in
 * linger-fd our close right after our send. On a loaded host the wakeup
 * our send causes can preempt us right there. As root, such a stretch runs
 * as SCHED_FIFO, which a woken SCHED_OTHER broker cannot preempt; where
 * that is refused, nothing changes.
 */
static void hurry(bool on)
{
	struct sched_param sp = { .sched_priority = on ? 1 : 0 };

	sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp);
}

/*
 * @n KICKs in one sendmmsg(), so they sit in the broker's socket together
 * and one read takes them all: with separate sends, a loaded host could
 * let the broker read, sleep (announcing it) and read again in between,
 * and each of those sleeps would rightly allow one more KICK.
 */
static void send_kicks(struct conn *c, unsigned int n)
{
	struct mmsghdr m[8];
	struct iovec iov;
	ssize_t len = vb_encode_simple(buf, sizeof(buf), c->version,
				       VB_MSG_KICK, 0);

	if (len <= 0 || n > 8)
		return;
	iov = (struct iovec){ .iov_base = buf, .iov_len = (size_t)len };
	for (unsigned int i = 0; i < n; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov,
						      .msg_iovlen = 1 } };
	if (sendmmsg(c->fd, m, n, MSG_NOSIGNAL) != (int)n)
		fprintf(stderr, "vb-hostile: sendmmsg of %u KICKs: %s\n", n,
			strerror(errno));
}

/* As the library does: a KICK only when the broker said it sleeps. */
static void ring_kick(struct conn *c)
{
	if (vb_ring_take_peer_idle(&c->ring))
		send_kicks(c, 1);
}

/* The answer to a ring request: its status, or OUTCOME_DISCONNECT. */
static int ring_await(struct conn *c)
{
	for (int ms = 0; ms < 10000; ms++) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		struct vb_msg m;
		struct vb_reply r;
		ssize_t n;

		n = vb_ring_recv(&c->ring, buf, sizeof(buf));
		if (n >= 0) {
			if (vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT,
				      c->version, 0, &m) || vb_msg_reply(&m, &r)) {
				fprintf(stderr, "vb-hostile: bad reply in the ring\n");
				exit(1);
			}
			return r.status;
		}
		/* we never announce sleeping, so only the hangup comes here */
		if (poll(&p, 1, 1) == 1) {
			unsigned int nfds;

			if (recv_msg(c->fd, &nfds, 0) <= 0)
				return OUTCOME_DISCONNECT;
		}
	}
	fprintf(stderr, "vb-hostile: no answer within 10 s\n");
	exit(1);
}

static int ring_map(struct conn *c, uint64_t id)
{
	struct vb_map_entry e = good_entry(c);
	ssize_t n = vb_encode_map(buf, sizeof(buf), c->version, id, &e, 1);

	if (n < 0 || vb_ring_send(&c->ring, buf, (uint32_t)n))
		return EPROTO;
	ring_kick(c);
	return ring_await(c);
}

/* Fill the request queue with one-page UNMAPs (holes: status 0). */
static int ring_fill(struct conn *c, uint64_t id, unsigned int n)
{
	struct vb_unmap_entry u = { c->iova[0].start, 1 };

	for (unsigned int i = 0; i < n; i++) {
		ssize_t len = vb_encode_unmap(buf, sizeof(buf), c->version,
					      id + i, &u, 1);

		if (len < 0 || vb_ring_send(&c->ring, buf, (uint32_t)len))
			return EPROTO;
	}
	ring_kick(c);
	return 0;
}

/*
 * Queue a whole window, let every reply pile up unread, then queue a
 * second window: the broker must leave it alone (it has nowhere to put
 * the replies), keep the connection, and take it once we read.
 */
static int ring_overfill(struct conn *c)
{
	unsigned int w = c->welcome.window, got;
	int ms, st;

	if (w > c->ring.layout.nslots || ring_fill(c, 100, w))
		return EPROTO;
	for (ms = 0; ms < 10000 && vb_ring_readable(&c->ring) < w; ms++)
		usleep(1000);
	if (vb_ring_readable(&c->ring) != w)
		return ETIMEDOUT;
	if (ring_fill(c, 200, w))
		return EPROTO;
	usleep(300000);
	if (vb_ring_readable(&c->ring) != w) {
		fprintf(stderr, "vb-hostile: %u replies in a ring of %u slots\n",
			vb_ring_readable(&c->ring), w);
		return EOVERFLOW;
	}
	/* reading makes room: every request of both windows is answered */
	for (got = 0; got < 2 * w; got++) {
		st = ring_await(c);
		if (st)
			return st;
		ring_kick(c);
	}
	return 0;
}

/*
 * Make the broker sleep and wake @n times: each time a fresh connection
 * sends it garbage, for which it cuts that connection off. With @take,
 * take its idle word on our ring whenever it announces a sleep there (as
 * a client about to KICK does) and never KICK. How many words we took,
 * or -1 when no connection could be made.
 */
static int make_broker_sleep(struct conn *c, unsigned int n, bool take)
{
	int taken = 0;

	for (unsigned int i = 0; i < n; i++) {
		int fd = conn_open(c->path);
		unsigned int nfds;

		if (fd < 0)
			return -1;
		send_raw(fd, buf, 4);	/* malformed: cut off */
		recv_msg(fd, &nfds, 5000);
		close(fd);
		for (int ms = 0; take && ms < 50; ms++) {
			taken += vb_ring_take_peer_idle(&c->ring);
			usleep(1000);
		}
	}
	return taken;
}

static int run_ring_attack(struct conn *c, const char *a)
{
	uint8_t *slot0 = c->ring.base + c->ring.layout.sq_off;
	uint32_t len;
	int st;

	if (!strcmp(a, "ring-valid"))
		return ring_map(c, 2);
	if (!strcmp(a, "ring-overfill"))
		return ring_overfill(c);
	if (!strcmp(a, "ring-bad-tail")) {
		ring_hdr(c)->sq_tail.v = c->ring.layout.nslots + 5;
		ring_kick(c);
		return ring_await(c);
	}
	if (!strcmp(a, "ring-bad-len")) {
		len = c->ring.layout.sq_slot;	/* 8 bytes past the slot */
		memcpy(slot0, &len, sizeof(len));
		ring_hdr(c)->sq_tail.v = 1;
		ring_kick(c);
		return ring_await(c);
	}
	if (!strcmp(a, "ring-malformed")) {
		len = 40;
		memcpy(slot0, &len, sizeof(len));
		memset(slot0 + 8, 0x5a, len);
		ring_hdr(c)->sq_tail.v = 1;
		ring_kick(c);
		return ring_await(c);
	}
	if (!strcmp(a, "ring-bad-head")) {
		/* a mapping first, which the broker must release on the cut */
		st = ring_map(c, 2);
		if (st)
			return st;
		ring_hdr(c)->cq_head.v = 1000;
		return ring_map(c, 3);
	}
	if (!strcmp(a, "ring-kick-flood")) {
		/* KICKs the broker never asked for: they would keep its socket
		 * readable, and its loop busy, for ever */
		for (int i = 0; i < 256; i++)
			send_kicks(c, 1);
		return ring_map(c, 2);
	}
	if (!strcmp(a, "ring-kick-banked")) {
		/*
		 * Stay quiet, never taking the broker's idle word, while
		 * it sleeps and wakes 20 times; then KICK 8 times at once:
		 * at most one KICK may pass (the broker may be asleep with
		 * the word set), the next must cut us off. With the 20
		 * sleeps banked, all 8 would pass.
		 */
		if (make_broker_sleep(c, 20, false) < 0)
			return EPROTO;
		hurry(true);
		send_kicks(c, 8);
		hurry(false);
		return ring_map(c, 2);
	}
	if (!strcmp(a, "ring-kick-taken")) {
		/*
		 * The same, but taking the idle word each time the broker
		 * announces a sleep, as a client about to KICK does, and
		 * never sending that KICK: the broker stops announcing to a
		 * client that owes it 4, so of the 8 at most 4 may pass.
		 * Without that, each of the 20 sleeps banked one.
		 */
		int taken = make_broker_sleep(c, 20, true);

		if (taken < 0)
			return EPROTO;
		fprintf(stderr, "vb-hostile: took the broker's idle word %d time(s), sent no KICK\n",
			taken);
		hurry(true);
		send_kicks(c, 8);
		hurry(false);
		return ring_map(c, 2);
	}
	if (!strcmp(a, "ring-kick-in-ring")) {
		ssize_t n = vb_encode_simple(buf, sizeof(buf), c->version,
					     VB_MSG_KICK, 0);

		if (n < 0 || vb_ring_send(&c->ring, buf, (uint32_t)n))
			return EPROTO;
		ring_kick(c);
		return ring_await(c);
	}
	if (!strcmp(a, "ring-socket-request")) {
		struct vb_map_entry e = good_entry(c);

		return send_map(c, 2, &e, 1) ? OUTCOME_DISCONNECT :
					       ring_await(c);
	}
	if (!strcmp(a, "ring-resize")) {
		/* the seals must keep the broker's mapping whole */
		if (ftruncate(c->ring_fd, 4096) == 0 ||
		    ftruncate(c->ring_fd, 1u << 26) == 0)
			return 0;
		return errno;
	}
	fprintf(stderr, "vb-hostile: unknown attack %s\n", a);
	exit(2);
}

static int run_attack(struct conn *c, const char *a)
{
	struct vb_map_entry e = good_entry(c);
	uint64_t wend = c->iova[0].start + c->iova[0].size;
	uint64_t rend = c->ram[0].gpa + c->ram[0].size;

	if (!strcmp(a, "valid")) {
		int st = send_map(c, 2, &e, 1) ? OUTCOME_DISCONNECT :
						 await_reply(c);

		if (st)
			return st;
		struct vb_unmap_entry u = { e.iova, 1 };
		ssize_t n = vb_encode_unmap(buf, sizeof(buf), c->version, 3,
					    &u, 1);
		return send_raw(c->fd, buf, (size_t)n) ? OUTCOME_DISCONNECT :
							 await_reply(c);
	}
	if (!strcmp(a, "short"))
		return attack_raw(c, c->version, VB_MSG_SYNC, 16, 3);
	if (!strcmp(a, "bad-len"))
		return attack_raw(c, c->version, VB_MSG_SYNC, 24, 16);
	if (!strcmp(a, "bad-version"))
		return attack_raw(c, 77, VB_MSG_SYNC, 16, 16);
	if (!strcmp(a, "unknown-type"))
		return attack_raw(c, c->version, 99, 16, 16);
	if (!strcmp(a, "reply-type"))
		return attack_raw(c, c->version, VB_MSG_REPLY, 32, 32);
	if (!strcmp(a, "bad-count")) {
		ssize_t n = vb_encode_map(buf, sizeof(buf), c->version, 5, &e, 1);
		struct vb_batch b = { 2, 0 };

		memcpy(buf + sizeof(struct vb_hdr), &b, sizeof(b));
		return send_raw(c->fd, buf, (size_t)n) ? OUTCOME_DISCONNECT :
							 await_reply(c);
	}
	if (!strcmp(a, "second-hello"))
		return hello(c, c->welcome.device_id, false);
	if (!strcmp(a, "out-of-window")) {
		e.iova = wend;
		return send_map(c, 6, &e, 1) ? OUTCOME_DISCONNECT :
					       await_reply(c);
	}
	if (!strcmp(a, "straddle-window")) {
		e.iova = wend - VB_PAGE_SIZE;
		e.npages = 2;
		return send_map(c, 6, &e, 1) ? OUTCOME_DISCONNECT :
					       await_reply(c);
	}
	if (!strcmp(a, "gpa-outside")) {
		e.gpa = rend;
		return send_map(c, 7, &e, 1) ? OUTCOME_DISCONNECT :
					       await_reply(c);
	}
	if (!strcmp(a, "unaligned")) {
		e.iova += 512;
		return send_map(c, 8, &e, 1) ? OUTCOME_DISCONNECT :
					       await_reply(c);
	}
	if (!strcmp(a, "overflow")) {
		e.npages = UINT64_MAX / VB_PAGE_SIZE;
		return send_map(c, 9, &e, 1) ? OUTCOME_DISCONNECT :
					       await_reply(c);
	}
	if (!strcmp(a, "bad-prot")) {
		e.prot = 0x80;
		return send_map(c, 10, &e, 1) ? OUTCOME_DISCONNECT :
						await_reply(c);
	}
	if (!strcmp(a, "too-many")) {
		static struct vb_map_entry many[VB_MAX_ENTRIES_HARD];
		uint32_t n = c->welcome.max_entries + 1;

		for (uint32_t i = 0; i < n; i++) {
			many[i] = e;
			many[i].iova += (uint64_t)i * VB_PAGE_SIZE;
		}
		return send_map(c, 11, many, n) ? OUTCOME_DISCONNECT :
						  await_reply(c);
	}
	if (!strcmp(a, "flood"))
		return attack_flood(c);
	/* a datagram of no bytes, which a read cannot tell from EOF alone */
	if (!strcmp(a, "empty"))
		return send_raw(c->fd, buf, 0) ? OUTCOME_DISCONNECT :
						 await_reply(c);
	if (!strcmp(a, "empty-fds"))
		return send_with_fd(c->fd, buf, 0, c->ram_fd) ?
			OUTCOME_DISCONNECT : await_reply(c);
	if (!strcmp(a, "oversize")) {
		/* a whole MAP of the protocol's largest size, 64 bytes longer
		 * than any message may be: read whole, it would decode */
		static struct vb_map_entry most[VB_MAX_ENTRIES_HARD];
		ssize_t n;

		for (uint32_t i = 0; i < VB_MAX_ENTRIES_HARD; i++)
			most[i] = e;
		n = vb_encode_map(buf, sizeof(buf), c->version, 12, most,
				  VB_MAX_ENTRIES_HARD);
		if (n != VB_MSG_MAX_LEN)
			return EPROTO;
		memset(buf + n, 0, 64);
		return send_raw(c->fd, buf, (size_t)n + 64) ?
			OUTCOME_DISCONNECT : await_reply(c);
	}
	if (!strcmp(a, "ram-resize")) {
		/* guest RAM is shared by every client of the broker: shrinking
		 * it would SIGBUS the others, so its seals must refuse */
		if (ftruncate(c->ram_fd, 0) == 0 ||
		    ftruncate(c->ram_fd, (off_t)c->ram[0].size * 2) == 0)
			return 0;
		return errno;
	}
	if (!strncmp(a, "ring-", 5))
		return run_ring_attack(c, a);
	fprintf(stderr, "vb-hostile: unknown attack %s\n", a);
	exit(2);
}

/*
 * Control-socket clients that ask and hang up before the answer: the
 * broker's write fails, and each connection must still be freed (the
 * test compares the broker's open fds before and after).
 */
static int control_hangups(const char *path)
{
	for (int i = 0; i < 64; i++) {
		int fd = conn_open_type(path, SOCK_STREAM);

		if (fd < 0)
			return 2;
		if (send_raw(fd, "stats\n", 6)) {
			close(fd);
			return 2;
		}
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	printf("vb-hostile: control-hangups: done\n");
	return 0;
}

/*
 * Connections that never say HELLO: the broker keeps only a few per user,
 * so one more is closed at once (outcome "disconnect").
 */
#define SILENT_MAX	8	/* the broker's LISTENER_MAX_HANDSHAKES */
static int silent_connections(const char *path, int want)
{
	int fds[SILENT_MAX + 1], got;
	unsigned int nfds;

	for (int i = 0; i <= SILENT_MAX; i++) {
		fds[i] = conn_open(path);
		if (fds[i] < 0)
			return 2;
	}
	/* the first ones are kept (no answer yet), the last is not */
	got = recv_msg(fds[SILENT_MAX], &nfds, 5000) == 0 ?
	      OUTCOME_DISCONNECT : 0;
	if (got && recv_msg(fds[0], &nfds, 0) != -ETIMEDOUT)
		got = EPROTO;	/* a connection within the limit was cut */
	for (int i = 0; i <= SILENT_MAX; i++)
		close(fds[i]);
	printf("vb-hostile: silent-connections: %s (expected %s)\n",
	       outcome_name(got), outcome_name(want));
	return got == want ? 0 : 1;
}

#define LINGER_SECONDS	30

/*
 * A TCP connection whose last close blocks: its peer end, kept open here
 * and never read, has a full receive buffer, the returned end a full send
 * buffer and SO_LINGER, so closing it waits up to LINGER_SECONDS for data
 * that cannot drain. *@hold gets the peer end. -errno on failure.
 */
static int lingering_socket(int *hold)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { .l_onoff = 1, .l_linger = LINGER_SECONDS };
	socklen_t len = sizeof(sa);
	int small = 4096, l, c = -1, srv = -1;
	static const char junk[4096];

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	/* small buffers fill fast; the accepted end inherits SO_RCVBUF */
	if (setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    bind(l, (struct sockaddr *)&sa, len) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		goto fail;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 ||
	    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) ||
	    connect(c, (struct sockaddr *)&sa, len))
		goto fail;
	srv = accept(l, NULL, NULL);
	if (srv < 0 || fcntl(c, F_SETFL, O_NONBLOCK))
		goto fail;
	while (send(c, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	if (errno != EAGAIN ||
	    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		goto fail;
	close(l);
	*hold = srv;
	return c;
fail:
	perror("vb-hostile: lingering socket");
	close(l);
	if (c >= 0)
		close(c);
	if (srv >= 0)
		close(srv);
	return -EIO;
}

#define FLOOD_FDS	253	/* the most one datagram carries (SCM_MAX_FD) */

/* Control room for up to FLOOD_FDS fds in SCM_RIGHTS. */
union fd_cmsg {
	char b[CMSG_SPACE(sizeof(int) * FLOOD_FDS)];
	struct cmsghdr align;
};

/* Make @mh carry @n references to @fd (1 <= @n <= FLOOD_FDS) in @ctl. */
static void put_fds(struct msghdr *mh, union fd_cmsg *ctl, int fd,
		    unsigned int n)
{
	struct cmsghdr *c;

	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->b;
	mh->msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	for (unsigned int i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
}

static int send_with_fd(int sock, const void *p, size_t len, int fd)
{
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union fd_cmsg ctl;

	put_fds(&mh, &ctl, fd, 1);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* @p alone, then @p again with @fd, in one call; how many went. */
static int send_two(int sock, const void *p, size_t len, int fd)
{
	struct iovec iov[2] = { { (void *)p, len }, { (void *)p, len } };
	struct mmsghdr mm[2] = {
		{ .msg_hdr = { .msg_iov = &iov[0], .msg_iovlen = 1 } },
		{ .msg_hdr = { .msg_iov = &iov[1], .msg_iovlen = 1 } },
	};
	union fd_cmsg ctl;

	put_fds(&mm[1].msg_hdr, &ctl, fd, 1);
	return sendmmsg(sock, mm, 2, MSG_NOSIGNAL);
}

static void on_alarm(int sig)
{
	(void)sig;	/* only there to interrupt a lingering close */
}

/*
 * Close our copy of the lingering end: at once when the broker still
 * holds one. When ours is the last, the close lingers until an alarm
 * interrupts it after 200 ms; returns whether it did.
 */
static bool close_lingered(int c)
{
	struct itimerval arm = { .it_value.tv_usec = 200 * 1000 }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct timespec t0, t1;

	sigaction(SIGALRM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setitimer(ITIMER_REAL, &arm, NULL);
	close(c);
	setitimer(ITIMER_REAL, &off, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1000000000L +
	       (t1.tv_nsec - t0.tv_nsec) >= 150 * 1000 * 1000L;
}

/*
 * Pass the broker the lingering end of a TCP connection with a datagram
 * it must refuse, over a fresh connection, and let go of our copy at once,
 * so that the broker's close is the last: with that datagram (which the
 * broker reads), or @queued in a second datagram behind it (one sendmmsg),
 * which the broker never reads and drops with the connection. Should the
 * broker be done with its copy before we close ours (or cut us off before
 * the fd went), the attempt tests nothing and is made again. Returns the
 * connection, *@hold the peer end (closing it ends the wait) and
 * *@attempt the attempts taken; -1 when that cannot be had.
 */
static int pass_lingering(const char *path, bool queued, int *hold,
			  int *attempt)
{
	static const uint8_t garbage[8] = { 0xff, 0xff, 0xff, 0xff };
	int fd;

	for (*attempt = 1; *attempt <= 20; (*attempt)++) {
		int c = lingering_socket(hold);
		bool sent, last;

		if (c < 0)
			return -1;
		fd = conn_open(path);
		if (fd < 0)
			return -1;
		hurry(true);
		if (queued)
			sent = send_two(fd, garbage, sizeof(garbage), c) == 2;
		else
			sent = !send_with_fd(fd, garbage, sizeof(garbage), c);
		last = sent && close_lingered(c);
		hurry(false);
		if (sent && !last)
			return fd;
		/* the hold end's close resets the connection: no wait */
		close(*hold);
		if (!sent)
			close(c);
		close(fd);
	}
	fprintf(stderr, "vb-hostile: the broker's close was never the last in 20 attempts\n");
	return -1;
}

/*
 * linger-fd and linger-fd-queued (see pass_lingering()): the broker must
 * cut the client off, within 10 s, and go on serving everyone else while
 * that close waits; the peer end is held here for LINGER_SECONDS after
 * the outcome is printed (kill this process to end the wait early).
 */
static int linger_fd(const char *path, const char *attack, int want)
{
	int fd, hold, got, attempt;
	unsigned int nfds;
	ssize_t n;

	fd = pass_lingering(path, !strcmp(attack, "linger-fd-queued"), &hold,
			    &attempt);
	if (fd < 0)
		return 2;
	n = recv_msg(fd, &nfds, 10000);
	got = n == 0 ? OUTCOME_DISCONNECT : n == -ETIMEDOUT ? ETIMEDOUT : EPROTO;
	printf("vb-hostile: %s: %s (expected %s; attempt %d)\n", attack,
	       outcome_name(got), outcome_name(want), attempt);
	fflush(stdout);
	close(fd);
	sleep(LINGER_SECONDS);
	close(hold);
	return got == want ? 0 : 1;
}

/* A datagram of garbage with @n references to @fd, without waiting. */
static int send_fd_copies(int sock, int fd, unsigned int n)
{
	static const uint8_t garbage[8] = { 0xff, 0xff, 0xff, 0xff };
	struct iovec iov = { (void *)garbage, sizeof(garbage) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union fd_cmsg ctl;

	put_fds(&mh, &ctl, fd, n);
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) ==
	       (ssize_t)sizeof(garbage) ? 0 : -errno;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * stuck-reaper-flood, on @c, which has said HELLO: a lingering socket
 * (pass_lingering()) holds the broker's reaper thread in its close; then
 * fresh connections (at most 40) each bring FLOOD_FDS references to
 * /dev/null (whose closes never block: we keep our copy) until the broker
 * takes no more connections for 2 s, and a second lingering socket goes
 * over a connection made before the flood. Before, those fds piled up in
 * the broker until its fd table was full, and the kernel then dropped the
 * second socket's fd in the broker's event loop, whose close waited
 * LINGER_SECONDS with every client. Now @c must still get the "valid"
 * attack's MAP and UNMAP answered, each within 10 s; and once the lingering sockets are let go, a new client must get
 * its HELLO answered within 20 s. The outcome is the first that failed.
 */
static int stuck_reaper_flood(struct conn *c, uint32_t device)
{
	static const uint8_t garbage[8] = { 0xff, 0xff, 0xff, 0xff };
	int hold1, hold2 = -1, first, early, l2, dn, fd, attempt, got;
	unsigned int conns = 0, again = 0;
	struct timespec t0, t_ok;
	struct conn late = { .fd = -1, .ram_fd = -1, .ring_fd = -1 };

	first = pass_lingering(c->path, false, &hold1, &attempt);
	early = conn_open(c->path);
	dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (first < 0 || early < 0 || dn < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t_ok);
	/* 48: well past a 4096-fd table, well below what may be in flight */
	while (secs_since(&t_ok) < 2.0 && conns < 48) {
		struct pollfd pfd = { .events = POLLIN };

		fd = conn_open_type(c->path, SOCK_SEQPACKET | SOCK_NONBLOCK);
		if (fd == -EAGAIN) {
			again++;
			usleep(10000);
			continue;
		}
		if (fd < 0)
			return 2;
		if (!send_fd_copies(fd, dn, FLOOD_FDS)) {
			conns++;
			clock_gettime(CLOCK_MONOTONIC, &t_ok);
			/*
			 * Until the broker has read it and hung up (or 100 ms):
			 * its fds are then the broker's, not ours in flight,
			 * and the per-user cap on connections without HELLO
			 * does not refuse the next one unread.
			 */
			pfd.fd = fd;
			poll(&pfd, 1, 100);
		}
		close(fd);
	}
	l2 = lingering_socket(&hold2);
	if (l2 < 0)
		return 2;
	fd = send_with_fd(early, garbage, sizeof(garbage), l2);
	if (fd) {
		/* ETOOMANYREFS: more fds in flight than our RLIMIT_NOFILE */
		fprintf(stderr, "vb-hostile: stuck-reaper-flood: the second lingering socket did not go: %s\n",
			strerror(-fd));
		return 2;
	}
	close_lingered(l2);
	sleep(1);	/* for the broker to take it, if it reads */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = run_attack(c, "valid");	/* exits when 10 s bring no answer */
	printf("vb-hostile: stuck-reaper-flood: %u connection(s) of %u fds each, %u refused for a full backlog; a client with HELLO: %s after %.1f s\n",
	       conns, FLOOD_FDS, again, outcome_name(got), secs_since(&t0));
	fflush(stdout);
	/* let the lingering closes end: the reaper catches up */
	close(hold1);
	close(hold2);
	close(first);
	close(early);
	close(c->fd);
	c->fd = -1;
	if (got)
		return got;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = ETIMEDOUT;
	while (got && secs_since(&t0) < 20.0) {
		late.path = c->path;
		late.fd = conn_open(c->path);
		if (late.fd < 0)
			return 2;
		got = hello(&late, device, false);
		close(late.fd);
		if (got)
			sleep(1);
	}
	printf("vb-hostile: stuck-reaper-flood: afterwards a new client's HELLO: %s after %.1f s\n",
	       outcome_name(got), secs_since(&t0));
	return got;
}

/*
 * Two thousand connections in a row, each cut off for a malformed
 * message: every one must be cut off, and the broker must not write four
 * thousand lines about them (its log budget; the test reads the log).
 */
static int log_flood(const char *path, int want)
{
	static const uint8_t garbage[4] = { 0xff, 0xff, 0xff, 0xff };
	int got = OUTCOME_DISCONNECT;

	for (int i = 0; i < 2000 && got == OUTCOME_DISCONNECT; i++) {
		int fd = conn_open(path);
		unsigned int nfds;

		if (fd < 0)
			return 2;
		if (send_raw(fd, garbage, sizeof(garbage)) ||
		    recv_msg(fd, &nfds, 10000) != 0)
			got = EPROTO;
		close(fd);
	}
	printf("vb-hostile: log-flood: %s (expected %s)\n", outcome_name(got),
	       outcome_name(want));
	return got == want ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vb-hostile --connect PATH [--device N] --expect OUTCOME ATTACK\n"
		"  OUTCOME: ok | disconnect | EINVAL | ERANGE | EFAULT | E2BIG | EPERM | EBUSY | ENODEV ...\n"
		"  ATTACK:  hello (claim only) | valid | short | bad-len | bad-version |\n"
		"           unknown-type | reply-type | bad-count | second-hello |\n"
		"           out-of-window | straddle-window | gpa-outside | unaligned |\n"
		"           overflow | bad-prot | too-many | flood | empty | empty-fds |\n"
		"           oversize | ram-resize |\n"
		"           silent-connections | control-hangups (PATH: the control socket) |\n"
		"           ring-valid | ring-overfill | ring-bad-tail | ring-bad-len |\n"
		"           ring-malformed | ring-bad-head | ring-socket-request |\n"
		"           ring-kick-flood | ring-kick-in-ring | ring-kick-banked |\n"
		"           ring-kick-taken | ring-resize |\n"
		"           linger-fd | linger-fd-queued | log-flood |\n"
		"           stuck-reaper-flood (needs a free --device)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' },
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *path = NULL, *expect = NULL;
	uint32_t device = VB_DEVICE_ANY;
	struct conn c = { .fd = -1, .ram_fd = -1, .ring_fd = -1 };
	int opt, got, want;

	while ((opt = getopt_long(argc, argv, "c:d:e:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'd': device = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': expect = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || !expect || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	want = outcome_parse(expect);
	if (!strcmp(argv[optind], "silent-connections"))
		return silent_connections(path, want);
	if (!strcmp(argv[optind], "control-hangups"))
		return control_hangups(path);
	if (!strcmp(argv[optind], "log-flood"))
		return log_flood(path, want);
	if (!strncmp(argv[optind], "linger-fd", 9))
		return linger_fd(path, argv[optind], want);
	c.path = path;
	c.fd = conn_open(path);
	if (c.fd < 0)
		return 2;
	got = hello(&c, device, !strncmp(argv[optind], "ring-", 5));
	if (!got && !strcmp(argv[optind], "stuck-reaper-flood"))
		got = stuck_reaper_flood(&c, device);
	else if (!got && strcmp(argv[optind], "hello"))
		got = run_attack(&c, argv[optind]);
	printf("vb-hostile: %s: %s (expected %s)\n", argv[optind],
	       outcome_name(got), outcome_name(want));
	close(c.fd);
	return got == want ? 0 : 1;
}
