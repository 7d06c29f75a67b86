/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Devprocs the broker starts itself: each gets one end of a SOCK_SEQPACKET
 * socketpair as fd 3 and `--socket-fd 3 --device ID` appended to its
 * configured command. The other end becomes a peer bound to that device,
 * which is the whole of its authentication. Children are reaped on SIGCHLD
 * and their exit status is recorded for --exit-when-done.
 */
#ifndef VB_BROKER_SPAWN_H
#define VB_BROKER_SPAWN_H

#include <stddef.h>

#include "broker/broker.h"

int spawn_device(struct broker *b, struct device *dev);
/* Reap every exited child (SIGCHLD). */
void spawn_reap(struct broker *b);
/* SIGTERM the children still running and wait up to @ms for them. */
void spawn_stop_all(struct broker *b, int ms);
/*
 * Program path for argv[0]: names with a slash are used as they are; bare
 * names are looked for beside the broker's own executable, then in PATH.
 */
int spawn_resolve(const char *argv0, char *out, size_t len);

#endif /* VB_BROKER_SPAWN_H */
