/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who may still hold a device's VFIO device fd. WELCOME lends it to the
 * claiming process, and VFIO cannot take it back: after that client goes,
 * the process can still drive the device (BARs, config space, DMA into the
 * device's domain) for as long as it lives. So a device that was handed
 * out keeps its last holder's pidfd, and while that process runs only it
 * may claim the device again; anyone else is refused (EBUSY) until it has
 * exited. A device fd is lent only to a process the broker can follow
 * this way (EPERM otherwise). Devices without a device fd (sim) are not
 * tracked.
 *
 * Each peer's pidfd is taken when it connects (SO_PEERPIDFD, or
 * pidfd_open() of its SO_PEERCRED pid on kernels before 6.5; spawned
 * devprocs: right after the fork), so it names exactly the process that
 * connected, whatever happens to that pid later.
 *
 * What this cannot see: a holder that passed the fd on (SCM_RIGHTS, or a
 * child that inherited it) before exiting.
 */
#ifndef VB_BROKER_HOLDER_H
#define VB_BROKER_HOLDER_H

#include <sys/types.h>

#include "broker/broker.h"
#include "broker/peer.h"

/* A pidfd for the process at the other end of socket @fd, whose
 * SO_PEERCRED pid is @pid; -errno if there is none. */
int holder_peer_pidfd(int fd, pid_t pid);
/* May @p claim @dev? 0, or EBUSY/EPERM with the reason in @why. Forgets a
 * holder that has exited. */
int holder_check(struct device *dev, const struct peer *p, const char **why);
/* @p claimed @dev, holder_check() having just said 0: its pidfd becomes
 * the holder, unless it already is (the same process claiming again). */
void holder_claim(struct device *dev, struct peer *p);
/* Teardown: forget the holder. */
void holder_forget(struct device *dev);

#endif /* VB_BROKER_HOLDER_H */
