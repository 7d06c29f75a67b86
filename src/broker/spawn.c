/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fork + exec of configured devprocs. Every broker fd is O_CLOEXEC, so the
 * child starts with stdin/out/err and fd 3 only; it still closes anything
 * else itself when it enters its sandbox. Dispositions the broker changed
 * (SIGPIPE ignored) are reset, since an ignored signal survives exec.
 */
#define _GNU_SOURCE
#include "broker/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/peer.h"
#include "common/log.h"

#define SPAWN_FD	3

int spawn_resolve(const char *argv0, char *out, size_t len)
{
	char self[PATH_MAX], *slash, *path, *save = NULL, *dir;
	ssize_t n;

	if (strchr(argv0, '/')) {
		if ((size_t)snprintf(out, len, "%s", argv0) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			/* Same directory (install bindir), then the build tree's sibling. */
			if ((size_t)snprintf(out, len, "%s/%s", self, argv0) < len &&
			    access(out, X_OK) == 0)
				return 0;
			if ((size_t)snprintf(out, len, "%s/../devproc/%s", self,
					     argv0) < len && access(out, X_OK) == 0)
				return 0;
		}
	}
	path = getenv("PATH");
	path = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!path)
		return -ENOMEM;
	for (dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(out, len, "%s/%s", dir, argv0) < len &&
		    access(out, X_OK) == 0) {
			free(path);
			return 0;
		}
	}
	free(path);
	return -ENOENT;
}

static void spawn_child(const char *prog, char **argv, int fd)
{
	sigset_t none;
	int null;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* ignored dispositions survive exec: a devproc must die of the
	 * broker's SIGTERM even if the broker's parent ignored it */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/*
	 * A process group of its own: a terminal's Ctrl-C then reaches only
	 * the broker, which stops its devprocs itself (SIGTERM, a clean
	 * stop) instead of finding them killed by SIGINT and counting that
	 * as their failure.
	 */
	setpgid(0, 0);
	if (fd == SPAWN_FD) {
		if (fcntl(fd, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(fd, SPAWN_FD) < 0) {
		_exit(127);
	}
	/*
	 * Nothing else of ours reaches the child: our own fds are
	 * close-on-exec, and what the broker inherited from whoever started
	 * it (stdin, a stray descriptor) is not the devproc's business.
	 */
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    close_range(SPAWN_FD + 1, ~0U, 0) < 0)
		_exit(127);
	execv(prog, argv);
	dprintf(STDERR_FILENO, "vfio-broker: exec %s: %s\n", prog,
		strerror(errno));
	_exit(127);
}

int spawn_device(struct broker *b, struct device *dev)
{
	char *const *cmd = dev->cfg->spawn;
	char prog[PATH_MAX], devid[16], **argv;
	size_t n = 0;
	struct peer *p;
	int sv[2], ret;
	pid_t pid;

	while (cmd[n])
		n++;
	ret = spawn_resolve(cmd[0], prog, sizeof(prog));
	if (ret) {
		log_err("device %u: cannot find '%s' beside vfio-broker or in PATH",
			dev->id, cmd[0]);
		return ret;
	}
	argv = calloc(n + 5, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	snprintf(devid, sizeof(devid), "%u", dev->id);
	memcpy(argv, cmd, n * sizeof(*argv));
	argv[n] = "--socket-fd";
	argv[n + 1] = "3";
	argv[n + 2] = "--device";
	argv[n + 3] = devid;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		log_err("device %u: socketpair: %s", dev->id, strerror(errno));
		free(argv);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		log_err("device %u: fork: %s", dev->id, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(argv);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		spawn_child(prog, argv, sv[1]);
	}
	free(argv);
	close(sv[1]);
	dev->child = pid;
	dev->spawned = true;
	b->n_children++;
	b->n_children_live++;
	log_info("device %u: spawned %s (pid %d)", dev->id, prog, (int)pid);
	/* The child runs with our credentials; its pid names it in logs. */
	p = peer_new(b, sv[0], dev, pid, getuid(), getgid());
	if (!p)
		return -ENOMEM;
	/* our unreaped child: its pid cannot have been reused yet */
	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0)
		log_warn("device %u: pidfd_open(%d): %s; it cannot be lent a device fd",
			 dev->id, (int)pid, strerror(errno));
	return 0;
}

static struct device *spawn_find(struct broker *b, pid_t pid)
{
	for (unsigned int i = 0; i < b->n_devices; i++)
		if (b->devices[i].child == pid)
			return &b->devices[i];
	return NULL;
}

static void spawn_record(struct broker *b, pid_t pid, int status)
{
	struct device *dev = spawn_find(b, pid);

	if (!dev) {
		log_debug("reaped unknown child %d", (int)pid);
		return;
	}
	dev->child = 0;
	dev->child_done = true;
	dev->child_status = status;
	b->n_children_live--;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("device %u: devproc %d exited 0", dev->id, (int)pid);
		return;
	}
	/*
	 * Our own SIGTERM at shutdown is not the devproc failing; one that
	 * came from elsewhere before is, also if the summary is written
	 * while stopping: so the verdict is taken here, once.
	 */
	if (b->stopping && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) {
		log_info("device %u: devproc %d stopped", dev->id, (int)pid);
		return;
	}
	dev->child_failed = true;
	b->child_failed = true;
	if (WIFEXITED(status))
		log_warn("device %u: devproc %d exited %d", dev->id, (int)pid,
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warn("device %u: devproc %d killed by signal %d (%s)", dev->id,
			 (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
}

void spawn_reap(struct broker *b)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		spawn_record(b, pid, status);
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid: %s", strerror(errno));
}

/* Reap until no child is left or @ms have passed. */
static void spawn_reap_within(struct broker *b, int ms)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

	for (int waited = 0; b->n_children_live && waited < ms; waited += 10) {
		spawn_reap(b);
		if (b->n_children_live)
			nanosleep(&ts, NULL);
	}
}

void spawn_stop_all(struct broker *b, int ms)
{
	b->stopping = true;
	for (unsigned int i = 0; i < b->n_devices; i++)
		if (b->devices[i].child > 0)
			kill(b->devices[i].child, SIGTERM);
	spawn_reap_within(b, ms);
	for (unsigned int i = 0; i < b->n_devices; i++)
		if (b->devices[i].child > 0) {
			log_warn("device %u: devproc %d ignored SIGTERM; killing it",
				 b->devices[i].id, (int)b->devices[i].child);
			kill(b->devices[i].child, SIGKILL);
		}
	/*
	 * SIGKILL takes effect once the child leaves the kernel, which is
	 * not at once: wait for it (a second at most, for one stuck in an
	 * uninterruptible sleep), or its end would go unrecorded and the
	 * exit status would depend on the race.
	 */
	spawn_reap_within(b, 1000);
	for (unsigned int i = 0; i < b->n_devices; i++)
		if (b->devices[i].child > 0) {
			log_warn("device %u: devproc %d did not die of SIGKILL within 1 s",
				 b->devices[i].id, (int)b->devices[i].child);
			b->devices[i].child_failed = true;
			b->child_failed = true;
		}
}
