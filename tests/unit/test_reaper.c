// SPDX-License-Identifier: BSD-3-Clause
/*
 * The reaper's threshold (reaper_busy()): a quarter of RLIMIT_NOFILE, low
 * enough to leave the reserve free, never below 16 (the pipe's bound,
 * half of 16,384 ints, needs a hard fd limit above 32,768 to be seen,
 * which a test cannot count on); and its count of fds not closed yet,
 * which the thread brings back to 0 as it closes them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/reaper.h"
#include "check_main.h"

/* The threshold reaper_start() sets with @nofile fds and @reserve. */
static unsigned int limit_with(rlim_t nofile, unsigned int reserve)
{
	struct rlimit rl = { nofile, nofile };
	struct reaper r = { 0 };

	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(reaper_start(&r, reserve), 0);
	return r.limit;
}

START_TEST(threshold)
{
	/* each case in a child: the limit only ever goes down */
	static const struct {
		rlim_t nofile;
		unsigned int reserve, want;
	} c[] = {
		{ 4096, 1019, 1024 },	/* a quarter */
		{ 1200, 1019, 181 },	/* what the reserve leaves */
		{ 1024, 1019, 16 },	/* never below 16 */
		{ 1024, 2000, 16 },	/* a reserve above the limit */
		{ 16000, 0, 4000 },	/* no reserve */
	};

	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (!pid)
			_exit(limit_with(c[i].nofile, c[i].reserve) == c[i].want ?
			      0 : 1);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status),
			      "nofile %llu reserve %u: threshold is not %u",
			      (unsigned long long)c[i].nofile, c[i].reserve,
			      c[i].want);
	}
}
END_TEST

/*
 * Counted up when handed over and down when closed: back to 0 once the
 * thread has closed them all, and with a threshold of 16 (40 were handed
 * over) no longer busy then. (Busy itself needs a thread held in a close;
 * test_stuck_reaper.sh has that.)
 */
START_TEST(count_follows_closes)
{
	struct timespec ms = { 0, 1000000 };
	struct reaper r = { 0 };
	int fds[40], i;

	ck_assert_int_eq(reaper_start(&r, 0), 0);
	ck_assert_uint_eq(reaper_open(&r), 0);
	ck_assert(!reaper_busy(&r));
	for (i = 0; i < 40; i++) {
		fds[i] = open("/dev/null", O_RDONLY);
		ck_assert_int_ge(fds[i], 0);
	}
	r.limit = 16;	/* as if the fd limit were tiny */
	for (i = 0; i < 40; i++)
		reaper_close(&r, fds[i]);
	for (i = 0; i < 5000 && reaper_open(&r); i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(reaper_open(&r), 0);
	ck_assert(!reaper_busy(&r));
	ck_assert(reaper_caught_up(&r));
	for (i = 0; i < 40; i++)
		ck_assert(fcntl(fds[i], F_GETFD) < 0 && errno == EBADF);
}
END_TEST

static Suite *reaper_suite(void)
{
	Suite *s = suite_create("reaper");
	TCase *tc = tcase_create("reaper");

	tcase_add_test(tc, threshold);
	tcase_add_test(tc, count_follows_closes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(reaper_suite());
}
