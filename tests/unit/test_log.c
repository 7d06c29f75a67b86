// SPDX-License-Identifier: BSD-3-Clause
/*
 * log_budget_take(): a burst at once, then the refill rate, never more
 * than the burst saved up, and every refused line counted;
 * log_budgeted() reports the count with the next line it lets through.
 *
 * log_never_block() and log_to_syslog(): with nobody reading a pipe, a
 * stream socket or a syslog socket, logging returns at once, the lines it
 * could not write are counted, and once the reader drains, the next line
 * reports them, so lines written plus lines reported lost add up to the
 * lines logged. (Without the non-blocking sinks these tests hang until
 * Check's timeout fails them.)
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "check_main.h"

#define MS	1000000ull	/* ns */

START_TEST(burst_then_rate)
{
	struct log_budget lb = { 0 };
	uint64_t t = 5000 * MS;
	unsigned int i;

	/* 10 at once, then refused */
	for (i = 0; i < 10; i++)
		ck_assert(log_budget_take(&lb, t, 10, 100));
	ck_assert(!log_budget_take(&lb, t, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 9 * MS, 10, 100));
	ck_assert_uint_eq(lb.dropped, 2);
	/* 100 a second: one every 10 ms */
	ck_assert(log_budget_take(&lb, t + 10 * MS, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 19 * MS, 10, 100));
	/* a top-up keeps what it did not use of a step: one token at
	 * t + 25 ms, and the next at t + 30 ms, not t + 35 ms */
	ck_assert(log_budget_take(&lb, t + 25 * MS, 10, 100));
	ck_assert(!log_budget_take(&lb, t + 29 * MS, 10, 100));
	ck_assert(log_budget_take(&lb, t + 30 * MS, 10, 100));
	ck_assert_uint_eq(lb.dropped, 4);
}
END_TEST

START_TEST(idle_saves_at_most_the_burst)
{
	struct log_budget lb = { 0 };
	uint64_t t = 1;
	unsigned int i, passed = 0;

	ck_assert(log_budget_take(&lb, t, 5, 1000));
	/* an hour later: 5 again, not millions */
	t += 3600ull * 1000 * MS;
	for (i = 0; i < 20; i++)
		passed += log_budget_take(&lb, t, 5, 1000);
	ck_assert_uint_eq(passed, 5);
	ck_assert_uint_eq(lb.dropped, 15);
}
END_TEST

#define LINES	2000	/* about 200 KB: more than any pipe or socket holds */

/* Everything @fd holds now (non-blocking reads), as one string. */
static char *drain(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		got = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (got < 0 && errno == ENOTSOCK)
			got = read(fd, buf + n, cap - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static unsigned long count_char(const char *s, char c)
{
	unsigned long n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* The count in the report "N line(s) lost", which @text must hold. */
static unsigned long reported_lost(const char *text)
{
	const char *p = strstr(text, " line(s) lost: the log reader did not keep up");

	ck_assert_msg(p, "no report of lost lines in: %.200s", text);
	while (p > text && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoul(p, NULL, 10);
}

/*
 * Log LINES lines into stderr = @w (whose other end @r nobody reads), then
 * drain @r, log one more line and drain again: every line is either in
 * what was read or counted in the report.
 */
static void stall_and_recover(int w, int r)
{
	unsigned long written, lost;
	size_t len;
	char *first, *second;
	int fl = fcntl(r, F_GETFL);
	int i;

	ck_assert_int_eq(fcntl(r, F_SETFL, fl | O_NONBLOCK), 0);
	ck_assert_int_eq(dup2(w, STDERR_FILENO), STDERR_FILENO);
	close(w);
	log_init("vb-test", LOG_LVL_INFO);
	log_never_block();
	for (i = 0; i < LINES; i++)
		log_info("line %d of a log nobody reads, padded to about a "
			 "hundred bytes", i);
	first = drain(r, &len);
	written = count_char(first, '\n');
	ck_assert_uint_gt(written, 0);
	ck_assert_uint_lt(written, LINES);

	log_info("after the stall");
	second = drain(r, &len);
	/* a stream socket may have taken part of a line: the next starts anew */
	if (second[0] == '\n') {
		ck_assert(first[strlen(first) - 1] != '\n');
		written++;
	}
	lost = reported_lost(second);
	ck_assert_uint_eq(written + lost, LINES);
	ck_assert_ptr_nonnull(strstr(second, "info: stall_and_recover: after the stall\n"));
	free(first);
	free(second);
}

/* stderr into a fresh pipe; its read end, non-blocking. */
static int stderr_to_pipe(void)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	return p[0];
}

/*
 * A line longer than the output buffer (a long ident and a long message)
 * is cut, and still ends in a newline, so the next line starts on its own.
 */
START_TEST(long_line_cut)
{
	static char ident[301], msg[2001];
	char *got;
	size_t len;
	int r;

	memset(ident, 'i', sizeof(ident) - 1);
	memset(msg, 'm', sizeof(msg) - 1);
	r = stderr_to_pipe();
	log_init(ident, LOG_LVL_INFO);
	log_info("%s", msg);
	log_info("next");
	got = drain(r, &len);
	ck_assert_uint_eq(count_char(got, '\n'), 2);
	ck_assert_uint_lt(strchr(got, '\n') - got, 1200);
	ck_assert_ptr_nonnull(strstr(got, "mmm\n"));
	ck_assert_ptr_nonnull(strstr(got, " info: long_line_cut_fn: next\n"));
	free(got);
}
END_TEST

/*
 * log_budgeted(): the burst goes out, the rest is held back, and the first
 * line the budget lets through later is preceded by the count of those
 * held back, named as the caller named them. Lines below the log level
 * take nothing from the budget.
 */
START_TEST(budgeted_lines_report_drops)
{
	struct log_budget lb = { 0 };
	char *got;
	size_t len;
	int r, i;

	r = stderr_to_pipe();
	log_init("vb-test", LOG_LVL_INFO);
	for (i = 0; i < 10; i++)
		log_budgeted(&lb, 3, 10, "about tests", LOG_LVL_DEBUG,
			     "debug %d", i);
	for (i = 0; i < 10; i++)
		log_budgeted(&lb, 3, 10, "about tests", LOG_LVL_ERR,
			     "burst %d", i);
	got = drain(r, &len);
	ck_assert_uint_eq(count_char(got, '\n'), 3);
	ck_assert_ptr_nonnull(strstr(got, ": burst 2\n"));
	ck_assert_ptr_null(strstr(got, "debug"));
	ck_assert_uint_eq(lb.dropped, 7);
	free(got);
	/*
	 * a token comes back every 100 ms: the burst cannot earn one back
	 * on a slow machine, the wait surely does
	 */
	usleep(150000);
	log_budgeted(&lb, 3, 10, "about tests", LOG_LVL_ERR, "later");
	got = drain(r, &len);
	ck_assert_uint_eq(count_char(got, '\n'), 2);
	ck_assert_ptr_nonnull(strstr(got, "warn: log_budget_allow: 7 line(s) about tests not logged: more than 10 a second\n"));
	ck_assert_ptr_nonnull(strstr(got, "error: budgeted_lines_report_drops_fn: later\n"));
	ck_assert(strstr(got, "not logged") < strstr(got, "later"));
	ck_assert_uint_eq(lb.dropped, 0);
	free(got);
}
END_TEST

/* stderr on a pipe is opened again, non-blocking, through /proc. */
START_TEST(pipe_reader_stalls)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	stall_and_recover(p[1], p[0]);
}
END_TEST

/* stderr on a stream socket (systemd's journal stream) is sent to. */
START_TEST(stream_reader_stalls)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	stall_and_recover(sv[1], sv[0]);
}
END_TEST

/* A syslog socket that stops reading: datagrams are dropped and counted. */
START_TEST(syslog_reader_stalls)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[2048];
	unsigned long got = 0, lost = 0;
	ssize_t n;
	int fd, i;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vb-test-log.%d",
		 (int)getpid());
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	log_init("vb-test", LOG_LVL_INFO);
	ck_assert_int_eq(log_to_syslog("/nonexistent/vb-log"), -ENOENT);
	ck_assert_int_eq(log_to_syslog(sa.sun_path), 0);
	unlink(sa.sun_path);

	for (i = 0; i < LINES; i++)
		log_err("line %d", i);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		/* LOG_DAEMON | LOG_ERR, an RFC 3164 time stamp, ident[pid] */
		ck_assert_msg(!strncmp(buf, "<27>", 4), "%s", buf);
		ck_assert_ptr_nonnull(strstr(buf, " vb-test["));
		ck_assert_ptr_nonnull(strstr(buf, "]: syslog_reader_stalls_fn: line "));
		got++;
	}
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_lt(got, LINES);

	log_info("after the stall");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(!strncmp(buf, "<28>", 4), "%s", buf);	/* warning */
	lost = reported_lost(buf);
	ck_assert_uint_eq(got + lost, LINES);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "after the stall"));
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("budget");

	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, idle_saves_at_most_the_burst);
	tcase_add_test(tc, budgeted_lines_report_drops);
	suite_add_tcase(s, tc);
	tc = tcase_create("never_block");
	tcase_add_test(tc, long_line_cut);
	tcase_add_test(tc, pipe_reader_stalls);
	tcase_add_test(tc, stream_reader_stalls);
	tcase_add_test(tc, syslog_reader_stalls);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
