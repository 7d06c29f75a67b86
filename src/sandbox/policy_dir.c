/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the broker and the devproc read their policies. A binary that runs
 * from this build tree reads <source>/seccomp, so a build never picks up an
 * older installed policy; an installed binary reads the installed data
 * directory and never the source tree.
 */
#include "sandbox/sandbox.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

const char *sandbox_policy_dir(void)
{
	static char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t blen = strlen(VB_BUILD_DIR);

	if (n > 0) {
		exe[n] = '\0';
		if (!strncmp(exe, VB_BUILD_DIR, blen) && exe[blen] == '/')
			return VB_SOURCE_DIR "/seccomp";
	}
	return VB_POLICY_DIR_INSTALL;
}
