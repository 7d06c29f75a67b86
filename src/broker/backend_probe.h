/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which backend this machine can run, and why.
 *
 * Automatic choice, first that is available:
 *   v3       /dev/vfio/vfio exists and VFIO_CHECK_EXTENSION(VFIO_TYPE1v3_IOMMU)
 *            returns 1 (the vfio_iommu_type1v3 module is loaded);
 *   iommufd  /dev/iommu and /sys/class/vfio-dev exist (and the broker was
 *            built with iommufd.h);
 *   type1    /dev/vfio/vfio exists and VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU)
 *            returns 1;
 *   sim      always.
 * A backend named in the configuration is checked with backend_probe_check()
 * instead; when it is not available start-up must fail, not fall back.
 */
#ifndef VB_BROKER_BACKEND_PROBE_H
#define VB_BROKER_BACKEND_PROBE_H

#include <stddef.h>

struct backend_probe {
	const char *name;	/* "v3", "iommufd", "type1" or "sim" */
	char reason[640];	/* one human-readable sentence for the log */
};

/* Fills @out with the automatic choice; never fails (sim is the floor). */
void backend_probe_auto(struct backend_probe *out);

/*
 * Is backend @name ("v3", "iommufd", "type1", "sim") usable here? 0 if so,
 * else -ENODEV (-EINVAL for an unknown name); @reason says why either way.
 */
int backend_probe_check(const char *name, char *reason, size_t len);

/* Implemented by backend_iommufd.c: 1 if built with <linux/iommufd.h>. */
int backend_iommufd_supported(void);

#endif /* VB_BROKER_BACKEND_PROBE_H */
