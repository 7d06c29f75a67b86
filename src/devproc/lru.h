/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Least-recently-used order over page indices 0..n-1, O(1) per operation:
 * an intrusive doubly linked list in two index arrays. Head is the most
 * recently used page, tail the eviction candidate.
 */
#ifndef VB_DEVPROC_LRU_H
#define VB_DEVPROC_LRU_H

#include <stdbool.h>
#include <stdint.h>

#define LRU_NONE UINT32_MAX

struct lru {
	uint32_t n;
	uint32_t count;
	uint32_t head, tail;
	uint32_t *prev, *next;
	uint8_t *in;
};

int lru_init(struct lru *l, uint32_t n);
void lru_free(struct lru *l);
bool lru_contains(const struct lru *l, uint32_t page);
/* Insert @page, or move it to the head if present. */
void lru_touch(struct lru *l, uint32_t page);
void lru_remove(struct lru *l, uint32_t page);
/* Remove and return the least recently used page, LRU_NONE if empty. */
uint32_t lru_pop_tail(struct lru *l);

#endif /* VB_DEVPROC_LRU_H */
