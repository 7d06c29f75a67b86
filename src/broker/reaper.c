// SPDX-License-Identifier: BSD-3-Clause
/*
 * The reaper thread (see reaper.h). fds travel to it as ints through a
 * pipe: a pipe write of one int is atomic, needs no lock shared with the
 * event loop, and the thread needs only read() and close(), which the
 * broker's seccomp policy allows anyway. Every fd queued is an fd the
 * broker holds open, so the queue is bounded by its fd limit. Should the
 * pipe fill anyway (the thread stuck behind some 16,000 closes), the
 * caller closes the fd itself rather than lose it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "broker/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

struct reaper_boot {
	int rfd;	/* the queue */
	int ready;	/* written once the thread runs */
};

static void *reaper_main(void *arg)
{
	const struct reaper_boot *boot = arg;
	int rfd = boot->rfd;
	int fds[256];

	/*
	 * glibc sets a new thread up (rseq, robust list) before it calls us;
	 * the sandbox must not come before that, it allows none of it.
	 */
	if (write(boot->ready, "", 1) != 1)
		return NULL;

	for (;;) {
		ssize_t n = read(rfd, fds, sizeof(fds));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)	/* cannot happen: the write end stays open */
			break;
		/* writers send whole ints and pipes keep them whole */
		for (size_t i = 0; i < (size_t)n / sizeof(int); i++)
			close(fds[i]);
	}
	close(rfd);
	return NULL;
}

int reaper_start(struct reaper *r)
{
	struct reaper_boot boot;
	sigset_t all, old;
	pthread_attr_t attr;
	int p[2], ready[2], ret;
	pthread_t t;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	if (pipe2(ready, O_CLOEXEC)) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	boot = (struct reaper_boot){ .rfd = p[0], .ready = ready[1] };
	if (fcntl(p[1], F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		goto err;
	}
	/* signals stay with the event loop's signalfd: block them all here */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_attr_init(&attr);
	if (!ret) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ret = -pthread_create(&t, &attr, reaper_main, &boot);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err;
	/* the thread owns p[0] from here; wait until it runs */
	while (read(ready[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	close(ready[1]);
	r->wfd = p[1];
	r->running = true;
	return 0;
err:
	close(p[0]);
	close(p[1]);
	close(ready[0]);
	close(ready[1]);
	return ret;
}

void reaper_close(struct reaper *r, int fd)
{
	ssize_t n;

	if (fd < 0)
		return;
	if (r->running) {
		do
			n = write(r->wfd, &fd, sizeof(fd));
		while (n < 0 && errno == EINTR);
		if (n == sizeof(fd))
			return;
		log_warn("reaper: cannot queue fd %d (%s); closing it here",
			 fd, n < 0 ? strerror(errno) : "short write");
	}
	close(fd);
}

void reaper_close_socket(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	/* queued datagrams stay, so their fds are released with the close */
	shutdown(fd, SHUT_RDWR);
	reaper_close(r, fd);
}
