/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The listening SOCK_SEQPACKET socket for clients the broker did not spawn.
 * Each connection is identified by SO_PEERCRED (pid, uid, gid as the kernel
 * saw them at connect time); dispatch checks them against the devices'
 * uid/gid lists when the client says HELLO. The binding, watching and
 * removal of a listening socket are shared with the control socket.
 */
#ifndef VB_BROKER_LISTENER_H
#define VB_BROKER_LISTENER_H

#include "broker/broker.h"

int listener_open(struct broker *b, const char *path);
void listener_close(struct broker *b);
/* Stop and start accepting clients' connections (broker_fds_gated()). */
void listener_pause(struct broker *b);
void listener_resume(struct broker *b);

struct event;
struct event_base;

/* A bound AF_UNIX socket the event loop watches for connections. */
struct listener {
	int fd;
	char *path;
	struct event *ev;
};

/*
 * Shared with control.c: bind @path (listener_bind_unix) and call @cb with
 * @b whenever it is readable; *@out is the new socket. 0 or -errno.
 */
int listener_socket_open(struct broker *b, const char *path, int type,
			 unsigned int mode, void (*cb)(int, short, void *),
			 struct listener **out);

/* Stop watching *@l, close it and remove its path; *@l becomes NULL. */
void listener_socket_close(struct listener **l);

/*
 * Shared with control.c: bind a fresh AF_UNIX socket of @type at @path,
 * replacing only a stale socket there (-EEXIST for any other file,
 * -EADDRINUSE when something listens on it).
 */
int listener_bind_unix(const char *path, int type, unsigned int mode);

/* Shared accept error handling: logs, and backs off when out of fds. */
void listener_accept_failed(struct event_base *base, struct event *ev,
			    const char *what);

#endif /* VB_BROKER_LISTENER_H */
