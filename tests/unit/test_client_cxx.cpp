// SPDX-License-Identifier: BSD-3-Clause
// The client header compiles as C++ and its functions link with C linkage:
// a handshake with a peer that already hung up fails with -EPIPE.
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include "vfio-broker/client.h"

int main()
{
	struct vb_client *c = nullptr;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 1;
	close(sv[1]);
	int rc = vb_client_open_fd(sv[0], VB_DEVICE_ANY, &c);
	if (rc != -EPIPE || c != nullptr)
		return 1;
	return std::strcmp(vb_client_version(), "1.1.0") == 0 ? 0 : 1;
}
