/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error lines of a backend's map and unmap. A client can cause some of
 * them at will, by mapping past type1's dma_entry_limit or past what the
 * broker may lock when no quota of its own stops it first, so each
 * domain has a budget for them, as the broker has for lines about
 * clients: without one such a flood would crowd out every other line
 * (logging never waits, so lines a reader cannot take are lost). The
 * burst keeps every line of an ordinary failure, and a client can
 * silence only its own domain's.
 */
#ifndef VB_BROKER_BACKEND_LOG_H
#define VB_BROKER_BACKEND_LOG_H

#include "common/log.h"

#define BACKEND_LOG_BURST	100
#define BACKEND_LOG_PER_S	10

/* log_err() within @lb, a struct log_budget of the domain. */
#define backend_log_err(lb, ...)					\
	log_budgeted(lb, BACKEND_LOG_BURST, BACKEND_LOG_PER_S,		\
		     "about failed maps and unmaps", LOG_LVL_ERR,	\
		     __VA_ARGS__)

#endif /* VB_BROKER_BACKEND_LOG_H */
