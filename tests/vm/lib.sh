# SPDX-License-Identifier: BSD-3-Clause
# Shared by the VM tier scripts (sourced, not run): where things live,
# which kernel they use, the pieces every guest initramfs is made of
# (vm_root, vm_root_modules, vm_root_vfio, vm_pack) and how a guest boots
# (vm_boot). The kernel is the installed linux-source-6.12's version, so
# image, headers, module build and guest always agree; or a debug build of
# the same source (VB_VM_KERNEL, tests/vm/debug/).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_SRC=$(cd "$VM_DIR/../.." && pwd)
VM_WORK=${VB_VM_WORKDIR:-$VM_SRC/build-vm}
# kbuild runs in another directory (M=): a relative work dir would not resolve
case "$VM_WORK" in /*) ;; *) VM_WORK=$PWD/$VM_WORK ;; esac

# setup.sh unpacks the guest's Debian image (kernel, config, modules) and
# the amd64 headers modules are built against under here instead of
# installing them: the image would add a boot entry and build an initramfs
# on the host for a kernel the host never runs, and the headers package
# depends on an image.
VM_IMAGE_CACHE=${VB_VM_IMAGE_CACHE:-/var/cache/vfio-broker}
case "$VM_IMAGE_CACHE" in /*) ;; *) VM_IMAGE_CACHE=$PWD/$VM_IMAGE_CACHE ;; esac

# vm_image_root RELEASE: where the image of RELEASE is unpacked. Its
# .version names the package version: Debian has shipped two builds under
# one release name.
vm_image_root() {
	echo "$VM_IMAGE_CACHE/linux-image-$1"
}

# A guest that did not finish: its log's last lines (a panic's trace) are
# the only explanation a CI run shows, since the log file is not kept.
vm_log_tail() {
	echo "$2: guest did not finish; the last 80 lines of $1:"
	tail -n 80 "$1" | sed 's/^/  | /'
}

vm_die() {
	echo "vm: $*" >&2
	exit 2
}

# The installed version of package $1, or nothing. dpkg-query fails for a
# package dpkg has never heard of (a fresh machine): that is "not
# installed", not an error.
vm_installed_version() {
	{ dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true; } |
		awk '$3 == "installed" { print $4 }'
}

# Prints the Debian kernel release (e.g. 6.12.N+deb12-amd64) whose source
# is installed and whose image and headers are unpacked, or dies naming
# setup.sh. The guest programs take their uAPI headers from it, whichever
# kernel the guest boots.
vm_debian_release() {
	local ver up rel img
	ver=$(vm_installed_version linux-source-6.12)
	[ -n "$ver" ] || vm_die "linux-source-6.12 is not installed: run tests/vm/setup.sh"
	up=${ver%%-*}
	rel="$up+deb12-amd64"
	img=$(vm_image_root "$rel")
	[ -r "$img/boot/vmlinuz-$rel" ] || vm_die "$img/boot/vmlinuz-$rel missing: run tests/vm/setup.sh"
	[ -r "$img/lib/modules/$rel/modules.dep" ] || vm_die "modules for $rel missing in $img: run tests/vm/setup.sh"
	[ "$(cat "$img/.version" 2>/dev/null)" = "$ver" ] || vm_die "$img is not version $ver: run tests/vm/setup.sh"
	[ -r "$img/usr/src/linux-headers-$rel/Makefile" ] || vm_die "linux-headers-$rel missing in $img: run tests/vm/setup.sh"
	[ -d "/usr/src/linux-headers-${up}+deb12-common" ] || vm_die "linux-headers-${up}+deb12-common missing: run tests/vm/setup.sh"
	echo "$rel"
}

# The kernel the guest boots: Debian's (above), or with VB_VM_KERNEL=DIR
# one built by tests/vm/debug/build-kernel.sh into DIR: DIR/bzImage, its
# release in DIR/release, its modules under DIR/mods/lib/modules and its
# built tree (for modules built against it) in DIR/build.
vm_kernel_release() {
	if [ -n "${VB_VM_KERNEL:-}" ]; then
		[ -r "$VB_VM_KERNEL/release" ] && [ -r "$VB_VM_KERNEL/bzImage" ] ||
			vm_die "VB_VM_KERNEL=$VB_VM_KERNEL is not a built kernel: run tests/vm/debug/build-kernel.sh"
		cat "$VB_VM_KERNEL/release"
	else
		vm_debian_release
	fi
}

# vm_use_debug_kernel: builds the debug kernel into $VM_WORK/debug-kernel
# (or reuses it) and makes it the guest's kernel from here on.
vm_use_debug_kernel() {
	"$VM_DIR/debug/build-kernel.sh" "$VM_WORK/debug-kernel"
	export VB_VM_KERNEL=$VM_WORK/debug-kernel
}

vm_kernel_image() {
	if [ -n "${VB_VM_KERNEL:-}" ]; then
		echo "$VB_VM_KERNEL/bzImage"
	else
		local rel
		rel=$(vm_debian_release) || exit
		echo "$(vm_image_root "$rel")/boot/vmlinuz-$rel"
	fi
}

# Where modules for the guest's kernel are built against (KDIR).
vm_kernel_build_dir() {
	if [ -n "${VB_VM_KERNEL:-}" ]; then
		echo "$VB_VM_KERNEL/build"
	else
		local rel
		rel=$(vm_debian_release) || exit
		echo "$(vm_image_root "$rel")/usr/src/linux-headers-$rel"
	fi
}

# The root its modules are installed under: the unpacked image for Debian's.
vm__modules_base() {
	if [ -n "${VB_VM_KERNEL:-}" ]; then
		echo "$VB_VM_KERNEL/mods"
	else
		local rel
		rel=$(vm_debian_release) || exit
		vm_image_root "$rel"
	fi
}

vm_require_tools() {
	local t
	for t in qemu-system-x86_64 cpio xz gzip depmod gcc; do
		command -v "$t" >/dev/null || vm_die "$t not found: run tests/vm/setup.sh"
	done
	[ -x /bin/busybox ] && /bin/busybox --list | grep -x modprobe >/dev/null ||
		vm_die "static busybox not found: run tests/vm/setup.sh"
}

# vm_root DIR: a fresh initramfs tree in DIR (wiped first): busybox with
# every applet linked into /bin, /sbin -> bin, the mount points,
# lib/modules/<release>/extra for out-of-tree modules, and
# /bin/kernel-check (guest/kernel-check.sh), the one verdict on the kernel
# every guest's /init gives.
vm_root() {
	local root=$1 rel a
	rel=$(vm_kernel_release)
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc} "$root/lib/modules/$rel/extra"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		# the list names busybox itself: linking it would replace the binary
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	ln -s bin "$root/sbin"
	install -m 755 "$VM_DIR/guest/kernel-check.sh" "$root/bin/kernel-check"
}

# vm__add_module NAME: one module and, first time only, its dependencies;
# works on vm_root_modules' root, rel, base and seen.
vm__add_module() {
	local f dep
	[ -z "${seen[$1]:-}" ] || return 0
	seen[$1]=1
	f=$(modinfo -b "$base" -k "$rel" -F filename "$1")
	f=/${f#"${base%/}"/}
	mkdir -p "$root$(dirname "$f")"
	case $f in
	*.xz) xz -dc "${base%/}$f" >"$root${f%.xz}" ;;	# Debian ships .ko.xz
	*) cp "${base%/}$f" "$root$f" ;;
	esac
	for dep in $(modinfo -b "$base" -k "$rel" -F depends "$1" | tr , ' '); do
		vm__add_module "$dep"
	done
}

# vm_root_modules DIR MODULE...: the guest kernel's MODULEs and what they
# depend on, decompressed, plus the indexes depmod wants. Run
# "depmod -b DIR <release>" once every module (extra/ too) is in place.
vm_root_modules() {
	local root=$1 rel m base
	local -A seen=()
	shift
	rel=$(vm_kernel_release)
	base=$(vm__modules_base)
	for m in "$@"; do
		vm__add_module "$m"
	done
	cp "${base%/}/lib/modules/$rel"/modules.builtin* "$root/lib/modules/$rel/"
	: >"$root/lib/modules/$rel/modules.order"
}

# vm_root_vfio DIR [STACK]: the guest's VFIO modules: Debian's (vfio,
# vfio_iommu_type1, vfio-pci and what they need), or with STACK, a
# directory of VFIO modules rebuilt with iommufd
# (tests/conformance/iommufd-stack.sh), which replace them entirely.
vm_root_vfio() {
	local viommu=
	# virtio-iommu for VB_VM_IOMMU=virtio (run.sh), where the kernel has it
	# (the debug kernel does not)
	modinfo -b "$(vm__modules_base)" -k "$(vm_kernel_release)" virtio_iommu \
		>/dev/null 2>&1 && viommu=virtio_iommu
	if [ -n "${2:-}" ]; then
		vm_root_modules "$1" irqbypass $viommu
		cp "$2"/*.ko "$1/lib/modules/$(vm_kernel_release)/extra/"
	else
		vm_root_modules "$1" vfio vfio_iommu_type1 vfio-pci vfio-pci-core irqbypass $viommu
	fi
}

# vm_pack DIR OUT: DIR as a gzip'd newc cpio archive at OUT.
vm_pack() {
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2.new"
	mv "$2.new" "$2"
}

# vm_boot LOG TIMEOUT MARKER QEMU-ARGS...: runs qemu-system-x86_64 with its
# serial console in LOG, and boots again (at most three boots in all) when
# the guest died before its /init printed MARKER: under TCG the 6.12 kernel
# now and then oopses in early boot (int3 while patching kernel text, before
# any module of ours is loaded), which is not what any test tests. It also
# boots again when the guest wedged: its console silent for VB_VM_STALL
# seconds (default: the per-test timeout VB_VM_TEST_TIMEOUT, 180, + 120;
# every guest harness prints within that), seen once in hundreds of boots
# with both vCPUs idle and even the guest's own timeout never firing. Each
# failed boot's log is kept beside LOG, and the stall is reported loudly.
# VB_VM_VERBOSE=1 also shows the console as it runs (no stall watch then).
# Returns QEMU's status (124: timeout).
vm_boot() {
	local log=$1 to=$2 marker=$3 attempt qrc qpid flags=$- stalled
	local stall=${VB_VM_STALL:-$((${VB_VM_TEST_TIMEOUT:-180} + 120))}
	shift 3
	for attempt in 1 2 3; do
		set +e
		stalled=no
		if [ "${VB_VM_VERBOSE:-0}" = 1 ]; then
			timeout -k 5 "$to" qemu-system-x86_64 "$@" </dev/null 2>&1 |
				tee "$log"
			qrc=${PIPESTATUS[0]}
		else
			timeout -k 5 "$to" qemu-system-x86_64 "$@" </dev/null >"$log" 2>&1 &
			qpid=$!
			vm_stall_watch "$qpid" "$log" "$stall" || stalled=yes
			wait "$qpid"
			qrc=$?
		fi
		case $flags in *e*) set -e ;; esac
		tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
		if [ $stalled = yes ]; then
			echo "vm: *** the guest printed nothing for $stall s: wedged; QEMU stopped (log kept: $log.stalled-$attempt)" >&2
			tail -n 5 "$log" | sed 's/^/vm:   console: /' >&2
			cp "$log" "$log.stalled-$attempt"
			[ "$attempt" -lt 3 ] && { echo "vm: booting again" >&2; continue; }
			return 124
		fi
		if grep -q "$marker" "$log" || [ "$qrc" -eq 124 ] || [ "$attempt" -eq 3 ]; then
			return "$qrc"
		fi
		mv "$log" "$log.boot-failed-$attempt"
		echo "vm: guest died before /init (log kept: $log.boot-failed-$attempt); booting again" >&2
	done
}

# vm_stall_watch PID LOG SECS: wait while PID (timeout running QEMU) lives;
# stop it and return 1 when LOG has not grown for SECS seconds.
vm_stall_watch() {
	local pid=$1 log=$2 secs=$3 size last=-1 quiet=0

	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size quiet=0
			continue
		fi
		quiet=$((quiet + 1))
		if [ $quiet -ge "$secs" ]; then
			kill "$pid" 2>/dev/null
			return 1
		fi
	done
	return 0
}
