/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control socket (SOCK_STREAM, mode 0600): one line in (`stats`,
 * `stats json`, `clients`, `clients json`), the answer out, then close.
 * vfio-brokerctl is its client.
 */
#ifndef VB_BROKER_CONTROL_H
#define VB_BROKER_CONTROL_H

#include "broker/broker.h"

int control_open(struct broker *b, const char *path);
void control_close(struct broker *b);
/* The answer to one command line (exposed for tests); malloc'd string. */
char *control_answer(struct broker *b, const char *line);

#endif /* VB_BROKER_CONTROL_H */
