/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The listening SOCK_SEQPACKET socket for clients the broker did not spawn.
 * Each connection is identified by SO_PEERCRED (pid, uid, gid as the kernel
 * saw them at connect time); dispatch checks them against the devices'
 * uid/gid lists when the client says HELLO.
 */
#ifndef VB_BROKER_LISTENER_H
#define VB_BROKER_LISTENER_H

#include "broker/broker.h"

int listener_open(struct broker *b, const char *path);
void listener_close(struct broker *b);

/*
 * Shared with control.c: bind a fresh AF_UNIX socket of @type at @path,
 * replacing only a stale socket there (-EEXIST for any other file,
 * -EADDRINUSE when something listens on it).
 */
int listener_bind_unix(const char *path, int type, unsigned int mode);

/* Shared accept error handling: logs, and backs off when out of fds. */
struct event;
struct event_base;
void listener_accept_failed(struct event_base *base, struct event *ev,
			    const char *what);

#endif /* VB_BROKER_LISTENER_H */
