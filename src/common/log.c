/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/log.h"

#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *ident;
	enum log_level level;
	int fd;			/* where lines go */
	bool send;		/* fd is a socket: send() without waiting */
	bool syslog;		/* fd is syslog's: its line format */
	bool cut;		/* the last line went out in part */
	uint64_t lost;		/* lines not written since the last report */
} log_state = {
	.ident = "vfio-broker", .level = LOG_LVL_INFO, .fd = STDERR_FILENO,
};

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(const char *ident, enum log_level level)
{
	log_state.ident = ident;
	log_state.level = level;
}

int log_to_syslog(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	/* the time zone is read now: the sandboxed broker cannot open it */
	tzset();
	log_state.fd = fd;
	log_state.send = true;
	log_state.syslog = true;
	return 0;
}

int log_never_block(void)
{
	struct stat st;
	int fd;

	if (log_state.fd != STDERR_FILENO || fstat(STDERR_FILENO, &st))
		return 0;
	if (S_ISSOCK(st.st_mode)) {
		log_state.send = true;
		return 0;
	}
	if (!S_ISFIFO(st.st_mode))
		return 0;
	/*
	 * O_NONBLOCK on fd 2 itself would change the open file that a shell
	 * or a supervisor shares with us; opening the pipe again through
	 * /proc gives this process a non-blocking file of its own.
	 */
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	log_state.fd = fd;
	return 0;
}

void log_set_level(enum log_level level)
{
	log_state.level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_state.level;
}

/* One call per line, so lines of concurrent writers do not mix. */
static void log_out(const char *buf, size_t len)
{
	ssize_t n;

	if (log_state.send)
		n = send(log_state.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		n = write(log_state.fd, buf, len);
	if (n < 0) {
		log_state.lost++;
		return;
	}
	/* only a stream socket takes part of a line; end it with the next */
	log_state.cut = (size_t)n < len;
}

static void log_line(enum log_level level, const char *func, const char *msg)
{
	char out[1200];
	int n;

	if (log_state.syslog) {
		char stamp[32];
		struct tm tm;
		struct timespec ts;
		time_t now;

		/* not time(): without a vDSO it is a system call of its own,
		 * which the sandboxes do not list */
		clock_gettime(CLOCK_REALTIME, &ts);
		now = ts.tv_sec;

		strftime(stamp, sizeof(stamp), "%b %e %T",
			 localtime_r(&now, &tm));
		n = snprintf(out, sizeof(out), "<%d>%s %s[%d]: %s: %s",
			     LOG_DAEMON | log_prio[level], stamp,
			     log_state.ident, (int)getpid(), func, msg);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		n = snprintf(out, sizeof(out), "%s%ld.%03ld %s[%d] %s: %s: %s\n",
			     log_state.cut ? "\n" : "", (long)ts.tv_sec,
			     ts.tv_nsec / 1000000, log_state.ident,
			     (int)getpid(), log_names[level], func, msg);
	}
	if (n < 0)
		return;
	if (n >= (int)sizeof(out)) {
		n = sizeof(out) - 1;
		if (!log_state.syslog)
			out[n - 1] = '\n';
	}
	log_out(out, (size_t)n);
}

static void log_vmsg(enum log_level level, const char *func, const char *fmt,
		     va_list ap)
{
	char line[1024];

	if (log_state.lost) {
		uint64_t lost = log_state.lost;

		snprintf(line, sizeof(line),
			 "%" PRIu64 " line(s) lost: the log reader did not keep up",
			 lost);
		log_state.lost = 0;
		log_line(LOG_LVL_WARN, "log", line);
		if (log_state.lost) {
			/* still full: this line is lost too, not the report */
			log_state.lost = lost + 1;
			return;
		}
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	log_line(level, func, line);
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, func, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, func, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_budget_take(struct log_budget *lb, uint64_t now_ns,
		     unsigned int burst, unsigned int per_s)
{
	uint64_t step = 1000000000ull / (per_s ? per_s : 1);

	if (!lb->started) {
		lb->started = true;
		lb->tokens = burst;
		lb->last_ns = now_ns;
	}
	if (now_ns - lb->last_ns >= step) {
		uint64_t add = (now_ns - lb->last_ns) / step;

		lb->tokens = add >= burst - lb->tokens ? burst :
			     lb->tokens + (unsigned int)add;
		/* what is left of a step counts towards the next token */
		lb->last_ns += add * step;
	}
	if (lb->tokens) {
		lb->tokens--;
		return true;
	}
	lb->dropped++;
	return false;
}

bool log_budget_allow(struct log_budget *lb, unsigned int burst,
		      unsigned int per_s, const char *what)
{
	if (!log_budget_take(lb, vb_now_ns(), burst, per_s))
		return false;
	if (lb->dropped) {
		log_warn("%llu line(s) %s not logged: more than %u a second",
			 (unsigned long long)lb->dropped, what, per_s);
		lb->dropped = 0;
	}
	return true;
}
