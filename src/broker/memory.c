/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM regions. The mappings are MAP_NORESERVE and untouched by the
 * broker, so a large guest costs nothing until someone writes to it,
 * unless the region asks to be populated (as a running guest's RAM would
 * be; the first pin of a page otherwise pays for allocating it). The
 * memfds travel to clients in WELCOME so devices see the same pages;
 * sealed, so no client can change their size under the others.
 */
#define _GNU_SOURCE
#include "broker/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

int memory_init(struct memory *m, const struct config *cfg)
{
	int ret;

	memset(m, 0, sizeof(*m));
	for (unsigned int i = 0; i < cfg->n_ram; i++) {
		struct memory_region *r = &m->r[i];
		char name[64];

		snprintf(name, sizeof(name), "vfio-broker:%s", cfg->ram[i].name);
		snprintf(r->name, sizeof(r->name), "%s", cfg->ram[i].name);
		r->gpa = cfg->ram[i].gpa;
		r->size = cfg->ram[i].size;
		r->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (r->fd < 0) {
			ret = -errno;
			log_err("memfd_create(%s): %s", name, strerror(errno));
			goto fail;
		}
		m->n = i + 1;
		if (ftruncate(r->fd, (off_t)r->size) < 0) {
			ret = -errno;
			log_err("ftruncate(%s, %llu): %s", name,
				(unsigned long long)r->size, strerror(errno));
			goto fail;
		}
		/* Every client maps this fd: one that could shrink it would
		 * make the others (and their devices' pages) fault. Writes
		 * and hole punches stay possible; guest RAM must be writable. */
		if (fcntl(r->fd, F_ADD_SEALS,
			  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
			ret = -errno;
			log_err("sealing %s: %s", name, strerror(errno));
			goto fail;
		}
		r->va = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_NORESERVE |
			     (cfg->ram[i].populate ? MAP_POPULATE : 0),
			     r->fd, 0);
		if (r->va == MAP_FAILED) {
			ret = -errno;
			r->va = NULL;
			log_err("mmap(%s): %s", name, strerror(errno));
			goto fail;
		}
		log_info("ram '%s': gpa 0x%llx size 0x%llx at %p (memfd %d)",
			 r->name, (unsigned long long)r->gpa,
			 (unsigned long long)r->size, (void *)r->va, r->fd);
	}
	return 0;
fail:
	memory_fini(m);
	return ret;
}

void memory_fini(struct memory *m)
{
	for (unsigned int i = 0; i < m->n; i++) {
		struct memory_region *r = &m->r[i];

		if (r->va)
			munmap(r->va, r->size);
		if (r->fd >= 0)
			close(r->fd);
		r->va = NULL;
		r->fd = -1;
	}
	m->n = 0;
}

int memory_translate(const struct memory *m, uint64_t gpa, uint64_t len,
		     uint64_t *vaddr)
{
	uint64_t last;

	/* Inclusive last byte: a range ending at 2^64 is still expressible. */
	if (!len || __builtin_add_overflow(gpa, len - 1, &last))
		return -EFAULT;
	for (unsigned int i = 0; i < m->n; i++) {
		const struct memory_region *r = &m->r[i];

		if (gpa >= r->gpa && last <= r->gpa + (r->size - 1)) {
			*vaddr = (uint64_t)(uintptr_t)r->va + (gpa - r->gpa);
			return 0;
		}
	}
	return -EFAULT;
}
