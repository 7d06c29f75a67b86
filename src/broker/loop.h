/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_BROKER_LOOP_H
#define VB_BROKER_LOOP_H

struct broker;

/*
 * Serve until the broker stops: libevent's loop, blocking for events, or
 * with [broker] poll_us set, polling without blocking for that long after
 * each message received (docs/config.md). Returns 0, or -1 if the event
 * loop failed.
 */
int loop_run(struct broker *b);

#endif /* VB_BROKER_LOOP_H */
