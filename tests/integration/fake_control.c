/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vb-fake-control: a control socket that answers the way a broker would
 * not, for test_brokerctl.sh. It listens on PATH, takes one connection,
 * reads the command line and then, by MODE:
 *   split  "err", a pause, "or: no such command\n" (one answer, two reads)
 *   ok     "backend sim\n"
 *   silent nothing, holding the connection open until it is killed
 * and exits.
 *
 *   vb-fake-control PATH MODE
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void say(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		perror("vb-fake-control: send");
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	char line[256];
	int lfd, fd;

	if (argc != 3 || strlen(argv[1]) + 4 >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: vb-fake-control PATH split|ok|silent\n");
		return 2;
	}
	/* PATH appears only once connects to it can succeed */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) || rename(sa.sun_path, argv[1])) {
		perror("vb-fake-control");
		return 2;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || recv(fd, line, sizeof(line), 0) <= 0) {
		perror("vb-fake-control: accept");
		return 1;
	}
	if (!strcmp(argv[2], "split")) {
		say(fd, "err");
		nanosleep(&pause, NULL);
		say(fd, "or: no such command\n");
	} else if (!strcmp(argv[2], "ok")) {
		say(fd, "backend sim\n");
	} else {
		for (;;)
			sleep(60);
	}
	close(fd);
	return 0;
}
