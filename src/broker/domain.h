/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Domains and devices as configured: one backend domain per distinct domain
 * name (fenced devices get their own), each device bound to one domain.
 * Because the windows of a domain's devices are disjoint (config.c), a
 * device's windows cover exactly what its client may have mapped, which is
 * what domain_release_device() unmaps when the client goes away.
 */
#ifndef VB_BROKER_DOMAIN_H
#define VB_BROKER_DOMAIN_H

#include <stdint.h>

#include "broker/broker.h"

int domain_setup(struct broker *b);
void domain_teardown(struct broker *b);
struct device *domain_find_device(struct broker *b, uint32_t id);
/* Unmap every page in @dev's windows; returns pages released (or -errno). */
int64_t domain_release_device(struct broker *b, struct device *dev);
/* Sum of backend usage over all domains. */
void domain_usage(struct broker *b, struct backend_usage *u);

#endif /* VB_BROKER_DOMAIN_H */
