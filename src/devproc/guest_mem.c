/* SPDX-License-Identifier: BSD-3-Clause */
#include "devproc/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "vfio-broker/client.h"

int guest_mem_map(struct guest_mem *gm, const struct vb_client_info *info,
		  bool populate)
{
	memset(gm, 0, sizeof(*gm));
	for (unsigned int i = 0; i < info->n_ram; i++) {
		const struct vb_ram_region *r = &info->ram[i];
		void *p;

		if (!r->size || r->size % VB_PAGE_SIZE ||
		    r->offset % VB_PAGE_SIZE || r->gpa + r->size < r->gpa) {
			log_err("region %u: bad geometry gpa 0x%llx size 0x%llx",
				i, (unsigned long long)r->gpa,
				(unsigned long long)r->size);
			guest_mem_unmap(gm);
			return -EINVAL;
		}
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | (populate ? MAP_POPULATE : 0),
			 info->ram_fd[i], (off_t)r->offset);
		if (p == MAP_FAILED) {
			int err = -errno;

			log_err("region %u: mmap of %llu bytes: %s", i,
				(unsigned long long)r->size, strerror(-err));
			guest_mem_unmap(gm);
			return err;
		}
		gm->region[i].gpa = r->gpa;
		gm->region[i].size = r->size;
		gm->region[i].base = p;
		gm->n = i + 1;
	}
	return 0;
}

void guest_mem_unmap(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < gm->n; i++)
		munmap(gm->region[i].base, gm->region[i].size);
	gm->n = 0;
}

uint8_t *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->n; i++) {
		uint64_t start = gm->region[i].gpa;

		if (gpa < start || gpa - start >= gm->region[i].size)
			continue;
		if (len > gm->region[i].size - (gpa - start))
			return NULL;
		return gm->region[i].base + (gpa - start);
	}
	return NULL;
}
