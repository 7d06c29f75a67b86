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
/*
 * The backends' usage at the largest mapping set so far (peak_usage).
 * Asking costs a call into every backend (on v3 a GET_INFO, whose count
 * walks the store), too much for every map that sets a new peak. So a new
 * peak is only noted (domain_peak_note, after maps), and its usage is
 * taken when the set is about to shrink from it or when the figure is
 * read (domain_peak_sample): at either moment the set is still the peak's.
 */
void domain_peak_note(struct broker *b);
void domain_peak_sample(struct broker *b);

#endif /* VB_BROKER_DOMAIN_H */
