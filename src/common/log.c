/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *ident;
	bool syslog;
	enum log_level level;
} log_state = { "vfio-broker", false, LOG_LVL_INFO };

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(const char *ident, bool use_syslog, enum log_level level)
{
	log_state.ident = ident;
	log_state.syslog = use_syslog;
	log_state.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_state.level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_state.level;
}

static void log_vmsg(enum log_level level, const char *func, const char *fmt,
		     va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_state.syslog) {
		syslog(log_prio[level], "%s: %s", func, line);
		return;
	}
	/* One write per line so lines of concurrent processes do not mix. */
	struct timespec ts;
	char out[1200];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(out, sizeof(out), "%ld.%03ld %s[%d] %s: %s: %s\n",
		     (long)ts.tv_sec, ts.tv_nsec / 1000000, log_state.ident,
		     (int)getpid(), log_names[level], func, line);
	if (n > (int)sizeof(out))
		n = sizeof(out);
	if (write(STDERR_FILENO, out, (size_t)n) < 0)
		return;
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
