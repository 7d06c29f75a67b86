/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table of backends. v3, v3-direct, type1 and iommufd are reserved
 * names for the kernel backends of later issues: naming one today is a
 * start-up error rather than a silent fallback, so an operator who asked
 * for real DMA isolation never gets the simulator by accident.
 */
#include "broker/backend_select.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

static const struct backend_select_entry {
	const char *name;
	int (*create)(struct backend **out);	/* NULL: not built yet */
} backend_select_table[] = {
	{ "sim", backend_sim_create },
	{ "v3", NULL },
	{ "v3-direct", NULL },
	{ "type1", NULL },
	{ "iommufd", NULL },
};

int backend_select(const char *name, struct backend **out)
{
	const size_t n = sizeof(backend_select_table) / sizeof(*backend_select_table);
	int ret;

	if (!strcmp(name, "auto")) {
		/* Prefer real backends in table order once they exist. */
		for (size_t i = 0; i < n; i++) {
			const struct backend_select_entry *e = &backend_select_table[i];

			if (!e->create || !strcmp(e->name, "sim"))
				continue;
			if (!e->create(out)) {
				log_info("backend auto: using %s", e->name);
				return 0;
			}
		}
		log_info("backend auto: no VFIO backend is built in this version; using sim");
		name = "sim";
	}
	for (size_t i = 0; i < n; i++) {
		const struct backend_select_entry *e = &backend_select_table[i];

		if (strcmp(e->name, name))
			continue;
		if (!e->create) {
			log_err("backend %s is not available in this build (available: sim)",
				name);
			return -ENODEV;
		}
		ret = e->create(out);
		if (ret)
			log_err("backend %s: %s", name, strerror(-ret));
		else
			log_info("backend %s", name);
		return ret;
	}
	log_err("unknown backend '%s'", name);
	return -EINVAL;
}
