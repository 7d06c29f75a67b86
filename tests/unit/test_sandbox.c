/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sandbox.c: a forked child enters the sandbox and the parent inspects it
 * from outside through /proc (capabilities, no_new_privs, seccomp mode,
 * open fds, rlimits) and reports whether it is still dumpable; limits
 * stricter than the configuration stay; a forbidden syscall afterwards is
 * SIGSYS; a bad configuration ends the process instead of returning half
 * sandboxed.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/filter.h"
#include "sandbox/sandbox.h"
#include "check_main.h"

static const char child_policy[] =
	"exit_group: 1\n"
	"write: 1\n"
	"pause: 1\n"
	"brk: 1\n"
	"mmap: arg2 in PROT_READ|PROT_WRITE\n"
	"munmap: 1\n"
	"rt_sigreturn: 1\n"
	"prctl: arg0 == PR_GET_DUMPABLE\n"
#if SANDBOX_ASAN
	"@include " VB_SOURCE_DIR "/seccomp/sanitizer.policy\n"
#endif
	;

enum child_mode {
	CHILD_HOLD, CHILD_FORBIDDEN, CHILD_BAD_FD, CHILD_NO_FILTER,
	CHILD_LOW_NOFILE,	/* RLIMIT_NOFILE {10, 12} before entry */
};

/* Fork a child that enters the sandbox keeping only the pipe's write end
 * (moved to fd 5) and reports "in", then "dumpable N", through it. */
static pid_t start_child(enum child_mode mode, int *rd)
{
	struct filter_error err;
	scmp_filter_ctx ctx = NULL;
	int pfd[2];
	pid_t pid;

	ck_assert_msg(filter_compile_string("child", child_policy, NULL, 0,
					    &ctx, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int keep[1] = { 5 };
		char line[32];
		int len;
		struct sandbox_config cfg = {
			.keep_fds = keep, .n_keep = 1, .nofile = 16,
			.nproc = 0, .fsize = 0, .filter = ctx,
		};

		close(pfd[0]);
		if (dup2(pfd[1], 5) != 5)
			_exit(90);
		/* extra fds that must not survive */
		if (open("/dev/null", O_RDONLY) < 0 || dup2(5, 40) != 40)
			_exit(91);
		if (mode == CHILD_BAD_FD)
			keep[0] = 77;	/* not open */
		if (mode == CHILD_NO_FILTER)
			cfg.filter = NULL;
		if (mode == CHILD_LOW_NOFILE) {
			/* stricter than .nofile = 16, soft and hard */
			struct rlimit rl = { .rlim_cur = 10, .rlim_max = 12 };

			if (setrlimit(RLIMIT_NOFILE, &rl))
				_exit(93);
		}
		sandbox_enter(&cfg);
		if (write(5, "in\n", 3) != 3)
			_exit(92);
		len = snprintf(line, sizeof(line), "dumpable %d\n",
			       prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
		if (write(5, line, (size_t)len) != len)
			_exit(94);
		if (mode == CHILD_FORBIDDEN)
			syscall(SYS_getppid);
		for (;;)
			pause();
	}
	seccomp_release(ctx);
	close(pfd[1]);
	*rd = pfd[0];
	return pid;
}

static void read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
}

/* Value of "Key:" in /proc/PID/status. */
static void proc_status(pid_t pid, const char *key, char *out, size_t cap)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *v = line + klen + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, cap, "%s", v);
		}
	}
	fclose(f);
	ck_assert_msg(out[0], "no %s in %s", key, path);
}

static bool proc_limit(pid_t pid, const char *name, const char *soft_hard)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)))
			continue;
		char soft[32], hard[32];

		if (sscanf(line + strlen(name), "%31s %31s", soft, hard) == 2) {
			char both[70];

			snprintf(both, sizeof(both), "%s %s", soft, hard);
			found = !strcmp(both, soft_hard);
		}
	}
	fclose(f);
	return found;
}

START_TEST(entered_state)
{
	char buf[64], path[64];
	struct dirent *de;
	int rd, status, nfds = 0;
	bool has5 = false;
	DIR *d;
	pid_t pid;

	pid = start_child(CHILD_HOLD, &rd);
	read_line(rd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "in");
	/* Not dumpable: no core file, and no ptrace attach or /proc/PID/mem
	 * access by other processes of the same user. */
	read_line(rd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "dumpable 0");

	proc_status(pid, "CapEff", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000000000000000");
	proc_status(pid, "CapPrm", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000000000000000");
	proc_status(pid, "CapInh", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000000000000000");
	proc_status(pid, "CapAmb", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000000000000000");
	/* only a privileged caller can clear the bounding set */
	ck_assert_msg(geteuid() == 0, "this test needs root: it checks that the bounding set is cleared");
	proc_status(pid, "CapBnd", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000000000000000");
	proc_status(pid, "NoNewPrivs", buf, sizeof(buf));
	ck_assert_str_eq(buf, "1");
	proc_status(pid, "Seccomp", buf, sizeof(buf));
	ck_assert_str_eq(buf, "2");

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		nfds++;
		has5 |= !strcmp(de->d_name, "5");
	}
	closedir(d);
	ck_assert_msg(nfds == 1 && has5, "child has %d fds open", nfds);

	ck_assert(proc_limit(pid, "Max open files", "16 16"));
	ck_assert(proc_limit(pid, "Max processes", "0 0"));
	ck_assert(proc_limit(pid, "Max file size", "0 0"));
	ck_assert(proc_limit(pid, "Max core file size", "0 0"));

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(rd);
}
END_TEST

/*
 * sandbox_enter() never raises a limit: with {10, 12} already in place,
 * as a parent may have set them, .nofile = 16 leaves both. Taking only the
 * soft limit as a minimum would ask for a hard limit of 16: with
 * CAP_SYS_RESOURCE the limit goes up, without it entry fails (no "in").
 */
START_TEST(stricter_nofile_kept)
{
	char buf[64];
	int rd, status;
	pid_t pid = start_child(CHILD_LOW_NOFILE, &rd);

	read_line(rd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "in");
	ck_assert_msg(proc_limit(pid, "Max open files", "10 12"),
		      "RLIMIT_NOFILE is not soft 10 hard 12");
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(rd);
}
END_TEST

START_TEST(forbidden_after_entry)
{
	char buf[16];
	int rd, status;
	pid_t pid = start_child(CHILD_FORBIDDEN, &rd);

	read_line(rd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "in");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "status 0x%x", status);
	close(rd);
}
END_TEST

/* A failing step ends the process: it never reaches the "in" report. */
START_TEST(failure_exits)
{
	static const enum child_mode modes[] = { CHILD_BAD_FD, CHILD_NO_FILTER };

	for (size_t i = 0; i < 2; i++) {
		char buf[16];
		int rd, status;
		pid_t pid = start_child(modes[i], &rd);

		read_line(rd, buf, sizeof(buf));
		ck_assert_str_eq(buf, "");
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) &&
			      WEXITSTATUS(status) == SANDBOX_EXIT_STATUS,
			      "mode %zu: status 0x%x", i, status);
		close(rd);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("enter");

	tcase_add_test(tc, entered_state);
	tcase_add_test(tc, stricter_nofile_kept);
	tcase_add_test(tc, forbidden_after_entry);
	tcase_add_test(tc, failure_exits);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
