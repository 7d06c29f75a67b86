// SPDX-License-Identifier: BSD-3-Clause
/*
 * vb-linger SOCKET DEVICE: a client that claims DEVICE through the
 * broker's listening SOCKET, keeps a copy of the VFIO device fd it is lent,
 * hangs up and lives on, as a devproc could that drops its connection but
 * not the device. It prints "lingering" once the connection is closed and
 * then waits to be killed. The e2e test checks the broker lends the device
 * to nobody else meanwhile (broker holder.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-broker/client.h"

int main(int argc, char **argv)
{
	struct vb_client *c;
	int ret, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: vb-linger SOCKET DEVICE\n");
		return 2;
	}
	ret = vb_client_connect(argv[1], (uint32_t)strtoul(argv[2], NULL, 0), &c);
	if (ret) {
		printf("claim refused: %s\n", strerror(-ret));
		return 1;
	}
	fd = dup(vb_client_get_info(c)->device_fd);
	vb_client_close(c);
	if (fd < 0) {
		printf("no device fd: %s\n", strerror(errno));
		return 1;
	}
	printf("lingering with the device fd as %d\n", fd);
	fflush(stdout);
	for (;;)
		pause();
}
