/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * filter.c, filter_consts.c, filter_lint.c: the seccomp text policy.
 * Syntax accepted and rejected (with file:line), constants, includes,
 * duplicates, the lint, the shipped policy files, and a forked child that
 * runs under a compiled filter: allowed calls work, soft denials return
 * their errno, argument filters hold, and anything else is SIGSYS.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/filter.h"
#include "sandbox/sandbox.h"
#include "check_main.h"

static struct filter_error err;

static int compile(const char *text, unsigned int flags)
{
	scmp_filter_ctx ctx = NULL;
	int rc = filter_compile_string("t.policy", text, NULL, flags, &ctx,
				       &err);

	if (rc == 0) {
		ck_assert_ptr_nonnull(ctx);
		seccomp_release(ctx);
	} else {
		ck_assert_ptr_null(ctx);
	}
	return rc;
}

/* The compile must fail with a message starting with @where and
 * containing @what. */
static void expect_error(const char *text, const char *where, const char *what)
{
	int rc = compile(text, 0);

	ck_assert_msg(rc == -EINVAL, "'%s' compiled (rc %d)", text, rc);
	ck_assert_msg(!strncmp(err.msg, where, strlen(where)) &&
		      strstr(err.msg, what),
		      "'%s': message '%s' lacks '%s' ... '%s'", text, err.msg,
		      where, what);
}

START_TEST(good_syntax)
{
	static const char *const good[] = {
		"read: 1",
		"  read :   1   # trailing comment\n",
		"# only a comment\n\nread: 1\n",
		"write: arg0 == 1 || arg0 == 2",
		"write: arg0 == 1 && arg2 <= 4096 || arg0 == 2",
		"ioctl: arg1 == FIONREAD || arg1 == TCGETS",
		"ioctl: arg1 == VFIO_IOMMU_MAP_DMA && arg0 == 7",
		"mmap: arg2 in PROT_READ|PROT_WRITE",
		"mmap: arg3 & MAP_SHARED",
		"openat: return EACCES",
		"openat: return 13",
		"fcntl: arg1 == F_GETFL || arg1 == F_SETFD",
		"lseek: arg1 != 0 && arg2 < 3 && arg0 > 2 && arg3 >= 0",
		"read: arg2 == 0x1000\r\n",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(compile(good[i], 0) == 0, "'%s': %s", good[i],
			      err.msg);
}
END_TEST

/* Anything not allowed ends the process, also a call of another
 * architecture (libseccomp would kill only the calling thread). */
START_TEST(default_actions)
{
	scmp_filter_ctx ctx = NULL;
	uint32_t act = 0;

	ck_assert_int_eq(filter_compile_string("t.policy", "read: 1", NULL, 0,
					       &ctx, &err), 0);
	ck_assert_int_eq(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &act),
			 0);
	ck_assert_uint_eq(act, SCMP_ACT_KILL_PROCESS);
	ck_assert_int_eq(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &act),
			 0);
	ck_assert_uint_eq(act, SCMP_ACT_KILL_PROCESS);
	seccomp_release(ctx);
}
END_TEST

START_TEST(bad_syntax)
{
	expect_error("read: 1\n\nfrobnicate: 1\n", "t.policy:3:",
		     "unknown syscall 'frobnicate'");
	expect_error("ioctl: arg1 == NOT_A_CONSTANT", "t.policy:1:",
		     "unknown constant 'NOT_A_CONSTANT'");
	expect_error("read 1", "t.policy:1:", "expected ':'");
	expect_error("read:", "t.policy:1:", "missing condition");
	expect_error("read: 2", "t.policy:1:", "expected arg0..arg5");
	expect_error("read: arg6 == 1", "t.policy:1:", "expected arg0..arg5");
	expect_error("read: arg0 =! 1", "t.policy:1:", "unexpected character");
	expect_error("read: arg0 == 1 garbage", "t.policy:1:",
		     "expected && or ||");
	expect_error("read: arg0 ==", "t.policy:1:", "expected a value");
	expect_error("read: 1 1", "t.policy:1:", "trailing text");
	expect_error("read: return", "t.policy:1:", "expected a value");
	expect_error("read: return ENOTANERRNO", "t.policy:1:",
		     "unknown constant");
	expect_error("read: return 0", "t.policy:1:", "out of range");
	/* the kernel passes back at most 4095 as -errno; a larger value
	 * would not read as an error to the caller */
	expect_error("read: return 4096", "t.policy:1:", "out of range");
	expect_error("read: arg0 == 12abc", "t.policy:1:", "bad number");
	expect_error("read: arg0 == 1 && arg0 == 2", "t.policy:1:",
		     "compared twice");
	expect_error("read: 1\nread: arg0 == 1\n", "t.policy:2:",
		     "duplicate rule for 'read' (first at t.policy:1)");
	expect_error("@frob x", "t.policy:1:", "unknown directive");
	expect_error("@include", "t.policy:1:", "unknown directive");
	expect_error("@include a b", "t.policy:1:", "one file name");
	/* ioctl's command is a 32-bit int: only masked compares make sense */
	expect_error("ioctl: arg1 != FIONREAD", "t.policy:1:", "32-bit");
	expect_error("ioctl: arg1 == 0x100000000", "t.policy:1:",
		     "does not fit 32-bit");
	/* so are pidfd_open's flags and poll's timeout (holder.c) */
	expect_error("pidfd_open: arg1 == 0x100000000", "t.policy:1:",
		     "does not fit 32-bit");
	expect_error("poll: arg2 == 0x100000000", "t.policy:1:",
		     "does not fit 32-bit");
	expect_error("", "", "allows nothing");
	expect_error("# nothing\n", "", "allows nothing");
}
END_TEST

/* Writes "read: arg0 == 0 || arg0 == 1 || ..." with @n alternatives. */
static void alternatives(char *buf, size_t cap, unsigned int n)
{
	size_t len = (size_t)snprintf(buf, cap, "read: arg0 == 0");

	for (unsigned int i = 1; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, " || arg0 == %u",
					i);
	ck_assert_uint_lt(len, cap);
}

/*
 * A rule holds its alternatives in a fixed array (FILTER_MAX_ALTS = 16):
 * the 16th still fits, the 17th must be an error rather than a write past
 * the end of the parser's stack frame.
 */
START_TEST(max_alternatives)
{
	char text[512];

	alternatives(text, sizeof(text), 16);
	ck_assert_msg(compile(text, 0) == 0, "16 alternatives: %s", err.msg);
	alternatives(text, sizeof(text), 17);
	expect_error(text, "t.policy:1:", "too many || alternatives");
}
END_TEST

START_TEST(constants_resolve)
{
	uint64_t v;

	ck_assert(filter_consts_lookup("FIONREAD", &v));
	ck_assert_uint_eq(v, FIONREAD);
	ck_assert(filter_consts_lookup("EACCES", &v));
	ck_assert_uint_eq(v, EACCES);
	ck_assert(filter_consts_lookup("PROT_WRITE", &v));
	ck_assert_uint_eq(v, 2);
	ck_assert(!filter_consts_lookup("fionread", &v));
	ck_assert(!filter_consts_lookup("", &v));
}
END_TEST

static char tmpdir[64];

/* @len bytes into @name in tmpdir; they may hold a NUL. */
static void write_bytes(const char *name, const char *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void write_file(const char *name, const char *text)
{
	write_bytes(name, text, strlen(text));
}

static int compile_file(const char *name)
{
	char path[256];
	const char *paths[1] = { path };
	scmp_filter_ctx ctx = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	rc = filter_compile_files(paths, 1, 0, &ctx, &err);
	if (ctx)
		seccomp_release(ctx);
	return rc;
}

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vb-filter.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

START_TEST(includes)
{
	char where[200];

	write_file("common.policy", "# shared\nexit_group: 1\nbrk: 1\n");
	write_file("main.policy", "@include common.policy\nread: 1\n");
	ck_assert_msg(compile_file("main.policy") == 0, "%s", err.msg);

	/* a rule repeated across files names the first place */
	write_file("dup.policy", "read: 1\n@include common.policy\nbrk: 1\n");
	ck_assert_int_eq(compile_file("dup.policy"), -EINVAL);
	snprintf(where, sizeof(where), "%s/dup.policy:3:", tmpdir);
	ck_assert_msg(!strncmp(err.msg, where, strlen(where)) &&
		      strstr(err.msg, "common.policy:3"), "%s", err.msg);

	/* an error inside an included file names that file */
	write_file("broken.policy", "read: 1\nnosuchcall: 1\n");
	write_file("inc_broken.policy", "@include broken.policy\n");
	ck_assert_int_eq(compile_file("inc_broken.policy"), -EINVAL);
	snprintf(where, sizeof(where), "%s/broken.policy:2:", tmpdir);
	ck_assert_msg(!strncmp(err.msg, where, strlen(where)), "%s", err.msg);

	/* missing include: the including line is blamed */
	write_file("missing.policy", "read: 1\n@include nope.policy\n");
	ck_assert_int_eq(compile_file("missing.policy"), -ENOENT);
	snprintf(where, sizeof(where), "%s/missing.policy:2:", tmpdir);
	ck_assert_msg(!strncmp(err.msg, where, strlen(where)) &&
		      strstr(err.msg, "nope.policy"), "%s", err.msg);

	/* a cycle stops at the depth limit instead of recursing forever */
	write_file("loop.policy", "@include loop.policy\n");
	ck_assert_int_eq(compile_file("loop.policy"), -EINVAL);
	ck_assert_msg(strstr(err.msg, "nested deeper"), "%s", err.msg);

	ck_assert_int_eq(compile_file("does-not-exist.policy"), -ENOENT);
	ck_assert_msg(strstr(err.msg, "cannot open"), "%s", err.msg);
}
END_TEST

/*
 * The depth limit counts nesting, not includes: more sibling includes
 * than FILTER_MAX_INCLUDE_DEPTH, one after another, are fine.
 */
START_TEST(sequential_includes)
{
	static const char *const calls[] = {
		"read", "write", "close", "brk", "getpid", "exit_group",
		"munmap", "lseek", "fstat",
	};
	char main_text[512] = "", name[64], rule[64];
	size_t len = 0;

	ck_assert_uint_gt(sizeof(calls) / sizeof(calls[0]),
			  FILTER_MAX_INCLUDE_DEPTH);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		snprintf(name, sizeof(name), "part%zu.policy", i);
		snprintf(rule, sizeof(rule), "%s: 1\n", calls[i]);
		write_file(name, rule);
		len += (size_t)snprintf(main_text + len, sizeof(main_text) - len,
					"@include %s\n", name);
		ck_assert_uint_lt(len, sizeof(main_text));
	}
	write_file("siblings.policy", main_text);
	ck_assert_msg(compile_file("siblings.policy") == 0, "%s", err.msg);
}
END_TEST

/*
 * A NUL byte would end the text early as a C string and silently drop the
 * rest of the file (or worse, a deny rule after it): the file is refused,
 * directly and when included.
 */
START_TEST(nul_byte_refused)
{
	static const char text[] = "read: 1\n\0brk: 1\n";

	write_bytes("nul.policy", text, sizeof(text) - 1);
	ck_assert_int_eq(compile_file("nul.policy"), -EINVAL);
	ck_assert_msg(strstr(err.msg, "nul.policy") &&
		      strstr(err.msg, "NUL byte"), "%s", err.msg);

	write_file("inc_nul.policy", "exit_group: 1\n@include nul.policy\n");
	ck_assert_int_eq(compile_file("inc_nul.policy"), -EINVAL);
	ck_assert_msg(strstr(err.msg, "nul.policy: contains a NUL byte"), "%s",
		      err.msg);
}
END_TEST

START_TEST(lint)
{
	static const char *const refused[] = {
		"ptrace: 1", "execve: 1", "mount: 1", "bpf: 1", "ioctl: 1",
		"mprotect: 1", "mmap: 1", "clone: 1", "unshare: 1",
		/* ioctl filtered, but not on its command */
		"ioctl: arg0 == 3",
		"ioctl: arg1 == FIONREAD || arg0 == 3",
		/* a command set, not one command: `in 0xffffffff` is all */
		"ioctl: arg1 in 0xffffffff",
		"ioctl: arg1 & 0",
		/* io_uring bypasses seccomp; pkey_mprotect can set PROT_EXEC */
		"io_uring_setup: 1", "pkey_mprotect: 1", "pidfd_getfd: 1",
		/* the marker needs a reason */
		"ptrace: 1 # lint-ok:",
		"ptrace: 1 # lint-ok:   ",
		"ptrace: 1 # lint-ok",
	};
	static const char *const accepted[] = {
		"ptrace: return EPERM",
		"ptrace: 1 # lint-ok: test tracer",
		"ioctl: 1   # lint-ok: the test wants every command",
		"ioctl: arg1 == FIONREAD",
		"ioctl: arg0 == 3 && arg1 == FIONREAD",
		"mprotect: arg2 in PROT_READ|PROT_WRITE",
		"execve: arg0 == 0",
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_msg(compile(refused[i], 0) == -EINVAL,
			      "lint let '%s' through", refused[i]);
		ck_assert_msg(strstr(err.msg, "t.policy:1: lint:"), "%s",
			      err.msg);
		/* the lint, not the parser, refused it */
		ck_assert_msg(compile(refused[i], FILTER_F_NO_LINT) == 0,
			      "'%s' without lint: %s", refused[i], err.msg);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		ck_assert_msg(compile(accepted[i], 0) == 0, "'%s': %s",
			      accepted[i], err.msg);
	ck_assert_ptr_nonnull(filter_lint_unconditional("ptrace"));
	ck_assert_ptr_null(filter_lint_unconditional("read"));
}
END_TEST

START_TEST(shipped_policies)
{
	const char *dev[] = { VB_SOURCE_DIR "/seccomp/devproc.policy",
			      VB_SOURCE_DIR "/seccomp/sanitizer.policy" };
	const char *common[] = { VB_SOURCE_DIR "/seccomp/common.policy" };
	const char *edu[] = { VB_SOURCE_DIR "/seccomp/devproc-edu.policy",
			      VB_SOURCE_DIR "/seccomp/sanitizer.policy" };
	scmp_filter_ctx ctx = NULL;

	for (unsigned int n = 1; n <= 2; n++) {
		ck_assert_msg(filter_compile_files(edu, n, 0, &ctx, &err) == 0,
			      "%s", err.msg);
		seccomp_release(ctx);
	}

	ck_assert_msg(filter_compile_files(dev, 1, 0, &ctx, &err) == 0, "%s",
		      err.msg);
	seccomp_release(ctx);
	ck_assert_msg(filter_compile_files(dev, 2, 0, &ctx, &err) == 0, "%s",
		      err.msg);
	seccomp_release(ctx);
	ck_assert_msg(filter_compile_files(common, 1, 0, &ctx, &err) == 0,
		      "%s", err.msg);
	seccomp_release(ctx);
}
END_TEST

/*
 * The child's policy. Under ASan its runtime's extra syscalls come from the
 * same sanitizer.policy the devproc uses, so the test still checks every
 * rule below in both builds.
 */
static const char child_policy[] =
	"exit_group: 1\n"
	"write: 1\n"
	"getpid: 1\n"
	"ioctl: arg1 == FIONREAD\n"
	"fcntl: arg1 in F_GETFL\n"
	"openat: return EACCES\n"
	"brk: 1\n"
	"mmap: arg2 in PROT_READ|PROT_WRITE\n"
	"munmap: 1\n"
#if SANDBOX_ASAN
	"@include " VB_SOURCE_DIR "/seccomp/sanitizer.policy\n"
#endif
	;

enum child_step { STEP_NONE, STEP_GETPPID, STEP_FIONBIO };

/* Runs the child; returns its wait status and the report it wrote. */
static int run_child(enum child_step last, char *report, size_t cap)
{
	scmp_filter_ctx ctx = NULL;
	int pfd[2], status;
	ssize_t got, n = 0;
	pid_t pid;

	ck_assert_msg(filter_compile_string("child", child_policy, NULL, 0,
					    &ctx, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char out[128];
		int avail = -1, len;
		long r_pid, r_ioctl, r_wide, r_fcntl, r_open;

		close(pfd[0]);
		if (seccomp_load(ctx))
			_exit(90);
		r_pid = syscall(SYS_getpid);
		r_ioctl = ioctl(pfd[1], FIONREAD, &avail);
		/* Upper half of the command register set: the 32-bit
		 * compare still matches, as the kernel ignores it. */
		r_wide = syscall(SYS_ioctl, pfd[1],
				 (unsigned long)FIONREAD | (1ul << 32), &avail);
		/* Same for `in` on a 32-bit argument: the mask covers only
		 * the low half (F_GETFL is 3, inside the mask "in 3"). */
		r_fcntl = syscall(SYS_fcntl, pfd[1],
				  (unsigned long)F_GETFL | (1ul << 32));
		r_open = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
		len = snprintf(out, sizeof(out), "pid %d ioctl %ld wide %ld fcntl %ld open %ld errno %d\n",
			       r_pid == getpid(), r_ioctl, r_wide, r_fcntl,
			       r_open, errno);
		if (write(pfd[1], out, (size_t)len) != len)
			_exit(91);
		if (last == STEP_GETPPID)
			syscall(SYS_getppid);
		else if (last == STEP_FIONBIO)
			syscall(SYS_ioctl, pfd[1], FIONBIO, &avail);
		_exit(0);
	}
	seccomp_release(ctx);
	close(pfd[1]);
	while ((got = read(pfd[0], report + n, cap - 1 - (size_t)n)) > 0)
		n += got;
	report[n] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(child_under_filter)
{
	/* the pipe's write end: F_GETFL is O_WRONLY */
	const char *want = "pid 1 ioctl 0 wide 0 fcntl 1 open -1 errno 13\n";
	char report[256];
	int st;

	/* Every allowed call worked, and the soft denial returned EACCES. */
	st = run_child(STEP_NONE, report, sizeof(report));
	ck_assert_str_eq(report, want);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);

	/* An unlisted syscall kills the whole process with SIGSYS. */
	st = run_child(STEP_GETPPID, report, sizeof(report));
	ck_assert_str_eq(report, want);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		      "getppid: status 0x%x", st);

	/* A listed syscall with an argument outside its filter, too. */
	st = run_child(STEP_FIONBIO, report, sizeof(report));
	ck_assert_str_eq(report, want);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		      "FIONBIO: status 0x%x", st);
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("files");
	TCase *tr = tcase_create("run");

	tcase_add_test(tc, good_syntax);
	tcase_add_test(tc, default_actions);
	tcase_add_test(tc, bad_syntax);
	tcase_add_test(tc, max_alternatives);
	tcase_add_test(tc, constants_resolve);
	tcase_add_test(tc, lint);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, tmp_setup, tmp_teardown);
	tcase_add_test(tf, includes);
	tcase_add_test(tf, sequential_includes);
	tcase_add_test(tf, nul_byte_refused);
	tcase_add_test(tf, shipped_policies);
	suite_add_tcase(s, tf);
	tcase_add_test(tr, child_under_filter);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	return vb_check_run(filter_suite());
}
