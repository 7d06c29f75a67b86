/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client transport: one datagram in or out of a SOCK_SEQPACKET socket, with
 * poll() for the waiting so the socket's own blocking mode does not matter.
 * Knows sockets and fds, nothing of the message contents.
 */
#ifndef VB_CLIENT_TRANSPORT_H
#define VB_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"

/*
 * A busy-wait budget of @spin_us microseconds (0: none), within a wait of
 * @timeout_ms (0: no wait, so no spin; -1: forever): the spin is part of
 * the wait, never added to it. The clock is read only every @every tries:
 * reading it can cost a system call too.
 */
struct transport_spin {
	uint64_t start, end;	/* end 0: no budget */
	unsigned int tries, every;
};

static inline void transport_spin_start(struct transport_spin *s,
					unsigned int spin_us, int timeout_ms,
					unsigned int every)
{
	uint64_t ns = spin_us * 1000ull;

	if (timeout_ms > 0 && ns > (uint64_t)timeout_ms * 1000000u)
		ns = (uint64_t)timeout_ms * 1000000u;
	s->start = timeout_ms && ns ? vb_now_ns() : 0;
	s->end = s->start ? s->start + ns : 0;
	s->tries = 0;
	s->every = every;
}

/* May the caller try once more? */
static inline bool transport_spin_more(struct transport_spin *s)
{
	return s->end && (++s->tries % s->every || vb_now_ns() < s->end);
}

/* What is left of @timeout_ms once the spin is over (-1 stays -1). */
static inline int transport_spin_left(const struct transport_spin *s,
				      int timeout_ms)
{
	uint64_t spent;

	if (timeout_ms <= 0 || !s->start)
		return timeout_ms;
	spent = (vb_now_ns() - s->start) / 1000000u;
	return spent >= (uint64_t)timeout_ms ? 0 : timeout_ms - (int)spent;
}

/* Wait for @events on @fd: 0 when ready (or hung up), -EAGAIN after
 * @timeout_ms (-1: never), -EBADF for a bad fd. */
int transport_wait(int fd, short events, int timeout_ms);

/* Send one datagram, waiting up to @timeout_ms (-1: forever) for room.
 * -EPIPE when the peer is gone, -ETIMEDOUT when no room came. */
int transport_send(int fd, const void *buf, size_t len, int timeout_ms);

/*
 * Receive one datagram into @buf, with up to @max_fds fds (close-on-exec)
 * stored in @fds and their number in *@nfds. Waits up to @timeout_ms (-1:
 * forever); before it blocks, keeps retrying for up to @spin_us
 * microseconds (0: block at once). Returns the length, or:
 *   -EAGAIN    nothing arrived in time
 *   -EPIPE     the peer hung up
 *   -EMSGSIZE  datagram larger than @cap (discarded)
 *   -EPROTO    more fds than @max_fds were sent (all of them closed)
 */
ssize_t transport_recv(int fd, void *buf, size_t cap, int *fds,
		       unsigned int max_fds, unsigned int *nfds,
		       int timeout_ms, unsigned int spin_us);

/*
 * A SOCK_SEQPACKET socket connected to the listening socket at @path
 * (close-on-exec, blocking): the fd, or -errno. A listener whose backlog
 * is full is retried until @timeout_ms has passed (-ETIMEDOUT); a signal
 * neither ends nor restarts that.
 */
int transport_connect(const char *path, int timeout_ms);

void transport_close_fds(int *fds, unsigned int n);

#endif /* VB_CLIENT_TRANSPORT_H */
