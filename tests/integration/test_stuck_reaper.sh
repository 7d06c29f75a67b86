#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The reaper thread (src/broker/reaper.h) stuck in a close that blocks, and
# a flood of fds behind it: the broker must stop taking fds from clients
# before its fd table is full (or the kernel closes the next ones in its
# event loop), keep serving a client that said HELLO, and take new
# connections again once the reaper catches up. The broker runs with 4096
# fds, so it stops at 1024 waiting to be closed (a quarter of the limit).
. "$(dirname "$0")/lib.sh"

# The attacker is a user of its own: fds in flight in sockets count
# against their sender's user (up to its RLIMIT_NOFILE, raised here to
# the hard limit), and as root the flood would make other root
# processes' SCM_RIGHTS fail meanwhile (ETOOMANYREFS), such as the
# WELCOMEs of tests running beside this one.
ATTACKER=4321
one_device_conf "socket = $T/broker.sock
control = $T/control.sock" "uid = $ATTACKER" >"$T/broker.conf"
printf '#!/bin/sh\nexec prlimit --nofile=4096:4096 "%s" "$@"\n' "$VB_BROKER" \
	>"$T/broker-4096"
chmod +x "$T/broker-4096"
VB_BROKER="$T/broker-4096" start_broker "$T/broker.conf"
ulimit -S -n "$(ulimit -H -n)"

check "a client with HELLO is served while the reaper is stuck and flooded, and new clients are once it catches up" \
	setpriv --reuid=$ATTACKER --regid=$ATTACKER --clear-groups \
	"$VB_HOSTILE" --connect "$T/broker.sock" --device 1 --expect ok \
	stuck-reaper-flood >"$T/hostile.out" 2>&1
cat "$T/hostile.out"
check "the broker stopped taking fds while they could not be closed" \
	grep -q 'waiting to be closed (a close blocks): no new connections' "$T/broker.log"
check "and took them again once the reaper caught up" \
	grep -q 'the reaper caught up' "$T/broker.log"
check "no fd was closed in the event loop's thread, by the broker or the kernel" \
	bash -c "! grep -qE 'closing it here|too many fds' '$T/broker.log'"
check "broker survived" kill -0 "$BROKER_PID"
finish
