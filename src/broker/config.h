/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's configuration: an INI-like file (docs/config.md) parsed into
 * plain structs. Parsing checks syntax and every cross-entry rule the rest
 * of the broker relies on (windows of one domain disjoint, RAM regions
 * disjoint, page alignment, no overflow), so later code can trust it.
 *
 * Ranges are [start, start + size) with start + size computed without
 * overflow; a range may not wrap or end exactly at 2^64.
 */
#ifndef VB_BROKER_CONFIG_H
#define VB_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfio-broker/proto.h"

#define CONFIG_NAME_MAX		48
#define CONFIG_MAX_DEVICES	64
#define CONFIG_MAX_IDS		16	/* uids (and gids) per device */
#define CONFIG_GROUP_SIM	(-1)
#define CONFIG_WINDOW_MAX	1024
#define CONFIG_POLL_US_MAX	1000000
#define CONFIG_PCI_LEN		13	/* "DDDD:BB:DD.F" and its NUL */
#define CONFIG_FILE_MAX		(1u << 20)	/* bytes of config file */

struct config_ram {
	char name[CONFIG_NAME_MAX];
	uint64_t gpa;
	uint64_t size;
	bool populate;		/* fault every page in at start-up */
	int line;
};

struct config_device {
	uint32_t id;
	int group;			/* IOMMU group or CONFIG_GROUP_SIM */
	char pci[CONFIG_PCI_LEN];	/* "0000:00:03.0", or "" for none */
	char domain[CONFIG_NAME_MAX];	/* resolved name: given, or "dev<ID>" */
	bool fenced;			/* domain of its own */
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	unsigned int n_iova;
	uid_t uid[CONFIG_MAX_IDS];
	unsigned int n_uid;
	gid_t gid[CONFIG_MAX_IDS];
	unsigned int n_gid;
	char **spawn;			/* NULL-terminated argv, or NULL */
	uint64_t max_pages;		/* quota of its client; 0: none */
	int line;
	bool has_group;
};

struct config {
	char backend[CONFIG_NAME_MAX];
	char *socket_path;		/* NULL: no listening socket */
	char *control_path;		/* NULL: no control socket */
	uint32_t max_entries;
	uint32_t window;
	uint32_t poll_us;		/* busy-poll after a message; 0: never */
	bool ring;			/* grant shared rings to clients asking */
	struct config_ram ram[VB_MAX_RAM_REGIONS];
	unsigned int n_ram;
	struct config_device dev[CONFIG_MAX_DEVICES];
	unsigned int n_dev;
};

/*
 * Parse @text (NUL-terminated); @fname names it in messages. On error
 * returns -EINVAL and writes "fname:line: reason" into @err.
 */
int config_parse(const char *text, const char *fname, struct config **out,
		 char *err, size_t errlen);
/* Read and parse a file; logs the error. */
int config_load(const char *path, struct config **out);
void config_free(struct config *cfg);

/* Parse "123", "0x1000", "256M" (K/M/G/T, powers of 1024). */
int config_parse_size(const char *s, uint64_t *out);

bool config_device_allows(const struct config_device *d, uid_t uid, gid_t gid);

#endif /* VB_BROKER_CONFIG_H */
