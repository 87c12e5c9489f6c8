#!/usr/bin/env bash
# kvmem-cases.sh - run every `kvmem run` case of the guest suite, once,
# where /dev/kvm exists (inside the nested harness), recording what
# happened; guest-suite.sh asserts on the results from the host side.
#
# Usage: kvmem-cases.sh KVMEM WORK KERNEL INITRD CMDLINE [FLAT@ADDR [VMLINUX]]
#
# For each case NAME it writes WORK/NAME.{out,err,rc,time} (stdout,
# stderr, exit status, seconds) and, for bad-input cases, WORK/NAME.left
# (what the run left behind: new mounts, new files in /tmp /run /dev/shm
# /var/tmp, a non-empty or mounted --mount directory, surviving kvmem
# processes; empty when clean). Every run is bounded by `timeout`.
# It asserts nothing and always exits 0 unless its arguments are wrong.
set -uo pipefail

(($# >= 5)) || { echo "usage: kvmem-cases.sh KVMEM WORK KERNEL INITRD CMDLINE [FLAT@ADDR [VMLINUX]]" >&2; exit 2; }
kvmem=$1 work=$2 kernel=$3 initrd=$4 cmdline=$5 flat=${6:-} vmlinux=${7:-}
tmo=${KVMEM_GUEST_TIMEOUT:-300}
scratch=$(mktemp -d /tmp/kvmem-cases.XXXXXX)
# decompressed kernels: an empty cache, so the first direct boot
# decompresses and the later ones read it back
export KVMEM_KERNEL_CACHE=$scratch/kcache
shopt -s nullglob dotglob globstar

# Under TCG every fork+exec costs a lot of the one outer CPU: the helpers
# below use bash builtins only (times in microseconds from EPOCHREALTIME).
start=${EPOCHREALTIME/[.,]/}
elapsed() { # elapsed START_US -> seconds with 2 decimals
	local d=$((${EPOCHREALTIME/[.,]/} - $1))
	printf '%d.%02d\n' $((d / 1000000)) $((d % 1000000 / 10000))
}

# run NAME ARGS...: kvmem ARGS with stdin closed, recorded under NAME;
# with trace=1 in the environment, kvmem says how it booted (stderr)
run() {
	local name=$1 t rc=0
	shift
	t=${EPOCHREALTIME/[.,]/}
	KVMEM_BOOT_TRACE=${trace:-} timeout -k 5 "$tmo" "$kvmem" "$@" </dev/null \
		>"$work/$name.out" 2>"$work/$name.err" || rc=$?
	echo "$rc" >"$work/$name.rc"
	elapsed "$t" >"$work/$name.time"
}

# owned_ram MNT: under a running guest, try to take its RAM away through
# the mount and report what happened, one KEY=VALUE line each.
owned_ram() {
	local a=$1/allocations line e820 e820b
	rmdir "$a/vm.ram0"
	echo "rmdir=$?"
	IFS= read -r line <"$a/error" && echo "error=$line"
	echo 'free vm.ram0' >"$a/ctl"
	echo "free=$?"
	IFS= read -r line <"$a/vm.ram0/spec" && echo "spec=$line"
	IFS= read -r -d '' e820 <"$1/vm/e820"
	echo 'alloc name=ram0 node=0 size=1M' >"$a/ctl"
	echo "useralloc=$?"
	IFS= read -r -d '' e820b <"$1/vm/e820"
	[[ $e820 == "$e820b" && -n $e820 ]] && echo "e820=unchanged"
	[[ -d $a/vm.ram0 ]] && echo "ram=still there"
}

# What a run may leave behind: mounts, files in /tmp /run /dev/shm
# /var/tmp (our scratch and work directories excepted), kvmem processes.
snapshot() {
	local f p
	IFS= read -r -d '' f </proc/mounts
	printf '%s' "$f"
	for f in /tmp/** /run/** /dev/shm/** /var/tmp/**; do
		[[ $f == "$scratch"* || $f == "$work"* ]] || echo "file $f"
	done
	for p in /proc/[0-9]*; do
		[[ $p/exe -ef $kvmem ]] && echo "kvmem still running: ${p#/proc/}"
	done
}

# bad NAME ARGS...: a run that must fail cleanly; also records leftovers.
# Each gets its own --mount directory, created empty beforehand.
bad() {
	local name=$1 mnt=$scratch/mnt-$1 before after
	shift
	mkdir -p "$mnt"
	before=$(snapshot)
	run "$name" "$@" --mount "$mnt"
	after=$(snapshot)
	: >"$work/$name.left"
	if [[ $before != "$after" ]]; then
		diff <(echo "$before") <(echo "$after") | grep '^[<>]' >>"$work/$name.left"
		umount -l "$mnt" 2>/dev/null
	fi
	local left=("$mnt"/*)
	((${#left[@]})) && echo "not empty: $mnt" >>"$work/$name.left"
}

# 1. A Linux guest: 2 vCPUs, 2 nodes of 256 MiB (--boot auto: the
#    bzImage decompressed on the host, the cache empty), the same through
#    the kernel's own decompressor, and the vmlinux through PVH.
trace=1 run linux run --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" \
	--cpus 2 --numa 0:256M,1:256M --console stdio
trace=1 run bzimage run --kernel "$kernel" --boot bzimage --initrd "$initrd" \
	--cmdline "$cmdline" --cpus 1 --numa 0:256M --console stdio
if [[ -n $vmlinux ]]; then
	trace=1 run vmlinux run --kernel "$vmlinux" --initrd "$initrd" --cmdline "$cmdline" \
		--cpus 2 --numa 0:256M,1:256M --console stdio
fi

# 2. The reference: the same kernel, initramfs and layout under QEMU q35
#    (microvm has no SRAT, so it cannot show two nodes).
t=${EPOCHREALTIME/[.,]/}
rc=0
timeout -k 5 "$tmo" qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 2 -m 512M \
	-object memory-backend-ram,id=m0,size=256M -numa node,nodeid=0,memdev=m0,cpus=0 \
	-object memory-backend-ram,id=m1,size=256M -numa node,nodeid=1,memdev=m1,cpus=1 \
	-nodefaults -display none -no-reboot -serial stdio \
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
	</dev/null >"$work/qemu.out" 2>"$work/qemu.err" || rc=$?
echo "$rc" >"$work/qemu.rc"
elapsed "$t" >"$work/qemu.time"

# 3. The flat example guest.
if [[ -n $flat ]]; then
	run flat run --flat "$flat" --mem 16M --console stdio
fi

# 3b. virtio-mmio: an entropy device; the guest's rng script reads it,
#     resets it by unbinding its driver and binds it again.
dev_cmdline="console=ttyS0 quiet panic=-1"
run virtio-rng run --kernel "$kernel" --initrd "$initrd" \
	--cmdline "$dev_cmdline kvmem.run=rng" --rng --mem 256M --console stdio

# 4. Bad input: each must fail with one line on stderr, leaving nothing.
head -c 65536 /dev/urandom >"$scratch/garbage"
head -c 200000 "$kernel" >"$scratch/truncated"
truncate -s 96M "$scratch/huge.cpio"
ok=(--cmdline "console=ttyS0" --cpus 1)
bad bad-missing-kernel run --kernel "$scratch/no-such-bzImage" "${ok[@]}" --numa 0:64M
bad bad-garbage-kernel run --kernel "$scratch/garbage" "${ok[@]}" --numa 0:64M
bad bad-truncated-kernel run --kernel "$scratch/truncated" "${ok[@]}" --numa 0:64M
bad bad-huge-initrd run --kernel "$kernel" --initrd "$scratch/huge.cpio" "${ok[@]}" --numa 0:64M
bad bad-numa-empty run --kernel "$kernel" "${ok[@]}" --numa 0:
bad bad-numa-unit run --kernel "$kernel" "${ok[@]}" --numa 0:64Q
bad bad-numa-node run --kernel "$kernel" "${ok[@]}" --numa x:64M
bad bad-numa-comma run --kernel "$kernel" "${ok[@]}" --numa 0:64M,,1:64M
bad bad-numa-at run --kernel "$kernel" "${ok[@]}" --numa 0:64M@
bad bad-host-node run --kernel "$kernel" "${ok[@]}" --numa 0:64M@7
bad bad-cpus-zero run --kernel "$kernel" --cmdline "console=ttyS0" --cpus 0 --numa 0:64M
bad bad-boot-option run --kernel "$kernel" --boot sideways "${ok[@]}" --numa 0:64M
# a payload damaged 4 KiB in: --boot direct must refuse it (it cannot
# fall back), after the cache above holds the good kernel of another path
sects=$(od -An -tu1 -j $((0x1f1)) -N 1 "$kernel" | tr -d ' ')
poff=$(( (${sects:-4} + 1) * 512 + $(od -An -tu4 -j $((0x248)) -N 4 "$kernel" | tr -d ' ') ))
cp "$kernel" "$scratch/corrupt-bzImage"
head -c 64 /dev/urandom | dd of="$scratch/corrupt-bzImage" bs=1 seek=$((poff + 4096)) conv=notrunc status=none
bad bad-payload run --kernel "$scratch/corrupt-bzImage" --boot direct "${ok[@]}" --numa 0:128M
if [[ -n $vmlinux ]]; then
	head -c 300000 "$vmlinux" >"$scratch/truncated-vmlinux"
	bad bad-vmlinux-truncated run --kernel "$scratch/truncated-vmlinux" "${ok[@]}" --numa 0:128M
	bad bad-vmlinux-bzimage run --kernel "$vmlinux" --boot bzimage "${ok[@]}" --numa 0:128M
fi
# 4b. Bad disks (--disk): each must fail before the guest starts, with one
#     line. A read-only tmpfs holds a file no one can open for writing.
disk_scratch=$scratch/disks
mkdir -p "$disk_scratch/rofs"
head -c 1048576 /dev/zero >"$disk_scratch/ok.img"
head -c 1000 /dev/zero >"$disk_scratch/odd.img"
: >"$disk_scratch/empty.img"
mount -t tmpfs -o size=2m tmpfs "$disk_scratch/rofs" &&
	head -c 1048576 /dev/zero >"$disk_scratch/rofs/locked.img" &&
	mount -o remount,ro "$disk_scratch/rofs"
dok=(--cmdline "console=ttyS0 panic=-1" --cpus 1 --mem 64M)
bad bad-disk-missing run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/no-such.img"
bad bad-disk-dir run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch"
bad bad-disk-readonly-fs run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/rofs/locked.img"
bad bad-disk-odd-size run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/odd.img"
bad bad-disk-empty run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/empty.img"
bad bad-disk-twice run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/ok.img" --disk "$disk_scratch/ok.img,ro"
bad bad-disk-option run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/ok.img,cache=unsafe"
# tmpfs refuses O_DIRECT on this (6.1) kernel: cache=none cannot be had
bad bad-disk-no-direct run --kernel "$kernel" "${dok[@]}" --disk "$disk_scratch/ok.img,cache=none"
umount "$disk_scratch/rofs" 2>/dev/null

for f in "$work"/bad-*.rc; do
	f=${f##*/}
	echo "${f%.rc}"
done >"$work/bad.list"

# live NAME MNT HOOK ARGS...: `kvmem ARGS --mount MNT`, its console read
# line by line into WORK/NAME.out; when the guest prints a line holding
# $live_on (default "KVMEM-GUEST token": its init has reported and holds as
# long as kvmem.hold= says), `HOOK PID MNT` looks at the running guest.
# Records NAME.rc, NAME.time, and "still mounted" in NAME.fs if the mount
# outlives the run. Only bash builtins in the loop and the hooks (rmdir
# aside): under TCG a fork per poll would steal the one outer CPU from the
# guest. The array live_env holds VAR=VALUE words for kvmem's environment.
live_env=() live_on=
live() {
	local name=$1 mnt=$2 hook=$3 t fd pid line st rc mounts
	shift 3
	t=${EPOCHREALTIME/[.,]/}
	mkdir -p "$mnt"
	: >"$work/$name.out" >"$work/$name.fs"
	exec {fd}< <(exec env "${live_env[@]}" "$kvmem" "$@" --mount "$mnt" </dev/null 2>"$work/$name.err")
	pid=$!
	while :; do
		IFS= read -r -t "$tmo" -u "$fd" line
		st=$?
		((st == 0)) || break
		printf '%s\n' "$line" >>"$work/$name.out"
		[[ $line == *"${live_on:-KVMEM-GUEST token}"* ]] && "$hook" "$pid" "$mnt"
	done
	((st > 128)) && kill -9 "$pid" 2>/dev/null	# silent for $tmo s: stuck
	exec {fd}<&-
	rc=0
	wait "$pid" || rc=$?
	echo "$rc" >"$work/$name.rc"
	IFS= read -r -d '' mounts </proc/mounts
	[[ $mounts == *" $mnt "* ]] && echo "still mounted" >>"$work/$name.fs"
	elapsed "$t" >"$work/$name.time"
}

# 5. Host binding: one node bound to host node 1; while the guest holds
#    (4 s), kvmem's /proc/PID/numa_maps and nodes/online through its
#    --mount (FUSE in the nested VM). And KASLR: no nokaslr; the guest says
#    where its text runs (kvmem.text=1), kvmem where it put it
#    (KVMEM_BOOT_TRACE). The guest's RAM is the VM's own: under the
#    running guest, rmdir of allocations/vm.ram0 and `free vm.ram0` must
#    fail (EBUSY; the error file says whose it is), its spec says
#    owner=vm, and a user allocation named ram0 (in the 8M of headroom)
#    leaves vm/e820 as it was; the guest then runs on to its end
#    ("KVMEM-GUEST done", poweroff).
bind_hook() {
	local maps online
	IFS= read -r -d '' maps <"/proc/$1/numa_maps"
	printf '%s' "$maps" >"$work/bind.numa_maps"
	IFS= read -r online <"$2/nodes/online" && echo "online=$online" >>"$work/bind.fs"
	owned_ram "$2" >>"$work/bind.fs" 2>>"$work/bind.owned-err"
}
if [[ -d /sys/devices/system/node/node1 ]]; then
	: >"$work/bind.numa_maps" >"$work/bind.owned-err"
	live_env=(KVMEM_BOOT_TRACE=1)
	live bind "$scratch/mnt-bind" bind_hook run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "console=ttyS0 quiet panic=-1 kvmem.text=1 kvmem.hold=4" \
		--cpus 1 --numa 0:256M@1 --headroom 0:8M --console stdio
	live_env=()
fi

# 5b. KASLR at its edges (test builds honour KVMEM_TEST_KASLR=PHYS:VIRT,
#    vmm/reloc.c): the kernel in the highest free physical slot (just
#    under the initrd) and at the top of the 1 GiB kernel mapping, from
#    the cache; the guest must reach its token and run at that base.
trace=1 KVMEM_TEST_KASLR=max:max run kaslr-max run --kernel "$kernel" --initrd "$initrd" \
	--cmdline "console=ttyS0 quiet panic=-1 kvmem.text=1" --cpus 1 --mem 256M --console stdio

# 6. A libvirt domain (examples/domain.xml with this run's kernel, initrd
#    and command line, made by guest-suite.sh): while the guest holds, its
#    vm/domain.xml, vm/name and node 1's CMA size through the mount.
domain_hook() {
	# (a failed read leaves its value empty: the suite's checks fail, the
	# other cases still run)
	local xml= name= cma=
	IFS= read -r -d '' xml <"$2/vm/domain.xml"
	printf '%s' "$xml" >"$work/domain-vm.xml"
	IFS= read -r name <"$2/vm/name"
	IFS= read -r cma <"$2/nodes/node1/cma/size"
	echo "name=$name cma=$cma" >>"$work/domain.fs"
}
if [[ -e $work/domain.xml ]]; then
	live domain "$scratch/mnt-domain" domain_hook run --domain "$work/domain.xml"
fi

# 7. A failed vCPU start leaves the VM not stopped (tests/vmm/vcpu-start,
#    TAP), when the suite was given it.
if [[ -n ${KVMEM_VCPU_START:-} ]]; then
	t=${EPOCHREALTIME/[.,]/}
	rc=0
	timeout -k 5 60 "$KVMEM_VCPU_START" >"$work/vcpu-start.out" 2>&1 || rc=$?
	echo "$rc" >"$work/vcpu-start.rc"
	elapsed "$t" >"$work/vcpu-start.time"
fi

# The threads of kvmem PID as /proc shows them (section 10, and the disk
# case's hook under the default --seccomp on).
seccomp_status() { # seccomp_status PID: one line per thread
	local l
	local t c s
	for t in /proc/"$1"/task/*; do
		IFS= read -r c <"$t/comm"
		s=$(<"$t/status")
		s=${s//$'\t'/ }
		printf '%s' "$c"
		while IFS= read -r l; do
			case $l in Seccomp:*|Seccomp_filters:*|NoNewPrivs:*|CapEff:*|CapPrm:*|Uid:*)
				printf ' %s' "${l// /}";;
			esac
		done <<<"$s"
		echo
	done
}
# 8. Disks: four at once (guest script disk.sh): vda read-write on tmpfs
#    (random bytes, written, discarded), vdb read-only, vdc the host's
#    ext4 image with a serial, vdd a RAM block device with cache=none. When
#    the guest says disk-ready (it then holds 3 s), vm/disks/ through the
#    mount; afterwards, what the image files hold (disk.host).
disk_hook() {
	local dev f v
	seccomp_status "$1" >"$work/seccomp-on.status"
	for dev in vda vdb vdc vdd; do
		for f in path size readonly serial cache engine stat; do
			[[ -e $2/vm/disks/$dev/$f ]] || continue
			IFS= read -r v <"$2/vm/disks/$dev/$f"
			echo "$dev $f $v" >>"$work/disk.fs"
		done
	done
}
# 9. kill -9 after the guest's sync: the bytes are in the file. The
#    synchronous fallback serves this disk (KVMEM_KIO_SYNC=1).
kill_hook() {
	local v
	IFS= read -r v <"$2/vm/disks/vda/engine"
	echo "engine $v" >>"$work/kill.fs"
	IFS= read -r v <"$2/vm/disks/vda/stat"
	echo "stat $v" >>"$work/kill.fs"
	kill -9 "$1"
}
if [[ -e $work/rw.img ]]; then
	d=$scratch/disk
	mkdir -p "$d"
	cp "$work/rw.img" "$work/ro.img" "$work/ext4.img" "$d/"
	: >"$work/disk.host"
	ram=
	if modprobe brd rd_nr=1 rd_size=8192 2>"$work/disk.brd" && [[ -b /dev/ram0 ]]; then
		ram=/dev/ram0
		head -c 8388608 /dev/zero >"$ram"
	fi
	echo "blocks-before $(stat -c %b "$d/rw.img")" >>"$work/disk.host"
	live_on="KVMEM-GUEST disk-ready"
	live disk "$scratch/mnt-disk" disk_hook run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "console=ttyS0 quiet panic=-1 kvmem.run=disk kvmem.hold=3" \
		--mem 256M --console stdio \
		--disk "$d/rw.img" --disk "$d/ro.img,ro" \
		--disk "$d/ext4.img,serial=EXT4DISK" \
		${ram:+--disk "$ram,cache=none"}
	{
		echo "blocks-after $(stat -c %b "$d/rw.img")"
		echo "pattern-file $(dd if="$d/rw.img" bs=1M skip=1 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
		echo "pattern-want $(yes KVMEM-DISK-PATTERN | head -c 4194304 | sha256sum | cut -d' ' -f1)"
		echo "ro-after $(sha256sum <"$d/ro.img" | cut -d' ' -f1)"
		if [[ -n $ram ]]; then
			echo "ram-file $(dd if="$ram" bs=65536 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
			echo "ram-want $(yes KVMEM-RAM-PATTERN | head -c 1048576 | sha256sum | cut -d' ' -f1)"
		fi
	} >>"$work/disk.host"
	umount -l "$scratch/mnt-disk" 2>/dev/null
	[[ -n $ram ]] && rmmod brd 2>/dev/null

	head -c 8388608 /dev/zero >"$d/kill.img"
	live_env=(KVMEM_KIO_SYNC=1) live_on="KVMEM-GUEST synced"
	live kill "$scratch/mnt-kill" kill_hook run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "console=ttyS0 quiet panic=-1 kvmem.run=kill" \
		--mem 256M --console stdio --disk "$d/kill.img"
	live_env=() live_on=
	umount -l "$scratch/mnt-kill" 2>/dev/null	# its server was killed
	{
		echo "kill-file $(head -c 2097152 "$d/kill.img" | sha256sum | cut -d' ' -f1)"
		echo "kill-want $(yes KVMEM-KILL-PATTERN | head -c 2097152 | sha256sum | cut -d' ' -f1)"
	} >>"$work/kill.fs"
fi

# 10. Seccomp (README "Security"). A forbidden call from each kind of
#     thread (KVMEM_TEST_SECCOMP, in builds with -Dtest_hooks=true) kills
#     kvmem with one line, leaving its mount stale for the next start to
#     clear; the flat guest is enough: each thread trips as it starts.
#     Then a Linux guest under --seccomp log driving every device path and
#     the mount (scripts/seccomp.sh, seccomp_hook): the kernel's audit
#     records (dmesg, type 1326) of its pid must be none. The pids of the
#     runs that trip on purpose are in seccomp.pids; seccomp.dmesg holds
#     every record of the whole outer run.
trip() { # trip NAME KIND:CALL [--seccomp MODE]: a flat guest with a trigger
	local name=$1 what=$2 t rc=0 pid
	shift 2
	t=${EPOCHREALTIME/[.,]/}
	KVMEM_TEST_SECCOMP=$what "$kvmem" run --flat "$flat" --mem 16M --rng --console stdio \
		--disk "$scratch/trip.img" --mount "$scratch/mnt-trip" "$@" \
		<"$scratch/trip.in" >"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	echo "$pid $name" >>"$work/seccomp.pids"
	wait "$pid" || rc=$?
	echo "$rc" >"$work/$name.rc"
	IFS= read -r -d '' l </proc/mounts
	[[ $l == *" $scratch/mnt-trip "* ]] && echo stale >"$work/$name.fs"
	elapsed "$t" >"$work/$name.time"
}
if [[ -n $flat ]]; then
	head -c 1048576 /dev/zero >"$scratch/trip.img"
	mkfifo "$scratch/trip.in"
	exec {hold}<>"$scratch/trip.in"	# a console input that stays open
	: >"$work/seccomp.pids"
	# (no openat: sanitizer builds allow it, for the runtime's reports)
	for k in vcpu:ioctl device:execve fuse:mmap-exec console:execve main:mmap-exec; do
		trip "trip-${k%%:*}" "$k"
	done
	trip trip-log device:ioctl --seccomp log
	umount -l "$scratch/mnt-trip" 2>/dev/null
	exec {hold}<&-
fi
seccomp_hook() {
	local a=$2/allocations v f
	echo "$1" >"$work/seccomp-log.pid"
	seccomp_status "$1" >"$work/seccomp-log.status"
	for f in name state vcpus memory e820 domain.xml; do
		IFS= read -r -d '' v <"$2/vm/$f"
	done
	for f in "$2"/vm/disks/vda/*; do IFS= read -r v <"$f"; done
	echo 'alloc name=sc node=0 size=1M' >"$a/ctl" && echo "alloc=ok" >>"$work/seccomp-log.fs"
	IFS= read -r -N 4096 v <"$a/sc/data"
	echo 'free sc' >"$a/ctl" && echo "free=ok" >>"$work/seccomp-log.fs"
	echo pause >"$2/vm/state" && IFS= read -r v <"$2/vm/state" && echo "state=$v" >>"$work/seccomp-log.fs"
	echo resume >"$2/vm/state" && IFS= read -r v <"$2/vm/state" && echo "state=$v" >>"$work/seccomp-log.fs"
}
if [[ -e $work/rw.img ]]; then
	head -c 16777216 /dev/urandom >"$scratch/seccomp.img"
	: >"$work/seccomp-log.fs"
	live_on="KVMEM-GUEST seccomp-ready"
	live seccomp-log "$scratch/mnt-seccomp" seccomp_hook run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "console=ttyS0 quiet panic=-1 kvmem.run=seccomp kvmem.hold=2" \
		--cpus 2 --mem 256M --headroom 0:8M --console stdio --rng \
		--disk "$scratch/seccomp.img" --seccomp log
	live_on=
fi
# 11. virtio-mem: node 1 grows by 512M and shrinks back through
#     nodes/node1/hotplug/requested (guest script hotplug.sh). On each
#     "KVMEM-GUEST hp-" line the hook looks at kvmem: its RSS (RssAnon +
#     RssShmem of /proc/PID/status), the hotplug/ files and meminfo; at
#     hp-base it tries bad requests and an allocations/ctl allocation in
#     the region (all must fail), then asks for 512M; at hp-freed it
#     waits (up to 20 s) for free page reporting to release the freed
#     tmpfs, most of it in plugged memory (node 1's Reported grows by
#     200 MiB and kvmem's RSS falls by as much), then asks for 0.
hp_rss() { # kB of anonymous + shared memory of process $1
	local k v rest sum=0
	while read -r k v rest; do
		case $k in RssAnon:|RssShmem:) sum=$((sum + v)) ;; esac
	done <"/proc/$1/status"
	echo "$sum"
}
hp_reported() { # node 1's Reported (reported and still released), kB
	local k v
	while read -r _ _ k v _; do [[ $k == Reported: ]] && echo "$v"; done <"$1/nodes/node1/meminfo"
}
hp_files() { # KEY=VALUE of the hotplug files, meminfo's Hotplug and Reported lines
	local h=$2/nodes/node1/hotplug v bm k
	IFS= read -r v <"$h/plugged" && echo -n "plugged=$v "
	IFS= read -r v <"$h/requested" && echo -n "requested=$v "
	IFS= read -r -d '' bm <"$h/bitmap"
	bm=${bm//[^1]/}
	echo -n "bitmap-ones=${#bm} "
	while read -r _ _ k v _; do
		case $k in HotplugTotal:|HotplugPlugged:|Reported:) echo -n "${k%:}=$v " ;; esac
	done <"$2/nodes/node1/meminfo"
	read -r _ v <"$2/vm/balloon/reported" && echo -n "reptotal=$v "
	echo "rss=$(hp_rss "$1")"
}
hotplug_hook() {
	local h=$2/nodes/node1/hotplug region addr size v r0 rss0 t i
	case $line in
	*"hp-base"*)
		IFS= read -r region <"$h/region"
		IFS= read -r v <"$h/block_size"
		echo "region=$region block_size=$v" >>"$work/hotplug.fs"
		echo "base $(hp_files "$1" "$2")" >>"$work/hotplug.fs"
		echo 3M >"$h/requested" 2>/dev/null
		echo "odd-requested=$?" >>"$work/hotplug.fs"
		echo 2G >"$h/requested" 2>/dev/null
		echo "big-requested=$?" >>"$work/hotplug.fs"
		addr=${region%% *}
		echo "alloc name=inregion node=1 size=2M mode=range:$addr-$((addr + 2097152))" \
			>"$2/allocations/ctl" 2>/dev/null
		echo "ctl-in-region=$?" >>"$work/hotplug.fs"
		echo 512M >"$h/requested"
		echo "set-512M=$?" >>"$work/hotplug.fs"
		;;
	*"hp-grown"*) echo "grown $(hp_files "$1" "$2")" >>"$work/hotplug.fs" ;;
	*"hp-filled"*) echo "filled $(hp_files "$1" "$2")" >>"$work/hotplug.fs" ;;
	*"hp-freed"*)
		# both: Linux may still be reporting never-touched plugged
		# memory, which grows Reported without lowering the RSS
		r0=$(sed -n 's/^filled .*Reported=\([0-9]*\).*/\1/p' "$work/hotplug.fs")
		rss0=$(sed -n 's/^filled .*rss=\([0-9]*\).*/\1/p' "$work/hotplug.fs")
		t=${EPOCHREALTIME/[.,]/}
		for ((i = 0; i < 100; i++)); do
			v=$(hp_reported "$2")
			((v - ${r0:-0} >= 204800 && ${rss0:-0} - $(hp_rss "$1") >= 204800)) && break
			sleep 0.2
		done
		echo "reported after=$(elapsed "$t") $(hp_files "$1" "$2")" >>"$work/hotplug.fs"
		echo "refused $(tr '\n' ' ' <"$2/vm/balloon/refused")" >>"$work/hotplug.fs"
		echo 0 >"$h/requested"
		echo "set-0=$?" >>"$work/hotplug.fs"
		;;
	*"hp-shrunk"*) echo "shrunk $(hp_files "$1" "$2")" >>"$work/hotplug.fs" ;;
	esac
}
: >"$work/hotplug.fs"
live_on="KVMEM-GUEST hp-"
live hotplug "$scratch/mnt-hotplug" hotplug_hook run --kernel "$kernel" --initrd "$initrd" \
	--cmdline "console=ttyS0 quiet panic=-1 kvmem.run=hotplug" \
	--cpus 2 --numa 0:512M,1:512M --hotplug 1:1G --console stdio
live_on=
umount -l "$scratch/mnt-hotplug" 2>/dev/null
# 12. The balloon (scripts/balloon.sh, 512 MiB): the hook follows the
#     guest's phases ("balloon-" lines) into balloon.fs: kvmem's VmRSS
#     (/proc/PID/status) when 200 MiB are filled, then every 0.2 s for 10 s
#     after they are freed (free page reporting); vm/balloon/target 128M
#     with reporting held, actual and VmRSS until it is reached, back to 0;
#     vm/balloon/stats while the guest prints its own meminfo.
rss() { # rss PID -> VmRSS in kB
	local k v u
	while read -r k v u; do [[ $k == VmRSS: ]] && { echo "$v"; return; }; done <"/proc/$1/status"
}
first() { local v; IFS= read -r v <"$1"; echo "$v"; }
nap() { read -rt "$1" -u "$napfd"; }	# a builtin sleep (a pipe nobody writes)
exec {napfd}< <(exec sleep 100000)
nap_pid=$!
balloon_hook() {
	local pid=$1 b=$2/vm/balloon out=$work/balloon.fs r0 r i v t
	case $line in
	*balloon-filled*)
		echo "filled rss=$(rss "$pid") reported=$(first "$b/reported")" >>"$out" ;;
	*balloon-freed*)
		r0=$(sed -n 's/^filled rss=\([0-9]*\).*/\1/p' "$out")
		t=${EPOCHREALTIME/[.,]/}
		for ((i = 0; i < 50; i++)); do
			r=$(rss "$pid")
			((r0 - r >= 153600)) && break
			nap 0.2
		done
		echo "freed rss=$r after=$(elapsed "$t")" >>"$out"
		while IFS= read -r v; do echo "reported-$v"; done <"$b/reported" >>"$out" ;;
	*balloon-dirty*)
		echo "dirty rss=$(rss "$pid") actual=$(first "$b/actual")" >>"$out"
		echo 128M >"$b/target" && echo "target-128M ok" >>"$out"
		echo "target $(first "$b/target")" >>"$out"
		t=${EPOCHREALTIME/[.,]/}
		for ((i = 0; i < 300; i++)); do
			v=$(first "$b/actual")
			((v == 134217728)) && break
			nap 0.2
		done
		echo "inflated actual=$v rss=$(rss "$pid") after=$(elapsed "$t")" >>"$out"
		while IFS= read -r v; do
			[[ $v == *Ballooned:* ]] && echo "meminfo $v" >>"$out"
		done <"$2/nodes/node0/meminfo"
		nap 3		# the guest sees its MemTotal fall
		echo 1G >"$b/target" 2>/dev/null || echo "target-1G refused" >>"$out"
		echo 0 >"$b/target"
		t=${EPOCHREALTIME/[.,]/}
		for ((i = 0; i < 300; i++)); do
			v=$(first "$b/actual")
			((v == 0)) && break
			nap 0.2
		done
		echo "deflated actual=$v after=$(elapsed "$t")" >>"$out" ;;
	*balloon-stats*)
		while IFS= read -r v; do echo "stats $v"; done <"$b/stats" >>"$out"
		while IFS= read -r v; do echo "refused-$v"; done <"$b/refused" >>"$out" ;;
	esac
}
: >"$work/balloon.fs"
live_on="KVMEM-GUEST balloon-"
live balloon "$scratch/mnt-balloon" balloon_hook run --kernel "$kernel" --initrd "$initrd" \
	--cmdline "console=ttyS0 quiet panic=-1 kvmem.run=balloon" --mem 512M --console stdio
live_on=
umount -l "$scratch/mnt-balloon" 2>/dev/null
exec {napfd}<&-
kill "$nap_pid" 2>/dev/null

# the kernel's seccomp records of the whole outer run (case 10 checks them),
# taken after the last case so that the hotplug and balloon runs count too
dmesg 2>/dev/null | grep -a 'type=1326' >"$work/seccomp.dmesg"
[[ -r /proc/sys/kernel/seccomp/actions_logged ]] &&
	IFS= read -r l </proc/sys/kernel/seccomp/actions_logged && echo "$l" >"$work/seccomp.actions"
elapsed "$start" >"$work/all-cases.time"
rm -rf "$scratch"
exit 0
