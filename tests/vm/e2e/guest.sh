#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs inside the guest (busybox sh), started by the initramfs /init that
# tests/vm/e2e/run.sh packs. Arguments: BIN_DIR SRC_DIR BACKEND...
# BIN_DIR is the build tree (same absolute path as on the host), so the
# broker finds vfio-devproc and both find their seccomp policies in
# SRC_DIR/seccomp exactly as in a host build tree.
#
# Every line the host parses starts with "E2E ". Results:
#   E2E RESULT <name> PASS|FAIL <why>
#   E2E NOTRUN <backend> <why>      (loud, never counted as a pass)
#
# Per backend, with two edu devices each fenced in a domain of its own:
#   <be>_spawn_dma     the broker spawns two devprocs running --workload edu:
#                      mapped DMA lands in guest RAM (checked through the
#                      memfd), after unmap a device write does not land and
#                      a device read does not fetch (checked by the workload)
#                      and the IOMMU reports the faults (DMAR interrupts)
#   <be>_device_fd     a devproc holds a VFIO device fd (with iommufd: the
#                      bound cdev) and no container, group or iommufd fd
#                      (/proc/PID/fd)
#   <be>_isolation     devproc A aims its device at the IOVA only B mapped:
#                      B's page stays untouched and unread
#   <be>_shared_control  the same aim with both devices in one *shared*
#                      domain: there A's device does reach B's page, and
#                      the workload must say so and fail (the isolation
#                      check can fail; fencing is what makes it pass)
#   <be>_kill_devproc  SIGKILL of a devproc mid-stream (coIOMMU-style pins,
#                      its working set mapped): the broker releases them,
#                      its domain has nothing mapped, guest pins are back
#                      where they were, and the other devproc (running
#                      meanwhile, doing DMA) finishes OK
#   <be>_kill_held     SIGKILL of a devproc holding a page: released
#   <be>_kill_broker   SIGKILL of the broker with a page mapped: every pin
#                      released
#   <be>_fd_holder     a client claims a device, hangs up and lives on
#                      with its VFIO device fd: a devproc asking for that
#                      device is refused while it lives (the broker logs
#                      why), and gets it once it has been killed
#   <be>_broker_sandbox  the running broker: CapEff and CapBnd CAP_IPC_LOCK
#                      only, NoNewPrivs 1, Seccomp 2, and its log says so
#   backend_choice     once per boot: backend = auto picks what this kernel
#                      offers first (v3, else iommufd) and logs why, and a
#                      backend this kernel lacks, named, stops start-up
set -u
BIN=$1 SRC=$2
shift 2
BROKER=$BIN/src/broker/vfio-broker
DEVPROC=$BIN/src/devproc/vfio-devproc
CTL=$BIN/src/brokerctl/vfio-brokerctl
LINGER=$BIN/tests/vm/e2e/vb-linger
T=/tmp/e2e
mkdir -p $T

result() {	# name PASS|FAIL why...
	n=$1 v=$2
	shift 2
	echo "E2E RESULT $n $v $*"
}

# Pages pinned right now (FOLL_PIN), from the kernel's own counters.
pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a - r }' /proc/vmstat
}

# DMAR fault interrupts so far (the fault messages themselves are
# rate-limited; the interrupt count is not).
dmar_faults() {
	awk '/dmar/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
	     END { print s + 0 }' /proc/interrupts
}

# brokerctl text: "... N page(s) mapped now"; per domain mapped/unmapped.
mapped_now() {
	$CTL -s $T/ctl stats 2>/dev/null |
		awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "page(s)") print $(i - 1) }'
}
clients_now() {
	$CTL -s $T/ctl stats 2>/dev/null |
		awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "client(s),") print $(i - 1) }'
}
# "M U R" for domain $1: pages mapped, unmapped, released on disconnect
domain_pages() {
	$CTL -s $T/ctl stats 2>/dev/null | awk -v d="$1" '
		$1 == "domain" { cur = ($2 == d ":" || $2 == d) }
		cur && $1 == "pages" && $2 == "mapped" {
			gsub(",", ""); print $3, $5, $9; exit }' | tr -d ')'
}

mapped_is() { [ "$(mapped_now)" = "$1" ]; }
clients_is() { [ "$(clients_now)" = "$1" ]; }
pins_are() { [ "$(pins)" -eq "$1" ]; }
domain_mapped_at_least() {	# domain pages
	n=$2
	set -- $(domain_pages "$1")
	[ "${1:-0}" -ge "$n" ]
}

# wait_for SECONDS COMMAND...: poll until COMMAND (maybe a function) holds
wait_for() {
	t=$(($1 * 10))
	shift
	while [ $t -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

devconf() {	# id group pci [spawn-line]
	cat <<EOF
[device $1]
group = $2
pci = $3
fenced = yes
iova = 0x100000 16M
EOF
	[ -z "${4:-}" ] || echo "spawn = $4"
	[ -n "${4:-}" ] || echo "uid = 0"
}

# Device A uses GPA [0, 16M), device B [16M, 32M): disjoint, as a guest
# driver would give them. B's kept page is the last of its range.
GA_BASE=0x0 GB_BASE=0x1000000 GSIZE=0x1000000
B_KEPT_GPA=0x1fff000 KEPT_IOVA=0x100000

spawn_dma() {
	be=$1
	{
		printf '[broker]\nbackend = %s\n[ram guest]\nsize = 64M\n' "$be"
		devconf 1 "$GA" "$DA" "vfio-devproc --workload edu --iterations 3 --seed 1 --gpa-base $GA_BASE --gpa-size $GSIZE"
		devconf 2 "$GB" "$DB" "vfio-devproc --workload edu --iterations 3 --seed 2 --gpa-base $GB_BASE --gpa-size $GSIZE"
	} >$T/spawn.conf
	f0=$(dmar_faults)
	timeout -s KILL 300 $BROKER -c $T/spawn.conf --exit-when-done \
		>$T/spawn.out 2>$T/spawn.log
	rc=$?
	faults=$(($(dmar_faults) - f0))
	sed 's/^/E2E LOG spawn: /' $T/spawn.out $T/spawn.log
	ok=$(grep -c 'workload edu: .* result OK' $T/spawn.out)
	nfd=$(grep -c 'device fd for' $T/spawn.log)
	# each devproc aims 2 DMAs per round at unmapped IOVAs: the IOMMU
	# must have faulted on them (not merely left memory alone); one
	# fault interrupt may report several faults, so count at least one
	# per devproc
	if [ $rc -eq 0 ] && [ "$ok" -eq 2 ] && [ "$nfd" -eq 2 ] &&
	   [ "$faults" -ge 2 ]; then
		result ${be}_spawn_dma PASS "2 devprocs: mapped DMA landed, unmapped DMA refused ($faults DMAR fault interrupts)"
	else
		result ${be}_spawn_dma FAIL "broker rc $rc, $ok/2 devprocs OK, $nfd/2 device fds opened, $faults DMAR fault interrupts (want >= 2)"
	fi
}

start_broker() {
	be=$1
	{
		printf '[broker]\nbackend = %s\nsocket = %s\ncontrol = %s\n' \
			"$be" $T/sock $T/ctl
		printf '[ram guest]\nsize = 64M\n'
		devconf 1 "$GA" "$DA"
		devconf 2 "$GB" "$DB"
	} >$T/listen.conf
	rm -f $T/sock $T/ctl
	$BROKER -c $T/listen.conf >$T/broker.out 2>$T/broker.log &
	BP=$!
	wait_for 30 test -S $T/ctl
}

# devproc NAME DEVICE ARGS...: background devproc, output in $T/NAME.*
devproc() {
	name=$1 dev=$2
	shift 2
	devproc_wl $name $dev edu "$@"
}

# devproc_wl NAME DEVICE WORKLOAD ARGS...: the same with another workload
devproc_wl() {
	name=$1 dev=$2 wl=$3
	shift 3
	# emptied here, not only by the redirection below: that one runs in
	# the forked child, and a has_result right after this call could
	# still read the last run's result line
	: >$T/$name.out
	: >$T/$name.log
	$DEVPROC --connect $T/sock --device $dev --workload $wl "$@" \
		>$T/$name.out 2>$T/$name.log &
	eval "P_$name=$!"
}

gone() { [ ! -d /proc/$1 ] || grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }

# reap PID WHAT: collect a process that was just killed. One that is still
# there after 30 s is stuck in the kernel (a SIGKILLed process leaves as
# soon as it returns to user space): say where each of its threads waits,
# and leave it, so one stuck process fails its test instead of hanging the
# whole guest until its timeout. Returns 1 then.
reap() {
	if wait_for 30 gone $1; then
		wait $1 2>/dev/null
		return 0
	fi
	echo "E2E LOG stuck: $2 (pid $1) still there 30 s after SIGKILL"
	for t in /proc/$1/task/*; do
		echo "E2E LOG stuck: task ${t##*/}: $(grep '^State:' $t/status 2>/dev/null | tr '\t' ' '), wchan $(cat $t/wchan 2>/dev/null)"
		sed 's/^/E2E LOG stuck:   /' $t/stack 2>/dev/null
	done
	return 1
}
has_result() { grep -q 'result ' $T/$1.out; }
result_ok() { grep -q 'result OK' $T/$1.out; }
dump() { sed "s/^/E2E LOG $1: /" $T/$1.out $T/$1.log; }

fd_check() {
	be=$1 pid=$2
	links=$(for f in /proc/$pid/fd/*; do readlink $f; done)
	echo "$links" | sed 's/^/E2E LOG fds of devproc B: /'
	# a device fd: from a group (anon inode) or, with iommufd, the cdev
	ndev=$(echo "$links" | grep -cE 'vfio-device|^/dev/vfio/devices/')
	# what it must not hold: container, group, iommufd
	nvfio=$(echo "$links" | grep -cE '^/dev/vfio/(vfio|[0-9]+)$|^/dev/iommu$')
	if [ "$ndev" -eq 1 ] && [ "$nvfio" -eq 0 ]; then
		result ${be}_device_fd PASS "one VFIO device fd, no container, group or iommufd fd"
	else
		result ${be}_device_fd FAIL "$ndev device fd(s), $nvfio container/group/iommufd fd(s)"
	fi
}

listen_tests() {
	be=$1
	base=$(pins)
	if ! start_broker $be; then
		result ${be}_isolation FAIL "broker did not start"
		sed 's/^/E2E LOG broker: /' $T/broker.log
		kill -9 $BP 2>/dev/null
		reap $BP broker	# it holds the groups until it is gone
		return
	fi

	# The running broker on this backend is sandboxed: no_new_privs, a
	# seccomp filter, and of all capabilities CAP_IPC_LOCK (bit 14) only.
	# Its sockets exist before it enters the sandbox; "ready:" comes after.
	wait_for 30 grep -q 'ready:' $T/broker.log
	st=$(grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$BP/status | tr '\t\n' '  ')
	echo "E2E LOG broker status: $st"
	if echo "$st" | grep -q 'CapEff: 0000000000004000 .*CapBnd: 0000000000004000 .*NoNewPrivs: 1 .*Seccomp: 2 ' &&
	   grep -q 'sandboxed: kept CAP_IPC_LOCK only' $T/broker.log; then
		result ${be}_broker_sandbox PASS "running broker: $st"
	else
		result ${be}_broker_sandbox FAIL "running broker: $st"
	fi

	# B maps its page and holds it; A aims at it.
	devproc B 2 --iterations 1 --seed 2 --keep-mapped --hold \
		--gpa-base $GB_BASE --gpa-size $GSIZE
	wait_for 60 has_result B
	dump B
	if ! result_ok B; then
		result ${be}_isolation FAIL "devproc B did not set up its page"
	else
		fd_check $be $P_B
		devproc A 1 --iterations 1 --seed 1 --gpa-base $GA_BASE \
			--gpa-size $GSIZE --foreign-iova $KEPT_IOVA \
			--foreign-gpa $B_KEPT_GPA
		wait $P_A
		rc=$?
		dump A
		if [ $rc -eq 0 ] && grep -q 'unreachable in both directions' $T/A.log; then
			result ${be}_isolation PASS "A's device cannot write or read the page only B mapped"
		else
			result ${be}_isolation FAIL "devproc A rc $rc"
		fi
	fi
	held=$(pins)
	echo "E2E LOG pins: base $base, with B holding 1 page $held, mapped now $(mapped_now)"

	# B dies holding its page: released, pins back.
	kill -9 $P_B
	reap $P_B "devproc B"
	if wait_for 10 mapped_is 0 && wait_for 10 pins_are "$base" &&
	   [ "$held" -gt "$base" ]; then
		result ${be}_kill_held PASS "held page unmapped and unpinned ($held -> $(pins) pins)"
	else
		result ${be}_kill_held FAIL "mapped now $(mapped_now), pins $(pins), base $base, held $held"
	fi

	# A streams coIOMMU-style pins on device 1 (a working set of 256
	# pages stays mapped while it maps and unmaps, so it always holds
	# some) and is killed mid-stream while C does DMA on device 2.
	set -- $(domain_pages 1)
	d1=${1:-0} r1=${3:-0}
	devproc_wl A 1 coiommu --iterations 100000000 --pages 2048 \
		--working-set 256 --seed 3 --gpa-base $GA_BASE --gpa-size $GSIZE
	devproc C 2 --iterations 12 --seed 4 --gpa-base $GB_BASE --gpa-size $GSIZE
	# A must be seen mapping and be alive when it is killed, and C must
	# still be working: otherwise nothing here is "mid-stream"
	alive=no
	if wait_for 60 domain_mapped_at_least 1 $((d1 + 64)) &&
	   kill -0 $P_A 2>/dev/null && kill -0 $P_C 2>/dev/null; then
		alive=yes
	fi
	kill -9 $P_A
	reap $P_A "devproc A"
	wait $P_C
	rc=$?
	dump C
	wait_for 10 clients_is 0
	wait_for 10 pins_are "$base"
	dp=$(domain_pages 1)
	now=$(mapped_now)
	p=$(pins)
	echo "E2E LOG domain 1 after kill: mapped/unmapped/released $dp; mapped now $now; pins $p (base $base)"
	set -- $dp
	# ${3} > r1: the broker released pages A held when it died
	if [ $alive = yes ] && [ $rc -eq 0 ] && [ "${1:-x}" = "${2:-y}" ] &&
	   [ "${1:-0}" -gt $d1 ] && [ "${3:-0}" -gt "$r1" ] &&
	   [ "$now" = 0 ] && [ "$p" -eq "$base" ]; then
		result ${be}_kill_devproc PASS "killed devproc left nothing mapped or pinned; the other finished OK"
	else
		result ${be}_kill_devproc FAIL "A holding pages and alive, C running, when A was killed: $alive; C rc $rc, domain 1 $dp (before: $d1 mapped, $r1 released), mapped now $now, pins $p (base $base)"
	fi

	# A client hangs up but keeps device 2's fd: while it lives nobody
	# else is lent the device; once it is gone, the next one is.
	: >$T/L.out
	$LINGER $T/sock 2 >$T/L.out 2>&1 &
	P_L=$!
	if wait_for 30 grep -q lingering $T/L.out; then
		devproc E 2 --iterations 1 --seed 6 --gpa-base $GB_BASE --gpa-size $GSIZE
		wait $P_E
		rc_e=$?
		refused=no
		grep -q "still runs and may hold its device fd" $T/broker.log && refused=yes
		kill -9 $P_L
		reap $P_L vb-linger
		devproc F 2 --iterations 1 --seed 7 --gpa-base $GB_BASE --gpa-size $GSIZE
		wait $P_F
		rc_f=$?
		if [ $rc_e -ne 0 ] && [ $refused = yes ] && [ $rc_f -eq 0 ] && result_ok F; then
			result ${be}_fd_holder PASS "refused while the last holder lived (E rc $rc_e), lent once it was gone"
		else
			dump E
			dump F
			result ${be}_fd_holder FAIL "E rc $rc_e, refusal logged: $refused; F rc $rc_f"
		fi
	else
		sed 's/^/E2E LOG linger: /' $T/L.out
		kill -9 $P_L 2>/dev/null
		reap $P_L vb-linger
		result ${be}_fd_holder FAIL "the lingering client did not claim device 2"
	fi

	# The broker dies with a page mapped: every pin released.
	devproc D 2 --iterations 1 --seed 5 --keep-mapped --hold \
		--gpa-base $GB_BASE --gpa-size $GSIZE
	wait_for 60 has_result D
	held=$(pins)
	kill -9 $BP
	broker_left=yes
	reap $BP broker || broker_left=no
	# D sees the hangup and leaves --hold. Until it does, its device fd
	# keeps the group and with it the container and its pins alive.
	left=yes
	wait_for 15 gone $P_D || left=no
	kill -9 $P_D 2>/dev/null
	reap $P_D "devproc D"
	wait_for 10 pins_are "$base"
	p=$(pins)
	if result_ok D && [ $broker_left = yes ] && [ $left = yes ] &&
	   [ "$held" -gt "$base" ] && [ "$p" -eq "$base" ]; then
		result ${be}_kill_broker PASS "pins $held -> $p after SIGKILL of the broker (its devproc left on the hangup)"
	else
		dump D
		result ${be}_kill_broker FAIL "pins held $held, after $p, base $base; broker gone: $broker_left; devproc left by itself: $left"
	fi
	sed 's/^/E2E LOG broker: /' $T/broker.log | tail -n 40
}

# --- devices ---------------------------------------------------------------
DA="" DB="" GA="" GB=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] || continue
	g=$(readlink $d/iommu_group)
	if [ -z "$DA" ]; then
		DA=${d##*/} GA=${g##*/}
	elif [ -z "$DB" ]; then
		DB=${d##*/} GB=${g##*/}
	fi
done
echo "E2E DEVICES A $DA group $GA, B $DB group $GB"
if [ -z "$DB" ] || [ "$GA" = "$GB" ]; then
	echo "E2E ERROR need two edu devices in two IOMMU groups"
	exit 1
fi

# Both devices in one domain (disjoint windows): A's device can reach what
# B mapped, so A's foreign check must fail.
shared_control() {
	be=$1
	{
		printf '[broker]\nbackend = %s\nsocket = %s\ncontrol = %s\n' \
			"$be" $T/sock $T/ctl
		printf '[ram guest]\nsize = 64M\n'
		printf '[device 1]\ngroup = %s\npci = %s\ndomain = shared\niova = 0x100000 16M\nuid = 0\n' "$GA" "$DA"
		printf '[device 2]\ngroup = %s\npci = %s\ndomain = shared\niova = 0x2000000 16M\nuid = 0\n' "$GB" "$DB"
	} >$T/shared.conf
	rm -f $T/sock $T/ctl
	$BROKER -c $T/shared.conf >$T/shared.out 2>$T/shared.log &
	SP=$!
	if ! wait_for 30 test -S $T/ctl; then
		result ${be}_shared_control FAIL "broker did not start"
		sed 's/^/E2E LOG shared broker: /' $T/shared.log
		kill -9 $SP 2>/dev/null
		reap $SP "shared broker"
		return
	fi
	devproc B 2 --iterations 1 --seed 2 --keep-mapped --hold \
		--gpa-base $GB_BASE --gpa-size $GSIZE
	wait_for 60 has_result B
	devproc A 1 --iterations 1 --seed 1 --gpa-base $GA_BASE \
		--gpa-size $GSIZE --foreign-iova 0x2000000 --foreign-gpa $B_KEPT_GPA
	wait $P_A
	rc=$?
	dump A
	if result_ok B && [ $rc -ne 0 ] &&
	   grep -q "changed the other device's GPA" $T/A.log; then
		result ${be}_shared_control PASS "in a shared domain A's device reaches B's page and the check fails, as it must"
	else
		dump B
		result ${be}_shared_control FAIL "B ok: $(result_ok B && echo yes || echo no), A rc $rc: the check did not see the reachable page"
	fi
	kill -9 $P_B 2>/dev/null
	reap $P_B "devproc B"
	kill $SP
	wait $SP 2>/dev/null
}

# What backend = auto takes on this kernel, and that a backend it lacks,
# when named, stops start-up instead of falling back.
backend_choice() {
	if grep -q '^vfio_iommu_type1v3 ' /proc/modules; then
		want=v3 absent=iommufd
	elif [ -e /dev/iommu ] && [ -d /sys/class/vfio-dev ]; then
		want=iommufd absent=v3
	else
		want=type1 absent=v3
	fi
	for b in auto $absent; do
		{
			printf '[broker]\nbackend = %s\ncontrol = %s\n' $b $T/ctl
			printf '[ram guest]\nsize = 64M\n'
			devconf 1 "$GA" "$DA"
		} >$T/$b.conf
	done
	rm -f $T/ctl
	$BROKER -c $T/auto.conf >$T/auto.out 2>$T/auto.log &
	ap=$!
	wait_for 30 test -S $T/ctl
	kill $ap
	wait $ap
	chose=$(grep -o 'backend auto: .*' $T/auto.log | head -n 1)
	timeout -s KILL 60 $BROKER -c $T/$absent.conf >$T/absent.out 2>$T/absent.log
	arc=$?
	echo "E2E LOG backend choice: $chose"
	sed 's/^/E2E LOG named absent backend: /' $T/absent.log | tail -n 3
	if echo "$chose" | grep -q "^backend auto: $want (" && [ $arc -ne 0 ] &&
	   grep -q "backend $absent is not available here" $T/absent.log &&
	   ! grep -q 'ready' $T/absent.log; then
		result backend_choice PASS "auto took $want; backend = $absent stopped start-up (status $arc)"
	else
		result backend_choice FAIL "auto: '$chose' (want $want); backend = $absent: status $arc"
	fi
}

backend_choice
for be in "$@"; do
	case $be in
	v3|v3-direct)
		if ! grep -q '^vfio_iommu_type1v3 ' /proc/modules; then
			echo "E2E NOTRUN $be vfio_iommu_type1v3 is not loaded"
			continue
		fi ;;
	iommufd)
		if [ ! -e /dev/iommu ]; then
			echo "E2E NOTRUN iommufd no /dev/iommu in this guest: Debian's $(uname -r) is built without CONFIG_IOMMUFD (and CONFIG_VFIO_DEVICE_CDEV), so the iommufd backend cannot run on its stock VFIO stack"
			continue
		fi ;;
	esac
	echo "E2E BACKEND $be"
	spawn_dma $be
	listen_tests $be
	shared_control $be
done
exit 0
