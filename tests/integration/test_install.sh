#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# What a VMM that links libvfiobroker gets: `cmake --install` into a fresh
# prefix, then a C89 and a C++98 program built with nothing but the flags
# pkg-config gives (-pedantic -Werror: the headers stand alone in old
# dialects too), linked against the installed libvfiobroker.so.1, run.
# The build's own compilers are used; a sanitizer build's library needs its
# runtime in the program as well.
. "$(dirname "$0")/lib.sh"
: "${VB_BINARY_DIR:?} ${VB_CC:?} ${VB_CXX:?}"
san=
case "${VB_SANITIZE:-OFF}" in
ON | on | 1 | TRUE | true) san=-fsanitize=address,undefined ;;
esac

if ! command -v pkg-config >/dev/null; then
	fail "needs pkg-config (apt-get install pkg-config)"
	finish
fi
cmake --install "$VB_BINARY_DIR" --prefix "$T/inst" >"$T/install.log" 2>&1
check "cmake --install into a fresh prefix" test $? = 0
pc=$(find "$T/inst" -name libvfiobroker.pc | head -n1)
check "libvfiobroker.pc installed" test -n "$pc"
export PKG_CONFIG_PATH=$(dirname "${pc:-/nonexistent/x}")
flags=$(pkg-config --cflags --libs libvfiobroker)
check "pkg-config names the new prefix, not the configured one ($flags)" \
	bash -c "[[ '$flags' == *'$T/inst/'* ]]"

cat >"$T/use.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vfio-broker/client.h>

int main(void)
{
	struct vb_client *c = NULL;
	int rc = vb_client_connect("/nonexistent/vb.sock", VB_DEVICE_ANY, &c);

	printf("%s %d\n", vb_client_version(), rc);
	return rc == -ENOENT && c == NULL ? 0 : 1;
}
C
cp "$T/use.c" "$T/use.cc"
# shellcheck disable=SC2086 # $san and the flags are words
$VB_CC $san -std=c89 -pedantic -Wall -Wextra -Werror -o "$T/use-c" "$T/use.c" \
	$flags >"$T/cc.log" 2>&1
check "a C89 program builds with pkg-config's flags: $(head -n3 "$T/cc.log")" \
	test -x "$T/use-c"
# shellcheck disable=SC2086
$VB_CXX $san -std=c++98 -pedantic -Wall -Wextra -Werror -o "$T/use-cc" "$T/use.cc" \
	$flags >"$T/cxx.log" 2>&1
check "a C++98 program builds with pkg-config's flags: $(head -n3 "$T/cxx.log")" \
	test -x "$T/use-cc"
libdir=$(pkg-config --variable=libdir libvfiobroker)
for p in use-c use-cc; do
	out=$(LD_LIBRARY_PATH=$libdir "$T/$p" 2>&1)
	rc=$?
	check "$p runs against the installed library: $out (status $rc)" \
		bash -c '[ "$1" -eq 0 ] && [[ $2 == *" -2" ]]' _ "$rc" "$out"
done
check "1.0's functions keep VFIOBROKER_1, 1.1's come in VFIOBROKER_1.1" \
	bash -c "objdump -T '$libdir'/libvfiobroker.so.1 >'$T/syms' &&
		grep -q 'VFIOBROKER_1 *vb_client_map\$' '$T/syms' &&
		grep -q 'VFIOBROKER_1.1 *vb_client_set_timeout\$' '$T/syms' &&
		grep -q 'VFIOBROKER_1.1 *vb_client_open_fd_flags\$' '$T/syms' &&
		! grep -q ' vb_[a-z_]*\$' <(grep -v ' vb_client_' '$T/syms')"
check "the installed library's soname is libvfiobroker.so.1" \
	bash -c "objdump -p '$libdir'/libvfiobroker.so.1 | grep -q 'SONAME *libvfiobroker.so.1'"
finish
