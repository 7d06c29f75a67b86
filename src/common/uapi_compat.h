/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_COMMON_UAPI_COMPAT_H
#define VB_COMMON_UAPI_COMPAT_H

/*
 * Kernel ABI values newer than Debian 12's userspace headers. They are
 * fixed ABI, so the broker and its seccomp policy name them the same way
 * whichever headers they were built against.
 */
#include <sys/socket.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77	/* Linux 6.5 */
#endif

#endif
