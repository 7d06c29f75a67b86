/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control connections are short-lived and read-only: a command can only
 * read counters, so the socket's file mode (0600, root) is the access
 * control. A connection that sends more than a line or stalls is closed.
 */
#define _GNU_SOURCE
#include "broker/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/domain.h"
#include "broker/listener.h"
#include "broker/stats.h"
#include "common/log.h"

#define CONTROL_LINE_MAX	128

char *control_answer(struct broker *b, const char *line)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	domain_peak_sample(b);
	if (!strcmp(line, "stats"))
		stats_print(b, false, f);
	else if (!strcmp(line, "stats json"))
		stats_print(b, true, f);
	else if (!strcmp(line, "clients"))
		stats_print_clients(b, false, f);
	else if (!strcmp(line, "clients json"))
		stats_print_clients(b, true, f);
	else
		fprintf(f, "error: unknown command '%.64s' (stats, stats json, clients, clients json)\n",
			line);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

static void control_conn_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void control_conn_write_cb(struct bufferevent *bev, void *arg)
{
	/* Called once the output buffer has drained: the answer is out. */
	if (!evbuffer_get_length(bufferevent_get_output(bev)))
		control_conn_done(bev, arg);
}

static void control_conn_gone_cb(struct bufferevent *bev, short what,
				 void *arg)
{
	(void)what;
	control_conn_done(bev, arg);
}

static void control_conn_run(struct bufferevent *bev, struct broker *b,
			     const char *line)
{
	char *answer = control_answer(b, line);

	bufferevent_disable(bev, EV_READ);
	if (!answer || bufferevent_write(bev, answer, strlen(answer)) < 0) {
		free(answer);
		log_warn("control: cannot build the answer to '%s'", line);
		control_conn_done(bev, b);
		return;
	}
	free(answer);
	/* a reader that went away or stopped reading (write error, the
	 * 5 s timeout) must free the connection too */
	bufferevent_setcb(bev, NULL, control_conn_write_cb,
			  control_conn_gone_cb, b);
	bufferevent_enable(bev, EV_WRITE);
}

static void control_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_ANY);

	if (!line) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
			control_conn_done(bev, arg);
		return;
	}
	control_conn_run(bev, arg, line);
	free(line);
}

static void control_conn_event_cb(struct bufferevent *bev, short what,
				  void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	/* A command without newline, then EOF, is still a command. */
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && n &&
	    n <= CONTROL_LINE_MAX) {
		char line[CONTROL_LINE_MAX + 1];

		evbuffer_remove(in, line, n);
		line[n] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		control_conn_run(bev, arg, line);
		return;
	}
	control_conn_done(bev, arg);
}

static void control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct broker *b = arg;
	struct timeval tv = { .tv_sec = 5 };
	struct bufferevent *bev;
	int fd;

	(void)what;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			listener_accept_failed(b->base, b->control->ev, "control");
			return;
		}
		bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!bev) {
			log_warn("control: out of memory");
			close(fd);
			continue;
		}
		bufferevent_setcb(bev, control_conn_read_cb, NULL,
				  control_conn_event_cb, b);
		bufferevent_set_timeouts(bev, &tv, &tv);
		bufferevent_enable(bev, EV_READ);
	}
}

int control_open(struct broker *b, const char *path)
{
	int rc = listener_socket_open(b, path, SOCK_STREAM, 0600,
				      control_accept_cb, &b->control);

	if (!rc)
		log_info("control socket %s", path);
	return rc;
}

void control_close(struct broker *b)
{
	listener_socket_close(&b->control);
}
