// SPDX-License-Identifier: BSD-3-Clause
/*
 * The reaper thread (see reaper.h). fds travel to it as ints through a
 * pipe: a pipe write of one int is atomic, needs no lock shared with the
 * event loop, and the thread needs only read() and close(), which the
 * broker's seccomp policy allows anyway. Every fd queued is an fd the
 * broker holds open, so the queue is bounded by its fd limit, and the
 * broker stops taking fds from clients long before the pipe is full
 * (reaper_busy()). Should it fill anyway, fds wait in a list here, never
 * closed by the caller: that close could be the one that blocks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "broker/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

struct reaper_boot {
	int rfd;	/* the queue */
	int ready;	/* written once the thread runs */
	atomic_uint *open;
};

static void *reaper_main(void *arg)
{
	const struct reaper_boot *boot = arg;
	atomic_uint *open = boot->open;
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
		for (size_t i = 0; i < (size_t)n / sizeof(int); i++) {
			close(fds[i]);
			atomic_fetch_sub(open, 1);
		}
	}
	close(rfd);
	return NULL;
}

/* See reaper_busy(). */
static void reaper_set_limit(struct reaper *r, int wfd, unsigned int reserve)
{
	int pipe_bytes = fcntl(wfd, F_GETPIPE_SZ);
	unsigned long long nofile = ULLONG_MAX;
	struct rlimit rl;

	r->limit = pipe_bytes > 0 ? (unsigned int)pipe_bytes / sizeof(int) / 2 :
		   1024;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		nofile = rl.rlim_cur;
	if (nofile / 4 < r->limit)
		r->limit = (unsigned int)(nofile / 4);
	if (nofile <= reserve)
		r->limit = 0;
	else if (nofile - reserve < r->limit)
		r->limit = (unsigned int)(nofile - reserve);
	if (r->limit < 16) {
		r->limit = 16;
		log_warn("RLIMIT_NOFILE %llu leaves too little room for fds clients may send while the reaper waits on a close: raise it to at least %u",
			 nofile, reserve + 64);
	}
}

int reaper_start(struct reaper *r, unsigned int reserve)
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
	r->open = calloc(1, sizeof(*r->open));
	if (!r->open) {
		ret = -ENOMEM;
		goto err;
	}
	boot = (struct reaper_boot){ .rfd = p[0], .ready = ready[1],
				     .open = r->open };
	if (fcntl(p[1], F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		goto err;
	}
	reaper_set_limit(r, p[1], reserve);
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
	free(r->open);
	r->open = NULL;
	close(p[0]);
	close(p[1]);
	close(ready[0]);
	close(ready[1]);
	return ret;
}

/* Into the pipe, if it has room. */
static bool reaper_queue(struct reaper *r, int fd)
{
	ssize_t n;

	do
		n = write(r->wfd, &fd, sizeof(fd));
	while (n < 0 && errno == EINTR);
	return n == sizeof(fd);
}

static bool reaper_hold(struct reaper *r, int fd)
{
	if (r->n_held == r->cap_held) {
		size_t cap = r->cap_held ? 2 * r->cap_held : 256;
		int *h = realloc(r->held, cap * sizeof(*h));

		if (!h)
			return false;
		r->held = h;
		r->cap_held = cap;
	}
	r->held[r->n_held++] = fd;
	return true;
}

void reaper_close(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!r->running) {
		close(fd);
		return;
	}
	/* counted first: the thread may close it before write() returns */
	atomic_fetch_add(r->open, 1);
	reaper_flush(r);
	if (!r->n_held && reaper_queue(r, fd))
		return;
	if (reaper_hold(r, fd))
		return;
	atomic_fetch_sub(r->open, 1);
	log_warn("reaper: no memory to hold fd %d until its queue has room; closing it here",
		 fd);
	close(fd);
}

void reaper_flush(struct reaper *r)
{
	size_t done = 0;

	while (done < r->n_held && reaper_queue(r, r->held[done]))
		done++;
	if (!done)
		return;
	memmove(r->held, r->held + done, (r->n_held - done) * sizeof(int));
	r->n_held -= done;
}

bool reaper_busy(struct reaper *r)
{
	return r->running && atomic_load(r->open) >= r->limit;
}

unsigned int reaper_open(struct reaper *r)
{
	return r->running ? atomic_load(r->open) : 0;
}

bool reaper_caught_up(struct reaper *r)
{
	return !r->running || atomic_load(r->open) < r->limit / 2;
}

void reaper_close_socket(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	/* queued datagrams stay, so their fds are released with the close */
	shutdown(fd, SHUT_RDWR);
	reaper_close(r, fd);
}
