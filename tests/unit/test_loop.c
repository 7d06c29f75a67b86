// SPDX-License-Identifier: BSD-3-Clause
/*
 * loop.c with the rings played by stubs: however a client's ring requests
 * interleave with empty passes, the sockets (here a libevent timer that is
 * due at once) get a look within LOOP_RING_PASSES passes that took
 * requests. A client that publishes each request just after an empty pass
 * and just before the loop would sleep used to keep every socket, timer
 * and signal waiting for as long as it kept that up, and so did one that
 * shows its ring readable only while the loop checks before sleeping.
 */
#include <check.h>
#include <event2/event.h>
#include <stdbool.h>

#include "broker/batcher.h"
#include "broker/broker.h"
#include "broker/loop.h"
#include "broker/peer_ring.h"
#include "check_main.h"

#define GIVE_UP	100000	/* ring passes before the test calls it starved */

static struct {
	struct broker *b;
	unsigned int polls;
	unsigned int polls_when_fired;
	bool fired;
	unsigned int (*poll)(unsigned int n);
} st;

unsigned int peer_ring_poll(struct broker *b, bool *live)
{
	*live = true;
	if (++st.polls >= GIVE_UP)
		b->stopping = true;
	return st.poll(st.polls);
}

/* the client always publishes just in time: the loop must not block */
bool peer_ring_sleep(struct broker *b)
{
	(void)b;
	return false;
}

void peer_ring_awake(struct broker *b)
{
	(void)b;
}

void batcher_flush_now(struct broker *b)
{
	(void)b;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	st.fired = true;
	st.polls_when_fired = st.polls;
	st.b->stopping = true;
}

static unsigned int every_other(unsigned int n)
{
	return n % 2;	/* a request, an empty pass, a request, ... */
}

static unsigned int always(unsigned int n)
{
	(void)n;
	return 1;
}

static void run(unsigned int poll_us, unsigned int (*poll)(unsigned int))
{
	struct timeval now = { 0, 0 };
	struct config cfg = { .poll_us = poll_us };
	struct broker b = { .cfg = &cfg };
	struct event *t;

	st = (typeof(st)){ .b = &b, .poll = poll };
	b.base = event_base_new();
	ck_assert_ptr_nonnull(b.base);
	t = evtimer_new(b.base, timer_cb, NULL);
	ck_assert_int_eq(evtimer_add(t, &now), 0);
	ck_assert_int_eq(loop_run(&b), 0);
	ck_assert_msg(st.fired, "a due timer waited %u ring passes", st.polls);
	/* 16 passes that took requests, and the empty ones between them */
	ck_assert_uint_le(st.polls_when_fired, 2 * 16 + 2);
	event_free(t);
	event_base_free(b.base);
}

START_TEST(interleaved_without_polling)
{
	run(0, every_other);
}
END_TEST

START_TEST(interleaved_while_polling)
{
	run(2000, every_other);
}
END_TEST

START_TEST(busy_rings)
{
	run(0, always);
}
END_TEST

static unsigned int never(unsigned int n)
{
	(void)n;
	return 0;
}

/*
 * A client that flips its ring's tail: readable when the loop checks
 * before sleeping, empty when the next pass polls it. Nothing is ever
 * taken and the loop never sleeps; the sockets must still get a look.
 */
START_TEST(flipping_tail)
{
	run(0, never);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("sockets_get_their_turn");

	tcase_add_test(tc, interleaved_without_polling);
	tcase_add_test(tc, interleaved_while_polling);
	tcase_add_test(tc, busy_rings);
	tcase_add_test(tc, flipping_tail);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
