// SPDX-License-Identifier: BSD-3-Clause
/*
 * Backend availability (see backend_probe.h). Container queries go through
 * backend_vfio.c, the one file allowed to issue VFIO container ioctls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>
#include "uapi/linux/vfio_type1v3.h"

#include "broker/backend_probe.h"
#include "broker/backend_vfio.h"

#define PROBE_VFIO	"/dev/vfio/vfio"
#define PROBE_IOMMUFD	"/dev/iommu"
#define PROBE_VFIO_CDEV	"/sys/class/vfio-dev"

static int backend_probe_ext(unsigned long ext, const char *what, char *reason,
			     size_t len)
{
	int ret;

	if (access(PROBE_VFIO, F_OK)) {
		snprintf(reason, len, "%s does not exist (vfio not loaded)",
			 PROBE_VFIO);
		return -ENODEV;
	}
	ret = backend_vfio_check_extension(ext);
	if (ret == 1) {
		snprintf(reason, len, "%s offers %s", PROBE_VFIO, what);
		return 0;
	}
	if (ret == 0)
		snprintf(reason, len, "%s does not offer %s", PROBE_VFIO, what);
	else
		snprintf(reason, len, "%s: cannot check for %s: %s",
			 PROBE_VFIO, what, strerror(-ret));
	return -ENODEV;
}

static int backend_probe_iommufd(char *reason, size_t len)
{
	if (!backend_iommufd_supported()) {
		snprintf(reason, len,
			 "the broker was built without <linux/iommufd.h>");
		return -ENODEV;
	}
	if (access(PROBE_IOMMUFD, F_OK)) {
		snprintf(reason, len,
			 "%s does not exist (kernel without CONFIG_IOMMUFD)",
			 PROBE_IOMMUFD);
		return -ENODEV;
	}
	/* the class exists once vfio is loaded with device cdevs */
	if (access(PROBE_VFIO_CDEV, F_OK)) {
		snprintf(reason, len,
			 "%s exists but %s does not (vfio without CONFIG_VFIO_DEVICE_CDEV or not loaded): no device could be bound to it",
			 PROBE_IOMMUFD, PROBE_VFIO_CDEV);
		return -ENODEV;
	}
	snprintf(reason, len, "%s and %s exist", PROBE_IOMMUFD,
		 PROBE_VFIO_CDEV);
	return 0;
}

int backend_probe_check(const char *name, char *reason, size_t len)
{
	if (!strcmp(name, "v3"))
		return backend_probe_ext(VFIO_TYPE1v3_IOMMU,
					 "VFIO_TYPE1v3_IOMMU (vfio_iommu_type1v3)",
					 reason, len);
	if (!strcmp(name, "iommufd"))
		return backend_probe_iommufd(reason, len);
	if (!strcmp(name, "type1"))
		return backend_probe_ext(VFIO_TYPE1v2_IOMMU, "VFIO_TYPE1v2_IOMMU",
					 reason, len);
	if (!strcmp(name, "sim")) {
		snprintf(reason, len, "the sim backend needs no kernel support");
		return 0;
	}
	snprintf(reason, len, "unknown backend \"%s\"", name);
	return -EINVAL;
}

void backend_probe_auto(struct backend_probe *out)
{
	static const char *const order[] = { "v3", "iommufd", "type1" };
	char why[3][160];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!backend_probe_check(order[i], why[i], sizeof(why[i]))) {
			out->name = order[i];
			if (i == 0)
				snprintf(out->reason, sizeof(out->reason),
					 "%s", why[0]);
			else if (i == 1)
				snprintf(out->reason, sizeof(out->reason),
					 "%s; not v3: %s", why[1], why[0]);
			else
				snprintf(out->reason, sizeof(out->reason),
					 "%s; not v3: %s; not iommufd: %s",
					 why[2], why[0], why[1]);
			return;
		}
	}
	out->name = "sim";
	snprintf(out->reason, sizeof(out->reason),
		 "no kernel backend: v3: %s; iommufd: %s; type1: %s",
		 why[0], why[1], why[2]);
}
