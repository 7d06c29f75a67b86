/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What backend_vfio.c offers besides its constructors (backend.h): the one
 * container query other broker files need, so that only backend_vfio.c
 * issues VFIO container ioctls.
 */
#ifndef VB_BROKER_BACKEND_VFIO_H
#define VB_BROKER_BACKEND_VFIO_H

/*
 * VFIO_CHECK_EXTENSION(@ext) on a fresh container: 1 supported, 0 not,
 * -errno when /dev/vfio/vfio cannot be opened or answers with an error.
 */
int backend_vfio_check_extension(unsigned long ext);

#endif /* VB_BROKER_BACKEND_VFIO_H */
