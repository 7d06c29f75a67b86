/* SPDX-License-Identifier: BSD-3-Clause */
/* The guest test table: each test runs once per mode in its mask. */
#ifndef VT_TESTS_H
#define VT_TESTS_H

#include "harness.h"

#define M_T1	(1u << VT_TYPE1)
#define M_V3	((1u << VT_TRACKED) | (1u << VT_DIRECT))

struct vt_test {
	const char *name;
	int (*fn)(enum vt_mode mode);
	unsigned int modes;
	int in_suite;		/* run by default */
	const char *what;	/* what passing proves */
};

struct edu;
/* t_dma.c's DMA proof, shared: a seeded byte pattern for a buffer; */
void t_dma_fill(uint8_t *p, size_t len, unsigned int seed);
/* the device copies page src (IOVA iova_src) to page dst; 0 if the bytes match */
int t_dma_copy(struct edu *e, uint64_t iova_src, const uint8_t *src,
	       uint64_t iova_dst, uint8_t *dst);

int t_dma(enum vt_mode mode);
int t_longterm(enum vt_mode mode);
int t_dma_replay(enum vt_mode mode);
int t_dma_detach(enum vt_mode mode);
int t_dma_cut(enum vt_mode mode);
int t_conf_vaddr(enum vt_mode mode);
int t_conf_mm(enum vt_mode mode);
int t_conf_extension(enum vt_mode mode);
int t_conf_info(enum vt_mode mode);
int t_conf_map_basic(enum vt_mode mode);
int t_conf_map_invalid(enum vt_mode mode);
int t_conf_eexist(enum vt_mode mode);
int t_conf_rollback(enum vt_mode mode);
int t_conf_unmap(enum vt_mode mode);
int t_conf_type1_compat(enum vt_mode mode);
int t_conf_memlock(enum vt_mode mode);
int t_conf_many(enum vt_mode mode);
int t_pins(enum vt_mode mode);
int t_pins_kill(enum vt_mode mode);
int t_stress(enum vt_mode mode);
int t_emu(enum vt_mode mode);
int t_flush(enum vt_mode mode);
int t_probe(enum vt_mode mode);
int t_bench(enum vt_mode mode);
int t_profile(enum vt_mode mode);

#endif
