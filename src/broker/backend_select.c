/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table of backends. When the real-VFIO backends are built in (vbvfio,
 * from vfio.cmake), "auto" follows backend_probe.c's choice and a named
 * backend must pass its probe; otherwise only sim exists and the other
 * names are reserved. Either way, naming a backend that cannot run here is
 * a start-up error rather than a silent fallback, so an operator who asked
 * for real DMA isolation never gets the simulator by accident.
 */
#include "broker/backend_select.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/log.h"
#ifdef VB_HAVE_VFIO
#include "broker/backend_probe.h"

static int backend_select_v3(struct backend **out)
{
	return backend_v3_create(false, out);
}

static int backend_select_v3_direct(struct backend **out)
{
	return backend_v3_create(true, out);
}
#define BACKEND_SELECT_VFIO(fn)	(fn)
#else
#define BACKEND_SELECT_VFIO(fn)	NULL
#endif

static const struct backend_select_entry {
	const char *name;
	const char *probe;			/* name backend_probe.c knows */
	int (*create)(struct backend **out);	/* NULL: not built */
} backend_select_table[] = {
	{ "sim", "sim", backend_sim_create },
	{ "v3", "v3", BACKEND_SELECT_VFIO(backend_select_v3) },
	{ "v3-direct", "v3", BACKEND_SELECT_VFIO(backend_select_v3_direct) },
	{ "type1", "type1", BACKEND_SELECT_VFIO(backend_type1_create) },
	{ "iommufd", "iommufd", BACKEND_SELECT_VFIO(backend_iommufd_create) },
};

/* Is the named backend usable on this machine? Logs why not. */
static bool backend_select_usable(const struct backend_select_entry *e)
{
	if (!e->create) {
		log_err("backend %s is not built into this vfio-broker (available: sim)",
			e->name);
		return false;
	}
#ifdef VB_HAVE_VFIO
	char reason[512];

	if (backend_probe_check(e->probe, reason, sizeof(reason))) {
		log_err("backend %s is not available here: %s", e->name, reason);
		return false;
	}
	log_info("backend %s: %s", e->name, reason);
#endif
	return true;
}

int backend_select(const char *name, bool sim_devices, struct backend **out)
{
	const size_t n = sizeof(backend_select_table) / sizeof(*backend_select_table);
	int ret;

	if (!strcmp(name, "auto") && sim_devices) {
		/* Only sim can serve devices that name no IOMMU group. */
		log_info("backend auto: sim (the configured devices are 'group = sim')");
		name = "sim";
	} else if (!strcmp(name, "auto")) {
#ifdef VB_HAVE_VFIO
		struct backend_probe pr;

		backend_probe_auto(&pr);
		log_info("backend auto: %s (%s)", pr.name, pr.reason);
		name = pr.name;
#else
		log_info("backend auto: sim (no VFIO backend is built into this vfio-broker)");
		name = "sim";
#endif
	}
	for (size_t i = 0; i < n; i++) {
		const struct backend_select_entry *e = &backend_select_table[i];

		if (strcmp(e->name, name))
			continue;
		if (!backend_select_usable(e))
			return -ENODEV;
		ret = e->create(out);
		if (ret)
			log_err("backend %s: %s", name, strerror(-ret));
		return ret;
	}
	log_err("unknown backend '%s'", name);
	return -EINVAL;
}
