// SPDX-License-Identifier: BSD-3-Clause
/*
 * Device fd holders (see holder.h), tracked by pidfd: a pid alone could be
 * reused by an unrelated process once the holder is reaped, a pidfd
 * cannot, and it becomes readable when its process exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "broker/holder.h"
#include "common/uapi_compat.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

int holder_peer_pidfd(int fd, pid_t pid)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	/*
	 * Outside our pid namespace the peer's pid reads 0, even where
	 * SO_PEERPIDFD gives a pidfd: every such client would look like the
	 * same process to holder_is().
	 */
	if (pid <= 0)
		return -ESRCH;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return pidfd;
	/*
	 * Kernels before 6.5 have no SO_PEERPIDFD: the pid, looked up at
	 * once. Any other error (6.5-6.15 say EINVAL for a peer already
	 * reaped, later ones ESRCH) means the peer is gone, and its pid may
	 * already name another process.
	 */
	if (errno != ENOPROTOOPT)
		return -errno;
	pidfd = pidfd_open(pid, 0);
	return pidfd < 0 ? -errno : pidfd;
}

static bool holder_alive(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	/* readable once the process has exited; an error: treat as gone */
	return pidfd >= 0 && poll(&pfd, 1, 0) == 0;
}

void holder_forget(struct device *dev)
{
	if (dev->holder_pidfd >= 0)
		close(dev->holder_pidfd);
	dev->holder_pidfd = -1;
	dev->holder_pid = 0;
}

/* Is @p the holder? Two live processes never share a pid. */
static bool holder_is(const struct device *dev, const struct peer *p)
{
	return p->pid == dev->holder_pid && holder_alive(p->pidfd);
}

int holder_check(struct device *dev, const struct peer *p, const char **why)
{
	static char msg[96];

	if (dev->device_fd < 0)
		return 0;
	if (p->pidfd < 0) {
		*why = "cannot follow the client process (no pidfd), so its device fd cannot be lent";
		return EPERM;
	}
	/*
	 * The process that connected is gone, yet its socket speaks: a child
	 * that inherited it, which the broker cannot follow.
	 */
	if (!holder_alive(p->pidfd)) {
		*why = "the process that connected has exited; whoever inherited its socket cannot be followed";
		return EPERM;
	}
	if (!holder_alive(dev->holder_pidfd)) {
		holder_forget(dev);
		return 0;
	}
	if (holder_is(dev, p))
		return 0;
	snprintf(msg, sizeof(msg),
		 "its last client, pid %d, still runs and may hold its device fd",
		 (int)dev->holder_pid);
	*why = msg;
	return EBUSY;
}

void holder_claim(struct device *dev, struct peer *p)
{
	/*
	 * holder_check() has just forgotten a holder that exited, so one
	 * still kept is @p's own process, claiming again: it keeps its pidfd.
	 */
	if (dev->device_fd < 0 || dev->holder_pidfd >= 0)
		return;
	dev->holder_pidfd = p->pidfd;
	dev->holder_pid = p->pid;
	p->pidfd = -1;
}
