/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int vb_parse_u64(const char *s, char **end, uint64_t *out)
{
	const char *digits = s;
	unsigned long long v;
	int base = 10;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	/* strtoull would skip a sign or space, and take a second 0x */
	if (!isxdigit((unsigned char)*digits) ||
	    (base == 16 && digits[0] == '0' && (digits[1] | 0x20) == 'x'))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, end, base);
	if (errno)
		return -ERANGE;
	*out = v;
	return 0;
}
