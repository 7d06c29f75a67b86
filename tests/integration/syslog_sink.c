/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vb-syslog-sink: a minimal syslogd for the integration tests. It binds a
 * SOCK_DGRAM socket at PATH (normally /dev/log inside a private mount
 * namespace) and writes every datagram it receives to stdout as one line,
 * until it is killed.
 *
 *   vb-syslog-sink PATH
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: vb-syslog-sink PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("vb-syslog-sink");
		return 2;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			perror("vb-syslog-sink: recv");
			return 1;
		}
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
}
