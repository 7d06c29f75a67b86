/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging for the broker and the devproc: to stderr (default) or syslog.
 * Every line carries the calling function; callers add the client identity
 * ("dev 3 pid 1234") themselves where there is one.
 */
#ifndef VB_COMMON_LOG_H
#define VB_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Lines go to stderr until log_to_syslog() says otherwise. */
void log_init(const char *ident, enum log_level level);
/*
 * Send lines to the syslog socket at @path (LOG_SYSLOG_PATH) instead,
 * connected now, never waiting on it: 0, or -errno and stderr stays.
 */
#define LOG_SYSLOG_PATH "/dev/log"
int log_to_syslog(const char *path);
/*
 * For a server that must not stall behind its log reader: a line that
 * stderr (a pipe or a socket) cannot take at once is dropped, and the
 * next line that goes out says how many were. Syslog never waits.
 * -errno when stderr is a pipe that cannot be opened again (no /proc, or
 * another user's pipe): it then stays blocking.
 */
int log_never_block(void);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log at error level and exit(1): start-up failures and impossible states. */
void log_fatal(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * A budget for lines that other processes can cause at will (a local user
 * connecting and misbehaving in a loop), so that they cannot flood the
 * log, or stall the logger behind a slow reader: @burst lines at once,
 * then @per_s a second. log_budget_take() says whether a line may go;
 * the lines refused are counted in @dropped for the caller to report.
 */
struct log_budget {
	uint64_t last_ns;	/* time the tokens were last topped up */
	uint64_t dropped;
	unsigned int tokens;
	bool started;
};

bool log_budget_take(struct log_budget *lb, uint64_t now_ns,
		     unsigned int burst, unsigned int per_s);
/*
 * log_budget_take() now, and when lines were refused since the last one
 * that went, first a warning that says how many, naming them by @what
 * ("about clients"), so a reader knows lines are missing.
 */
bool log_budget_allow(struct log_budget *lb, unsigned int burst,
		      unsigned int per_s, const char *what);
/* log_msg() at @level within a budget; lines below the level cost none. */
#define log_budgeted(lb, burst, per_s, what, level, ...)		\
	do {								\
		if (log_enabled(level) &&				\
		    log_budget_allow(lb, burst, per_s, what))		\
			log_msg(level, __func__, __VA_ARGS__);		\
	} while (0)

#define log_err(...)	log_msg(LOG_LVL_ERR, __func__, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__)
#define fatal(...)	log_fatal(__func__, __VA_ARGS__)

#endif /* VB_COMMON_LOG_H */
