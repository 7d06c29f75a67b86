/* SPDX-License-Identifier: BSD-3-Clause */
/* replay_trace.c: every operation and field, relative addresses and their
 * resolution, and rejected lines naming file:line. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devproc/replay_trace.h"
#include "vfio-broker/client.h"
#include "check_main.h"

static char err[512];

START_TEST(parse_all_forms)
{
	static const char text[] =
		"# a comment line\n"
		"\n"
		"map w+0x1000 r+0x2000 4 rw\n"
		"map 0x200000 0x3000 1 r expect=EEXIST   # trailing comment\n"
		"map w1+0 r2+0x1000 2 w done=0 expect=ERANGE\n"
		"map w+0 r+0 1 7 expect=EINVAL\n"
		"unmap w+0x1000 4 done=4\n"
		"unmap 0x0 1 expect=22\n"
		"sync\n"
		"expect-mapped 0\n";
	struct replay_trace t;
	const struct replay_op *o;

	ck_assert_msg(replay_trace_parse("t", text, &t, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(t.n, 8);
	o = &t.ops[0];
	ck_assert_int_eq(o->kind, REPLAY_MAP);
	ck_assert_uint_eq(o->line, 3);
	ck_assert_int_eq(o->iova.base, 'w');
	ck_assert_uint_eq(o->iova.idx, 0);
	ck_assert_uint_eq(o->iova.off, 0x1000);
	ck_assert_int_eq(o->gpa.base, 'r');
	ck_assert_uint_eq(o->gpa.off, 0x2000);
	ck_assert_uint_eq(o->npages, 4);
	ck_assert_uint_eq(o->prot, VB_PROT_READ | VB_PROT_WRITE);
	ck_assert_int_eq(o->expect, 0);
	ck_assert_uint_eq(o->done, REPLAY_NO_DONE);
	o = &t.ops[1];
	ck_assert_int_eq(o->iova.base, 0);
	ck_assert_uint_eq(o->iova.off, 0x200000);
	ck_assert_uint_eq(o->prot, VB_PROT_READ);
	ck_assert_int_eq(o->expect, EEXIST);
	o = &t.ops[2];
	ck_assert_uint_eq(o->iova.idx, 1);
	ck_assert_uint_eq(o->gpa.idx, 2);
	ck_assert_uint_eq(o->prot, VB_PROT_WRITE);
	ck_assert_uint_eq(o->done, 0);
	ck_assert_int_eq(o->expect, ERANGE);
	ck_assert_uint_eq(t.ops[3].prot, 7);	/* invalid on purpose */
	ck_assert_int_eq(t.ops[3].expect, EINVAL);
	o = &t.ops[4];
	ck_assert_int_eq(o->kind, REPLAY_UNMAP);
	ck_assert_uint_eq(o->npages, 4);
	ck_assert_uint_eq(o->done, 4);
	ck_assert_int_eq(t.ops[5].expect, EINVAL);
	ck_assert_int_eq(t.ops[6].kind, REPLAY_SYNC);
	ck_assert_int_eq(t.ops[7].kind, REPLAY_EXPECT_MAPPED);
	ck_assert_uint_eq(t.ops[7].npages, 0);
	ck_assert_uint_eq(t.ops[7].line, 10);
	replay_trace_free(&t);
}
END_TEST

START_TEST(reject_bad_lines)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "sync\nfrobnicate 1\n", "t:2: unknown operation 'frobnicate'" },
		{ "map w+0 r+0 1\n", "t:1: map needs" },
		{ "map x+0 r+0 1 rw\n", "t:1: bad address" },
		{ "map w+ r+0 1 rw\n", "t:1: bad address" },
		{ "map w9+0 r+0 1 rw\n", "t:1: bad address" },
		{ "map w+0 r+0 -1 rw\n", "t:1: bad page count" },
		/* decimal or 0x hex only: 010 is not 8 */
		{ "map w+0 r+0 010x rw\n", "t:1: bad page count" },
		{ "map w+0 r+0 0x rw\n", "t:1: bad page count" },
		{ "map w+0 r+0 0x0x10 rw\n", "t:1: bad page count" },
		{ "map w+0 r+0 1 rw expect=+5\n", "t:1: unknown errno" },
		{ "map w+0 r+0 1 rx\n", "t:1: bad prot" },
		{ "map w+0 r+0 1 rw expect=ENOTHING\n", "t:1: unknown errno" },
		{ "map w+0 r+0 1 rw bogus\n", "t:1: unexpected field" },
		{ "unmap w+0\n", "t:1: unmap needs" },
		{ "unmap w+0 1 done=x\n", "t:1: bad done=" },
		{ "sync done=1\n", "t:1: unexpected field" },
		{ "expect-mapped\n", "t:1: expect-mapped needs" },
		{ "expect-mapped 1 2\n", "t:1: expect-mapped needs" },
		{ "# nothing\n\n", "t:2: trace has no operations" },
		{ "map 1 2 3 4 5 6 7 8 9\n", "t:1: too many fields" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct replay_trace t;

		ck_assert_msg(replay_trace_parse("t", bad[i].text, &t, err,
						 sizeof(err)) == -EINVAL,
			      "accepted '%s'", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].msg), "'%s': got '%s'",
			      bad[i].text, err);
		ck_assert_ptr_null(t.ops);
	}
}
END_TEST

START_TEST(resolve)
{
	struct vb_client_info in;
	struct replay_addr a = { .base = 'w', .idx = 0, .off = 0x1000 };
	uint64_t v;

	memset(&in, 0, sizeof(in));
	in.n_iova = 1;
	in.iova[0].start = 0x100000;
	in.n_ram = 2;
	in.ram[1].gpa = 0x40000000;
	ck_assert_int_eq(replay_trace_resolve(&a, &in, &v), 0);
	ck_assert_uint_eq(v, 0x101000);
	a = (struct replay_addr){ .base = 'r', .idx = 1, .off = 0x2000 };
	ck_assert_int_eq(replay_trace_resolve(&a, &in, &v), 0);
	ck_assert_uint_eq(v, 0x40002000);
	a = (struct replay_addr){ .base = 0, .off = 0x5000 };
	ck_assert_int_eq(replay_trace_resolve(&a, &in, &v), 0);
	ck_assert_uint_eq(v, 0x5000);
	a = (struct replay_addr){ .base = 'w', .idx = 1 };
	ck_assert_int_eq(replay_trace_resolve(&a, &in, &v), -ENOENT);
	a = (struct replay_addr){ .base = 'r', .idx = 2 };
	ck_assert_int_eq(replay_trace_resolve(&a, &in, &v), -ENOENT);
}
END_TEST

START_TEST(errno_names)
{
	ck_assert_int_eq(replay_trace_errno("OK"), 0);
	ck_assert_int_eq(replay_trace_errno("0"), 0);
	ck_assert_int_eq(replay_trace_errno("EFAULT"), EFAULT);
	ck_assert_int_eq(replay_trace_errno("E2BIG"), E2BIG);
	ck_assert_int_eq(replay_trace_errno("eexist"), -1);
	ck_assert_int_eq(replay_trace_errno(""), -1);
	ck_assert_int_eq(replay_trace_errno("5000"), -1);
	ck_assert_str_eq(replay_trace_errname(ERANGE), "ERANGE");
	ck_assert_str_eq(replay_trace_errname(0), "OK");
}
END_TEST

/* Numbers are decimal or 0x hex, never octal; a NUL byte in a trace
 * file is refused, not taken as its end. */
START_TEST(numbers_and_nul)
{
	static const char text[] = "expect-mapped 010\0sync\n";
	char path[] = "/tmp/vb-trace-XXXXXX";
	struct replay_trace t;
	int fd;

	ck_assert_int_eq(replay_trace_parse("t", "expect-mapped 010\n", &t,
					    err, sizeof(err)), 0);
	ck_assert_uint_eq(t.ops[0].npages, 10);
	replay_trace_free(&t);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
			 (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(replay_trace_load(path, &t, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "NUL"), "%s", err);
	unlink(path);
}
END_TEST

/* getdelim() leaves its buffer unterminated for an empty file */
START_TEST(load_empty_file)
{
	char path[] = "/tmp/vb-trace-XXXXXX";
	struct replay_trace t;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(replay_trace_load(path, &t, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, ":0: trace has no operations"), "%s", err);
	ck_assert_ptr_null(t.ops);
	unlink(path);
}
END_TEST

START_TEST(load_missing_file)
{
	struct replay_trace t;

	ck_assert_int_eq(replay_trace_load("/nonexistent/trace", &t, err,
					   sizeof(err)), -ENOENT);
	ck_assert(strstr(err, "/nonexistent/trace"));
}
END_TEST

START_TEST(shipped_example)
{
	struct replay_trace t;

	ck_assert_msg(replay_trace_load(VB_SOURCE_DIR "/docs/replay-example.trace",
					&t, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_gt(t.n, 5);
	replay_trace_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay_trace");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_all_forms);
	tcase_add_test(tc, reject_bad_lines);
	tcase_add_test(tc, resolve);
	tcase_add_test(tc, errno_names);
	tcase_add_test(tc, load_empty_file);
	tcase_add_test(tc, load_missing_file);
	tcase_add_test(tc, numbers_and_nul);
	tcase_add_test(tc, shipped_example);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
