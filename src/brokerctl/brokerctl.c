/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-brokerctl: asks a running broker for its counters over the control
 * socket. The protocol is one command line out, the answer until EOF in.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* A broker whose event loop is stuck must not hang a monitoring script. */
#define BROKERCTL_TIMEOUT_S	10
#define BROKERCTL_STR(x)	#x
#define BROKERCTL_XSTR(x)	BROKERCTL_STR(x)
#define BROKERCTL_TIMEOUT	BROKERCTL_XSTR(BROKERCTL_TIMEOUT_S)

static void brokerctl_usage(FILE *f)
{
	fputs("usage: vfio-brokerctl -s CONTROLPATH [--json] stats|clients\n"
	      "\n"
	      "  -s, --socket PATH  the broker's control socket ([broker] control)\n"
	      "  -j, --json         answer as JSON\n"
	      "  -h, --help         this text\n"
	      "\n"
	      "  Exits 1 if the broker cannot be reached, answers an error or\n"
	      "  sends nothing for " BROKERCTL_TIMEOUT " s; 2 for bad usage.\n"
	      "\n"
	      "  stats    counters in total and per domain (requests, pages,\n"
	      "           batches, errors; batch size and latency as mean, p50,\n"
	      "           p99 and max, with --json also their histograms)\n"
	      "  clients  connected clients and their own counters\n", f);
}

static int brokerctl_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NULL, *cmd;
	char line[64], buf[65536], head[6];
	struct timeval tv = { .tv_sec = BROKERCTL_TIMEOUT_S };
	bool json = false;
	int c, fd, ret;
	size_t total = 0;

	while ((c = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'h': brokerctl_usage(stdout); return 0;
		default: brokerctl_usage(stderr); return 2;
		}
	}
	if (!path || optind != argc - 1) {
		brokerctl_usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "stats") && strcmp(cmd, "clients")) {
		fprintf(stderr, "vfio-brokerctl: unknown command '%s'\n", cmd);
		brokerctl_usage(stderr);
		return 2;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vfio-brokerctl: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* the send timeout also bounds a connect to a full backlog */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vfio-brokerctl: connect %s: %s\n", path,
			errno == EAGAIN ?
			"no room in its backlog for " BROKERCTL_TIMEOUT " s" :
			strerror(errno));
		return 1;
	}
	snprintf(line, sizeof(line), "%s%s\n", cmd, json ? " json" : "");
	ret = brokerctl_write_all(fd, line, strlen(line));
	if (ret) {
		fprintf(stderr, "vfio-brokerctl: send: %s\n", strerror(-ret));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "vfio-brokerctl: no answer from %s for "
				BROKERCTL_TIMEOUT " s\n", path);
			return 1;
		}
		if (n < 0) {
			fprintf(stderr, "vfio-brokerctl: read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			perror("vfio-brokerctl: write");
			return 1;
		}
		/* a stream may split "error:" across reads */
		if (total < sizeof(head))
			memcpy(head + total, buf,
			       (size_t)n < sizeof(head) - total ?
			       (size_t)n : sizeof(head) - total);
		total += (size_t)n;
	}
	close(fd);
	if (!total) {
		fprintf(stderr, "vfio-brokerctl: empty answer from %s\n", path);
		return 1;
	}
	if (total >= sizeof(head) && !memcmp(head, "error:", sizeof(head)))
		return 1;
	return fflush(stdout) ? 1 : 0;
}
