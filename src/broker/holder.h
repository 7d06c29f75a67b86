/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who may still hold a device's VFIO device fd. WELCOME lends it to the
 * claiming process, and VFIO cannot take it back: after that client goes,
 * the process can still drive the device (BARs, config space, DMA into the
 * device's domain) for as long as it lives. So a device that was handed
 * out remembers its last holder by pidfd, and while that process runs
 * only it may claim the device again; anyone else is refused (EBUSY)
 * until it has exited. Devices without a device fd (sim) are not tracked.
 *
 * What this cannot see: a holder that passed the fd on (SCM_RIGHTS, or a
 * child that inherited it) before exiting.
 */
#ifndef VB_BROKER_HOLDER_H
#define VB_BROKER_HOLDER_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker/broker.h"

/* @dev's device fd goes to process @pid: remember it. */
void holder_claim(struct device *dev, pid_t pid);
/* May process @pid not claim @dev, because another live process may hold
 * its device fd? Forgets a holder that has exited. */
bool holder_blocks(struct device *dev, pid_t pid);
/* Teardown: forget the holder. */
void holder_forget(struct device *dev);

#endif /* VB_BROKER_HOLDER_H */
