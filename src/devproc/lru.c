/* SPDX-License-Identifier: BSD-3-Clause */
#include "devproc/lru.h"

#include <errno.h>
#include <stdlib.h>

int lru_init(struct lru *l, uint32_t n)
{
	l->n = n;
	l->count = 0;
	l->head = l->tail = LRU_NONE;
	l->prev = calloc(n ? n : 1, sizeof(*l->prev));
	l->next = calloc(n ? n : 1, sizeof(*l->next));
	l->in = calloc(n ? n : 1, sizeof(*l->in));
	if (!l->prev || !l->next || !l->in) {
		lru_free(l);
		return -ENOMEM;
	}
	return 0;
}

void lru_free(struct lru *l)
{
	free(l->prev);
	free(l->next);
	free(l->in);
	l->prev = l->next = NULL;
	l->in = NULL;
	l->count = 0;
}

bool lru_contains(const struct lru *l, uint32_t page)
{
	return page < l->n && l->in[page];
}

void lru_remove(struct lru *l, uint32_t page)
{
	if (!lru_contains(l, page))
		return;
	if (l->prev[page] != LRU_NONE)
		l->next[l->prev[page]] = l->next[page];
	else
		l->head = l->next[page];
	if (l->next[page] != LRU_NONE)
		l->prev[l->next[page]] = l->prev[page];
	else
		l->tail = l->prev[page];
	l->in[page] = 0;
	l->count--;
}

void lru_touch(struct lru *l, uint32_t page)
{
	if (page >= l->n)
		return;
	lru_remove(l, page);
	l->prev[page] = LRU_NONE;
	l->next[page] = l->head;
	if (l->head != LRU_NONE)
		l->prev[l->head] = page;
	l->head = page;
	if (l->tail == LRU_NONE)
		l->tail = page;
	l->in[page] = 1;
	l->count++;
}

uint32_t lru_pop_tail(struct lru *l)
{
	uint32_t page = l->tail;

	if (page != LRU_NONE)
		lru_remove(l, page);
	return page;
}
