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

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/log.h"

void holder_forget(struct device *dev)
{
	if (dev->holder_pidfd >= 0)
		close(dev->holder_pidfd);
	dev->holder_pidfd = -1;
	dev->holder_pid = 0;
}

void holder_claim(struct device *dev, pid_t pid)
{
	if (dev->device_fd < 0)
		return;
	if (dev->holder_pidfd >= 0 && dev->holder_pid == pid)
		return;		/* the same process, claiming again */
	holder_forget(dev);
	dev->holder_pidfd = pidfd_open(pid, 0);
	if (dev->holder_pidfd < 0) {
		/* it exited already: nothing left that could hold the fd */
		if (errno != ESRCH)
			log_warn("device %u: pidfd_open(%d): %s; a later claim will not wait for this process",
				 dev->id, (int)pid, strerror(errno));
		return;
	}
	dev->holder_pid = pid;
}

bool holder_blocks(struct device *dev, pid_t pid)
{
	struct pollfd pfd = { .fd = dev->holder_pidfd, .events = POLLIN };

	if (dev->holder_pidfd < 0 || dev->holder_pid == pid)
		return false;
	if (poll(&pfd, 1, 0) == 0)
		return true;
	/* readable: it has exited (an error: do not keep the device locked) */
	holder_forget(dev);
	return false;
}
