/* SPDX-License-Identifier: BSD-3-Clause */
#include "client/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "vfio-broker/proto.h"

int transport_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t deadline = 0;
	int n, left = timeout_ms;

	if (timeout_ms > 0)
		deadline = vb_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		n = poll(&p, 1, left);
		if (n >= 0 || errno != EINTR)
			break;
		/* a signal must not restart the wait from the beginning */
		if (timeout_ms > 0) {
			uint64_t now = vb_now_ns();

			if (now >= deadline)
				return -EAGAIN;
			left = (int)((deadline - now + 999999) / 1000000);
		}
	}
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EAGAIN;
	if (p.revents & POLLNVAL)
		return -EBADF;
	/* POLLHUP with data still queued: let recv drain it first. */
	return 0;
}

int transport_send(int fd, const void *buf, size_t len, int timeout_ms)
{
	/* sendmsg rather than send: glibc's send() is the sendto syscall, and
	 * one syscall for both directions keeps the seccomp policy short. */
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	for (;;) {
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EMSGSIZE;	/* seqpacket never sends part */
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET || errno == ENOTCONN)
			return -EPIPE;
		if (errno != EAGAIN)
			return -errno;
		rc = transport_wait(fd, POLLOUT, timeout_ms);
		if (rc)
			return rc == -EAGAIN ? -ETIMEDOUT : rc;
	}
}

void transport_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Collect the SCM_RIGHTS fds of @msg into @fds; any beyond @max are closed
 * and reported as -EPROTO. */
static int transport_take_fds(struct msghdr *msg, int *fds,
			      unsigned int max_fds, unsigned int *nfds)
{
	unsigned int n = 0;
	int rc = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t count;
		int tmp;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			rc = -EPROTO;
			continue;
		}
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			memcpy(&tmp, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max_fds) {
				fds[n++] = tmp;
			} else {
				close(tmp);
				rc = -EPROTO;
			}
		}
	}
	*nfds = n;
	return rc;
}

ssize_t transport_recv(int fd, void *buf, size_t cap, int *fds,
		       unsigned int max_fds, unsigned int *nfds,
		       int timeout_ms, unsigned int spin_us)
{
	/* Room for exactly the protocol's maximum; a peer sending more gets
	 * MSG_CTRUNC and the kernel discards the rest. */
	union {
		char buf[CMSG_SPACE(VB_MAX_WELCOME_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct transport_spin spin;
	struct msghdr msg;
	ssize_t n;
	int rc;

	*nfds = 0;
	transport_spin_start(&spin, spin_us, timeout_ms, 8);
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		/* A peer that closed while our requests sat unread in its
		 * queue is reported once as ECONNRESET, before the replies it
		 * did send; read on, they and then EOF follow. */
		if (errno == EINTR || errno == ECONNRESET)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (transport_spin_more(&spin))
			continue;
		rc = transport_wait(fd, POLLIN,
				    transport_spin_left(&spin, timeout_ms));
		if (rc)
			return rc;
	}
	rc = transport_take_fds(&msg, fds, max_fds, nfds);
	if (rc == 0 && (msg.msg_flags & MSG_CTRUNC))
		rc = -EPROTO;
	if (rc == 0 && (msg.msg_flags & MSG_TRUNC))
		rc = -EMSGSIZE;
	if (rc == 0 && n == 0 && *nfds == 0)
		rc = -EPIPE;	/* seqpacket EOF; the protocol has no empty messages */
	if (rc) {
		transport_close_fds(fds, *nfds);
		*nfds = 0;
		return rc;
	}
	return n;
}

/* How long to wait before trying a full listener's backlog again. */
#define TRANSPORT_CONNECT_RETRY_MS	10

int transport_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = vb_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/*
	 * Non-blocking: a blocking connect() to a listener whose backlog is
	 * full (a broker that is not accepting) waits with no limit, and a
	 * signal ends it. Unix sockets never answer EINPROGRESS; a full
	 * backlog is EAGAIN, tried again until the deadline.
	 */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		if (err == EINTR)
			continue;
		if (err != EAGAIN)
			goto fail;
		if (vb_now_ns() >= deadline) {
			err = ETIMEDOUT;
			goto fail;
		}
		poll(NULL, 0, TRANSPORT_CONNECT_RETRY_MS);
	}
	/* handles are blocking (vb_client_fd() may go to the caller's loop) */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		err = errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -err;
}
