/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_COMMON_PARSE_H
#define VB_COMMON_PARSE_H

#include <stdint.h>

/*
 * The one way numbers are read from configuration files and command lines:
 * decimal, or hexadecimal after 0x. A leading 0 is not octal ("010" is
 * ten, as a reader expects); no sign, no space, one 0x at most. *@end
 * points past the digits (a caller may take a suffix there). 0, -EINVAL
 * when no digits start @s, -ERANGE beyond 64 bits.
 */
int vb_parse_u64(const char *s, char **end, uint64_t *out);

#endif /* VB_COMMON_PARSE_H */
