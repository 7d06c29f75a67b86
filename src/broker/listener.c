/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listening socket. The socket file is world-connectable on purpose: who
 * may claim what is decided per device from SO_PEERCRED, not by file mode.
 */
#define _GNU_SOURCE
#include "broker/listener.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/holder.h"
#include "broker/peer.h"
#include "common/log.h"

/*
 * Anyone may connect, so a connection must say HELLO soon, and one user's
 * connections still in the handshake are capped: otherwise silent
 * connections could use up the broker's fds and lock out every client.
 */
#define LISTENER_HELLO_SECONDS		10
#define LISTENER_MAX_HANDSHAKES		8
/*
 * Connections taken per wake-up: connecting clients cannot keep the event
 * loop in accept() while the clients it serves wait; level-triggered, the
 * rest wait for the next pass.
 */
#define LISTENER_ACCEPT_BURST		16

/*
 * May @path be removed to bind a new socket there? Only a socket nobody
 * listens on: a stale one an earlier broker left behind (the sandboxed
 * broker cannot remove its sockets at exit). Any other file is someone
 * else's, and a live socket is another broker's: both are refused.
 */
static int listener_path_free(const char *path,
			      const struct sockaddr_un *sa, int type)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = errno;
		log_err("%s: %s", path, strerror(err));
		return -err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		log_err("socket: %s", strerror(err));
		return -err;
	}
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? errno : 0;
	close(fd);
	if (err == ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT) {
			err = errno;
			log_err("unlink %s: %s", path, strerror(err));
			return -err;
		}
		return 0;
	}
	/* accepted, backlog full (EAGAIN), or a socket of another type */
	log_err("%s: another process listens there (%s); not replacing it",
		path, err ? strerror(err) : "it accepted a connection");
	return -EADDRINUSE;
}

/*
 * Held from the check of @path until the new socket listens there: two
 * brokers started together on one stale path would otherwise both find it
 * stale, and the second would replace the first's new socket. The lock
 * file (PATH.lock) stays; the lock itself goes with the process.
 */
#define LISTENER_SHARED_DIR_HINT \
	": keep the broker's sockets in a directory only its user can write (not /tmp)"

static int listener_lock(const char *path)
{
	struct stat st = { 0 };
	char lock[PATH_MAX];
	int fd, err;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		log_err("%s: %s%s", lock, strerror(err),
			err == EACCES ? LISTENER_SHARED_DIR_HINT : "");
		return -err;
	}
	/*
	 * Someone else's lock file means a directory others can write, where
	 * they could hold the lock (or the socket's path) for ever: say so,
	 * rather than wait on them or report a broker that is not there.
	 */
	if (fstat(fd, &st) || st.st_uid != geteuid()) {
		log_err("%s belongs to uid %u, not to this broker%s", lock,
			(unsigned int)st.st_uid, LISTENER_SHARED_DIR_HINT);
		close(fd);
		return -EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno;
		close(fd);
		if (err == EWOULDBLOCK) {
			log_err("%s: another process is binding a socket there now (%s is locked)",
				path, lock);
			return -EADDRINUSE;
		}
		log_err("flock %s: %s", lock, strerror(err));
		return -err;
	}
	return fd;
}

int listener_bind_unix(const char *path, int type, unsigned int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err, lock = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		log_err("socket: %s", strerror(err));
		return -err;
	}
	lock = listener_lock(path);
	if (lock < 0) {
		err = -lock;
		goto fail;
	}
	err = -listener_path_free(path, &sa, type);
	if (err)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		log_err("bind %s: %s", path, strerror(err));
		goto fail;
	}
	if (chmod(path, mode) < 0) {
		err = errno;
		log_err("chmod %s: %s", path, strerror(err));
		goto fail;
	}
	if (listen(fd, 64) < 0) {
		err = errno;
		log_err("listen %s: %s", path, strerror(err));
		goto fail;
	}
	close(lock);	/* listening: the check now sees a live socket */
	return fd;
fail:
	if (lock >= 0)
		close(lock);
	close(fd);
	return -err;
}

static void listener_rearm(struct event *ev)
{
	if (event_add(ev, NULL))
		log_err("cannot re-arm an accept event; no new connections");
}

static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_rearm(arg);
}

void listener_accept_failed(struct event_base *base, struct event *ev,
			    const char *what)
{
	struct timeval tv = { .tv_sec = 1 };
	int err = errno;

	if (err == EAGAIN || err == EINTR || err == ECONNABORTED)
		return;
	log_warn("%s: accept: %s", what, strerror(err));
	/*
	 * Out of fds or memory: the connection stays pending and the level-
	 * triggered event would fire again at once. Pause accepting for a
	 * second instead of spinning.
	 */
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		event_del(ev);
		if (event_base_once(base, -1, EV_TIMEOUT, listener_resume_cb, ev,
				    &tv))
			event_add(ev, NULL);
	}
}

static void listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct broker *b = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct peer *p;
	int fd, pidfd;

	(void)what;
	for (int i = 0; i < LISTENER_ACCEPT_BURST; i++) {
		/* a connection may bring fds: not while they cannot be closed */
		if (broker_fds_gated(b)) {
			listener_pause(b);
			return;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			listener_accept_failed(b->base, b->listener->ev, "listener");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			client_log(b, LOG_LVL_WARN,
				   "SO_PEERCRED: %s; closing connection",
				   strerror(errno));
			reaper_close_socket(&b->reaper, fd);
			continue;
		}
		/* a user's connections that never say HELLO cannot pile up */
		if (peer_count_new(b, cred.uid) >= LISTENER_MAX_HANDSHAKES) {
			client_log(b, LOG_LVL_WARN,
				   "uid %u already has %u connections without HELLO; refusing pid %d",
				   (unsigned int)cred.uid,
				   LISTENER_MAX_HANDSHAKES, (int)cred.pid);
			reaper_close_socket(&b->reaper, fd);
			continue;
		}
		pidfd = holder_peer_pidfd(fd, cred.pid);
		if (pidfd < 0)
			log_debug("pid %d: no pidfd (%s): it cannot be lent a device fd",
				  (int)cred.pid, strerror(-pidfd));
		p = peer_new(b, fd, NULL, cred.pid, cred.uid, cred.gid);
		if (!p) {
			if (pidfd >= 0)
				close(pidfd);
			continue;
		}
		p->pidfd = pidfd;
		if (peer_set_deadline(p, LISTENER_HELLO_SECONDS)) {
			peer_fail(p, "cannot arm the HELLO deadline");
			continue;
		}
		log_debug("connection from pid %d uid %u gid %u", (int)cred.pid,
			  (unsigned int)cred.uid, (unsigned int)cred.gid);
	}
}

int listener_socket_open(struct broker *b, const char *path, int type,
			 unsigned int mode, void (*cb)(int, short, void *),
			 struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	int fd;

	if (!l)
		return -ENOMEM;
	fd = listener_bind_unix(path, type, mode);
	if (fd < 0) {
		free(l);
		return fd;
	}
	l->fd = fd;
	l->path = strdup(path);
	l->ev = event_new(b->base, fd, EV_READ | EV_PERSIST, cb, b);
	if (!l->path || !l->ev || event_add(l->ev, NULL)) {
		if (l->ev)
			event_free(l->ev);
		free(l->path);
		close(fd);
		free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

void listener_socket_close(struct listener **lp)
{
	struct listener *l = *lp;

	if (!l)
		return;
	event_free(l->ev);
	close(l->fd);
	unlink(l->path);
	free(l->path);
	free(l);
	*lp = NULL;
}

int listener_open(struct broker *b, const char *path)
{
	int rc = listener_socket_open(b, path, SOCK_SEQPACKET, 0666,
				      listener_accept_cb, &b->listener);

	if (!rc)
		log_info("listening on %s", path);
	return rc;
}

void listener_pause(struct broker *b)
{
	if (b->listener)
		event_del(b->listener->ev);
}

void listener_resume(struct broker *b)
{
	if (b->listener)
		listener_rearm(b->listener->ev);
}

void listener_close(struct broker *b)
{
	listener_socket_close(&b->listener);
}
