/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-broker: start-up, signals and shutdown. Start-up failures are fatal
 * (the configuration or the machine is wrong); once the loop runs, nothing
 * a client does can end the broker, only SIGINT/SIGTERM or, with
 * --exit-when-done, the last spawned devproc finishing.
 *
 * Start-up opens everything first (configuration, backend, guest RAM,
 * domains and device fds, sockets, devprocs, the --summary-json file) and
 * then enters the broker's sandbox (broker_sandbox.c), before serving a
 * single request. Signals come through a signalfd, so no handler runs and
 * nothing has to be restored under the filter at exit.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "broker/backend_select.h"
#include "broker/batcher.h"
#include "broker/broker.h"
#include "broker/broker_sandbox.h"
#include "broker/control.h"
#include "broker/domain.h"
#include "broker/listener.h"
#include "broker/loop.h"
#include "broker/peer.h"
#include "broker/spawn.h"
#include "broker/stats.h"
#include "common/clock.h"
#include "common/log.h"

struct main_opts {
	const char *config;
	const char *socket;
	const char *control;
	const char *backend;
	const char *summary_json;
	unsigned int progress;
	bool exit_when_done;
	bool syslog;
	bool verbose;
	bool no_sandbox;
	bool selftest_ioctl;
};

static void main_usage(FILE *f)
{
	fputs("usage: vfio-broker -c CONFIG [options]\n"
	      "\n"
	      "Privileged broker that owns guest RAM and the IOMMU backend and maps\n"
	      "guest pages for sandboxed device processes (see docs/broker.md).\n"
	      "\n"
	      "  -c, --config FILE       configuration file (docs/config.md)\n"
	      "  -s, --socket PATH       listening socket (overrides [broker] socket)\n"
	      "      --control PATH      control socket (overrides [broker] control)\n"
	      "  -b, --backend NAME      auto|sim|v3|v3-direct|type1|iommufd (overrides config)\n"
	      "      --exit-when-done    exit once every spawned devproc has exited;\n"
	      "                          exit status 1 if any of them failed (with no\n"
	      "                          spawned devproc: at once, once ready)\n"
	      "      --progress SECS     log a progress line every SECS\n"
	      "      --summary-json FILE also write the exit summary as JSON\n"
	      "      --syslog            log to syslog instead of stderr\n"
	      "      --no-sandbox        DEBUGGING ONLY: keep capabilities, no seccomp\n"
	      "      --selftest-forbidden-ioctl\n"
	      "                          test hook: issue a forbidden ioctl after sandbox\n"
	      "                          entry (a working filter ends the broker: SIGSYS)\n"
	      "  -v, --verbose           debug logging\n"
	      "  -h, --help              this text\n", f);
}

static void main_parse(int argc, char **argv, struct main_opts *o)
{
	enum { OPT_CONTROL = 256, OPT_EXIT, OPT_PROGRESS, OPT_JSON, OPT_SYSLOG,
	       OPT_NO_SANDBOX, OPT_SELFTEST_IOCTL };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "backend", required_argument, NULL, 'b' },
		{ "exit-when-done", no_argument, NULL, OPT_EXIT },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "summary-json", required_argument, NULL, OPT_JSON },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "selftest-forbidden-ioctl", no_argument, NULL,
		  OPT_SELFTEST_IOCTL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:s:b:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 's': o->socket = optarg; break;
		case OPT_CONTROL: o->control = optarg; break;
		case 'b': o->backend = optarg; break;
		case OPT_EXIT: o->exit_when_done = true; break;
		case OPT_PROGRESS:
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(stderr, "vfio-broker: --progress needs 1..86400 seconds\n");
				exit(2);
			}
			o->progress = (unsigned int)v;
			break;
		case OPT_JSON: o->summary_json = optarg; break;
		case OPT_SYSLOG: o->syslog = true; break;
		case OPT_NO_SANDBOX: o->no_sandbox = true; break;
		case OPT_SELFTEST_IOCTL: o->selftest_ioctl = true; break;
		case 'v': o->verbose = true; break;
		case 'h': main_usage(stdout); exit(0);
		default: main_usage(stderr); exit(2);
		}
	}
	if (optind != argc || !o->config) {
		main_usage(stderr);
		exit(2);
	}
	/* as the config file refuses them (an empty path is no path) */
	if ((o->socket && !*o->socket) || (o->control && !*o->control) ||
	    !*o->config || (o->summary_json && !*o->summary_json)) {
		fprintf(stderr, "vfio-broker: empty path given\n");
		exit(2);
	}
}

static void main_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct signalfd_siginfo si;

	(void)what;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			spawn_reap(b);
			broker_check_done(b);
			continue;
		}
		if (b->stopping)
			continue;
		log_info("%s: shutting down", strsignal((int)si.ssi_signo));
		b->stopping = true;
		event_base_loopexit(b->base, NULL);
	}
}

/*
 * SIGINT, SIGTERM and SIGCHLD are blocked and read from a signalfd.
 * Spawned devprocs get an empty mask back before exec (spawn.c).
 */
static int main_signalfd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatal("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd: %s", strerror(errno));
	return fd;
}

static void main_progress_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stats_progress(arg);
}

static struct event *main_event(struct broker *b, evutil_socket_t fd,
				short what, event_callback_fn cb, void *arg)
{
	struct event *ev = event_new(b->base, fd, what, cb, arg);

	if (!ev)
		fatal("cannot create an event");
	return ev;
}

static void main_config_override(struct config *cfg, const struct main_opts *o)
{
	if (o->socket) {
		free(cfg->socket_path);
		cfg->socket_path = strdup(o->socket);
	}
	if (o->control) {
		free(cfg->control_path);
		cfg->control_path = strdup(o->control);
	}
	if ((o->socket && !cfg->socket_path) || (o->control && !cfg->control_path))
		fatal("out of memory");
	if (o->backend)
		snprintf(cfg->backend, sizeof(cfg->backend), "%s", o->backend);
}

/*
 * A start-up that fails after spawning devprocs (a later spawn, the
 * reaper, building the broker's filter) takes them with it: every such
 * failure is fatal(), i.e. exit(). A failure inside the sandbox entry
 * itself is _exit(125) (sandbox.c: a half-sandboxed process runs no more
 * of its own code), which skips this; its devprocs then see their socket
 * close and end on their own. Cleared once the broker is ready; its
 * shutdown stops them.
 */
static struct broker *main_spawning;

static void main_stop_spawned(void)
{
	if (main_spawning)
		spawn_stop_all(main_spawning, 500);
}

/* libevent's own warnings go through the log, which never waits either. */
static void main_libevent_log(int severity, const char *msg)
{
	enum log_level l = severity >= EVENT_LOG_ERR ? LOG_LVL_ERR :
			   severity >= EVENT_LOG_WARN ? LOG_LVL_WARN :
			   severity >= EVENT_LOG_MSG ? LOG_LVL_INFO :
			   LOG_LVL_DEBUG;

	log_msg(l, "libevent", "%s", msg);
}

/* True when every device is a sim device (no IOMMU group to open). */
static bool main_sim_devices(const struct config *cfg)
{
	for (unsigned int i = 0; i < cfg->n_dev; i++)
		if (cfg->dev[i].group != CONFIG_GROUP_SIM)
			return false;
	return true;
}

/* fds the broker holds for itself (log, event loop, listeners, ...) */
#define MAIN_OWN_FDS	256

/*
 * The soft RLIMIT_NOFILE up to the hard one, as servers that never use
 * select() should: the room it gives is what lets the broker keep taking
 * clients while fds they sent wait to be closed (reaper.h).
 */
static void main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise RLIMIT_NOFILE to %llu: %s",
			 (unsigned long long)rl.rlim_max, strerror(errno));
}

int main(int argc, char **argv)
{
	struct main_opts o = { 0 };
	struct broker b = { 0 };
	struct event *sig_ev, *progress = NULL;
	FILE *summary_json = NULL;
	int ret, sig_fd;

	main_parse(argc, argv, &o);
	log_init("vfio-broker", o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	ret = o.syslog ? log_to_syslog(LOG_SYSLOG_PATH) : 0;
	if (ret)
		fatal("--syslog: cannot connect to %s: %s", LOG_SYSLOG_PATH,
		      strerror(-ret));
	/* a stalled log reader must not stall every client with it */
	ret = log_never_block();
	if (ret)
		log_warn("stderr is a pipe that cannot be opened again without blocking (%s): a reader that stops can stall the broker; use --syslog or a file",
			 strerror(-ret));
	event_set_log_callback(main_libevent_log);
	/* Replies to a vanished client must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	if (config_load(o.config, &b.cfg))
		fatal("cannot use configuration %s", o.config);
	main_config_override(b.cfg, &o);
	/* Opened now: the sandboxed broker cannot open files at exit. */
	if (o.summary_json) {
		summary_json = fopen(o.summary_json, "we");
		if (!summary_json)
			fatal("cannot write %s: %s", o.summary_json,
			      strerror(errno));
	}
	b.exit_when_done = o.exit_when_done;
	TAILQ_INIT(&b.peers);
	b.start_ns = vb_now_ns();

	ret = backend_select(b.cfg->backend, main_sim_devices(b.cfg), &b.be);
	if (ret)
		fatal("no usable backend '%s'", b.cfg->backend);
	b.base = event_base_new();
	if (!b.base)
		fatal("cannot create the event loop");
	ret = memory_init(&b.mem, b.cfg);
	if (ret)
		fatal("cannot set up guest RAM: %s", strerror(-ret));
	ret = domain_setup(&b);
	if (ret)
		fatal("cannot set up domains: %s", strerror(-ret));
	b.rxbuf = malloc(VB_MSG_MAX_LEN);
	if (!b.rxbuf || batcher_init(&b))
		fatal("out of memory");

	sig_fd = main_signalfd();
	sig_ev = main_event(&b, sig_fd, EV_READ | EV_PERSIST, main_signal_cb, &b);
	if (event_add(sig_ev, NULL))
		fatal("cannot watch signals");
	if (b.cfg->socket_path && listener_open(&b, b.cfg->socket_path))
		fatal("cannot listen on %s", b.cfg->socket_path);
	if (b.cfg->control_path && control_open(&b, b.cfg->control_path))
		fatal("cannot open control socket %s", b.cfg->control_path);
	main_spawning = &b;
	if (atexit(main_stop_spawned))
		fatal("cannot register the start-up cleanup");
	for (unsigned int i = 0; i < b.n_devices; i++)
		if (b.devices[i].cfg->spawn && spawn_device(&b, &b.devices[i]))
			fatal("device %u: cannot spawn its devproc", b.devices[i].id);
	if (o.progress) {
		struct timeval tv = { .tv_sec = o.progress };

		progress = main_event(&b, -1, EV_PERSIST, main_progress_cb, &b);
		if (event_add(progress, &tv))
			fatal("cannot arm the progress timer");
	}
	if (b.exit_when_done && !b.n_children)
		log_warn("--exit-when-done without any 'spawn =' device: exiting at once");
	main_raise_nofile();
	/*
	 * Before the sandbox, whose filter then covers this thread too. The
	 * reserve: a datagram of fds from each client that is not held back
	 * (one per device) and from one that is being, and the broker's own.
	 */
	ret = reaper_start(&b.reaper, PEER_SCM_MAX_FD * (b.n_devices + 2) +
				      4 * b.n_devices + MAIN_OWN_FDS);
	if (ret)
		fatal("cannot start the reaper thread: %s", strerror(-ret));
	/* Everything is open and every devproc spawned: from here on the
	 * broker only serves. */
	if (o.no_sandbox)
		log_warn("--no-sandbox: NOT SANDBOXED (all capabilities kept, no seccomp filter); for debugging only");
	else
		broker_sandbox_enter(&b);
	if (o.selftest_ioctl) {
		/* Test hook: a start-up-only VFIO request after entry must end
		 * the broker with SIGSYS before the kernel sees it. */
		ioctl(-1, VFIO_SET_IOMMU, 0);
		log_err("VFIO_SET_IOMMU after sandbox entry returned: the seccomp filter is not working");
		return 3;
	}
	broker_check_done(&b);
	main_spawning = NULL;

	log_info("ready: backend %s, %u domain(s), %u device(s), %u devproc(s) spawned",
		 b.be->ops->name, b.n_domains, b.n_devices, b.n_children);
	if (!b.stopping && loop_run(&b) < 0)
		log_err("event loop failed");

	/* Answer what is queued, then release every client's mappings. */
	batcher_flush(&b);
	peer_close_all(&b);
	spawn_stop_all(&b, 2000);
	domain_peak_sample(&b);
	stats_summary(&b, stdout);
	fflush(stdout);
	ret = b.child_failed ? 1 : 0;
	if (summary_json && stats_summary_json(&b, summary_json, o.summary_json))
		ret = 1;

	if (progress)
		event_free(progress);
	event_free(sig_ev);
	close(sig_fd);
	control_close(&b);
	listener_close(&b);
	broker_fds_gate_free(&b);
	batcher_fini(&b);
	domain_teardown(&b);
	b.be->ops->destroy(b.be);
	memory_fini(&b.mem);
	event_base_free(b.base);
	free(b.rxbuf);
	config_free(b.cfg);
	return ret;
}
