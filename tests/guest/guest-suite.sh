#!/usr/bin/env bash
# guest-suite.sh - the `kvmem run` guest tests (issue 4 part 3), TAP output.
#
# Usage: guest-suite.sh KVMEM [FLAT_BIN ADDR [EXPECTED_LINE...]]
#
# Builds a busybox initramfs with a random token (mkinitramfs), then boots
# ONE outer VM (tests/nested/with-kvm --host-numa 2; direct where
# /dev/kvm exists) that runs every case (kvmem-cases.sh) and asserts here,
# on the host, on what came back:
#   linux    2 CPUs, nodes 0 and 1 with MemTotal >= 95 % of QEMU's for
#            the same kernel, initramfs and layout, the command line as
#            given, the initrd's token, a clean poweroff with status 0;
#            booted directly (--boot auto: the stock bzImage's payload
#            decompressed on the host, no in-guest decompression)
#   bzimage  the same bzImage through its own decompressor (--boot bzimage)
#   vmlinux  the ELF inside it (extract-vmlinux) through the PVH entry:
#            as linux, 2 CPUs and 2 nodes
#   flat     the flat example guest (--flat FLAT_BIN@ADDR --mem 16M) prints
#            each EXPECTED_LINE (a whole line) and exits 0
#   virtio-rng  the virtio-mmio transport in Linux: a --rng device found
#            through the DSDT, driven, reset by an unbind and rebound
#   disk     four --disk devices in one guest (read-write, read-only, the
#            host's mke2fs -d ext4 image, a RAM block device with
#            cache=none): checksums both ways, writes in the host file,
#            discard punching holes, vm/disks/ while it runs
#   kill     kill -9 after the guest's sync: the bytes are in the file
#            (on the synchronous fallback)
#   bad-*    each bad input fails with one line on stderr and leaves no
#            mount, file or process behind
#   vcpu-start  (KVMEM_VCPU_START, tests/vmm/vcpu-start.c) a failed
#            vmm_vcpus_start() leaves the VM running, not stopped
#   bind     a node bound to host node 1 has its touched pages there;
#            its --mount serves nodes/online while the guest runs and is
#            gone afterwards; with KASLR, the guest's _text is the virtual
#            base kvmem chose (read from the cache this time); rmdir of the
#            guest's RAM and `free vm.ram0` under the running guest fail
#            with EBUSY naming the owner, its spec says owner=vm, a user's
#            "ram0" leaves vm/e820 alone, and the guest runs on to a clean
#            poweroff
#   kaslr-max  (test builds) KVMEM_TEST_KASLR=max:max: the kernel in the
#            highest free physical slot and at the top of the 1 GiB kernel
#            mapping reaches the token, its _text at kvmem's base
#   seccomp  (README "Security") threads of a running guest fenced; with
#            -Dtest_hooks=true a forbidden call from each kind of thread
#            kills kvmem with one line; a Linux guest under --seccomp log
#            with every device path and the mount: no audit record
#   hotplug  --numa 0:512M,1:512M --hotplug 1:1G: echo 512M > requested
#            grows the guest's node 1 by 512 MiB, 256 MiB written there
#            shows in kvmem's RSS, echo 0 shrinks it back, plugged reads
#            0 and the RSS falls back; bad requests and an allocations/ctl
#            allocation in the region fail while it runs; the tmpfs,
#            removed, is released by free page reporting before the unplug
#            (node 1's Reported grows, kvmem's RSS falls) and the unplug
#            takes it out of Reported
#   domain   examples/domain.xml (kvmem run --domain, with this run's
#            kernel and initramfs): the guest sees its cells (CPUs and
#            memory per node) and its <disk> as /dev/vda (size, bytes)
#            and <rng> as virtio_rng, vm/domain.xml read while it runs is
#            valid for libvirt's schema and maps back to the same command
# The guest kernel is Debian's newest /boot/vmlinuz-* (KVMEM_GUEST_KERNEL
# overrides). KVMEM_GUEST_KEEP=1 keeps the work directory.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
withkvm=$here/../nested/with-kvm
(($# == 1 || $# >= 3)) || { echo "usage: guest-suite.sh KVMEM [FLAT_BIN ADDR [LINE...]]" >&2; exit 2; }
kvmem=$(realpath "$1") flat= flat_lines=()
if (($# >= 3)); then
	flat=$(realpath "$2")@$3
	shift 3
	flat_lines=("$@")
fi
kernel=${KVMEM_GUEST_KERNEL:-$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -n 1)}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESC CMD...: one TAP line from a command's status
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
diag() { sed 's/^/# /'; }
not() { ! "$@"; }

if [[ ! -r $kernel ]]; then
	echo "1..0 # SKIP no readable /boot/vmlinuz-* (linux-image-amd64)"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-suite.XXXXXX")
[[ ${KVMEM_GUEST_KEEP:-0} == 1 ]] && echo "# work directory $work" ||
	trap 'rm -rf "$work"' EXIT
token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
# nokaslr: the kernel lands at the same place under kvmem and QEMU, so
# the node holding it (and its MemTotal) is the same in both.
# swiotlb=noforce: kvmem appends it itself when guest RAM reaches above
# 4 GiB (node 1 here; see vmm/bzimage.c), unless the command line already
# has one; giving it keeps /proc/cmdline exactly as given.
cmdline="console=ttyS0 quiet panic=-1 nokaslr swiotlb=noforce kvmem.test=$token"
# The guest loads the virtio modules (Debian builds them as modules and has
# no command-line virtio-mmio devices: ACPI finds them) and carries the
# in-guest scripts of the device cases (scripts/NAME.sh, run by
# kvmem.run=NAME on the guest's command line).
modules="virtio_mmio virtio-rng virtio_blk ext4 virtio_mem virtio_balloon"
adds=()
for f in "$here"/scripts/*.sh; do
	sname=${f##*/}
	adds+=(--add "/scripts/${sname%.sh}=$f")
done
"$here/mkinitramfs" --kernel "$kernel" --modules "$modules" "${adds[@]}" \
	"$work/initramfs.cpio" "$token" || { echo "Bail out! mkinitramfs failed"; exit 1; }
"$here/extract-vmlinux" "$kernel" "$work/vmlinux" || { echo "Bail out! extract-vmlinux failed"; exit 1; }
# The libvirt domain case: examples/domain.xml with this run's kernel,
# initramfs, a 4 MiB disk image of random bytes, and a command line that
# runs scripts/domain.sh and holds the guest 2 s.
example=$here/../../examples/domain.xml
head -c 4194304 /dev/urandom >"$work/domain-vda.img"
sed -e "s|<kernel>[^<]*</kernel>|<kernel>$kernel</kernel>|" \
	-e "s|<initrd>[^<]*</initrd>|<initrd>$work/initramfs.cpio</initrd>|" \
	-e "s|<cmdline>[^<]*</cmdline>|<cmdline>console=ttyS0 quiet panic=-1 nokaslr kvmem.run=domain kvmem.hold=2</cmdline>|" \
	-e "s|<source file='[^']*'/>|<source file='$work/domain-vda.img'/>|" \
	"$example" >"$work/domain.xml"

# The disk images the disk cases use (copied to tmpfs inside): random
# bytes whose sums the guest must see, and an ext4 image made here with
# mke2fs -d (e2fsprogs) from a directory holding a text and random data.
head -c 33554432 /dev/urandom >"$work/rw.img"
head -c 4194304 /dev/urandom >"$work/ro.img"
mkdir -p "$work/ext4-root"
echo "hello from the host's ext4 image" >"$work/ext4-root/hello.txt"
head -c 1048576 /dev/urandom >"$work/ext4-root/data.bin"
if ! mke2fs -q -t ext4 -d "$work/ext4-root" -F "$work/ext4.img" 16M >/dev/null; then
	echo "Bail out! mke2fs -d failed (e2fsprogs)"
	exit 1
fi
sum() { sha256sum <"$1" | cut -d' ' -f1; }
rw_sum=$(sum "$work/rw.img") ro_sum=$(sum "$work/ro.img")
data_sum=$(sum "$work/ext4-root/data.bin")

t0=$SECONDS
KVMEM_NESTED_RW=$work:$(dirname "$kvmem"):$(dirname "${flat%@*}") "$withkvm" --host-numa 2 --mem 2048M --timeout 1500 \
	"$here/kvmem-cases.sh" "$kvmem" "$work" "$kernel" "$work/initramfs.cpio" \
	"$cmdline" "$flat" "$work/vmlinux" >"$work/harness.out" 2>"$work/harness.err"
hrc=$?
echo "# outer run: status $hrc, $((SECONDS - t0)) s"
if ((hrc != 0)); then
	echo "Bail out! with-kvm failed (status $hrc):"
	diag <"$work/harness.err"
	exit 1
fi
for f in "$work"/*.time; do
	[[ -e $f ]] && echo "# $(basename "$f" .time): $(cat "$f") s"
done

# --------------------------------------------------------- the Linux guest
line() { grep -a "^KVMEM-GUEST $2" "$work/$1.out" | tr -d '\r' | head -n 1; }
memtotal() { line "$1" "node $2 online" | sed -n 's/.*MemTotal=\([0-9]*\).*/\1/p'; }

if [[ $(cat "$work/linux.rc") != 0 ]]; then
	echo "# kvmem run (linux) stderr:"
	diag <"$work/linux.err"
	tail -n 20 "$work/linux.out" | diag
fi
check "linux: exit status 0 after the guest powers off" \
	test "$(cat "$work/linux.rc")" = 0
check "linux: the guest's init ran and finished" \
	grep -aq '^KVMEM-GUEST done' "$work/linux.out"
check "linux: 2 CPUs online" \
	test "$(line linux cpus)" = "KVMEM-GUEST cpus online=0-1 count=2"
check "linux: the command line as given" \
	test "$(line linux cmdline)" = "KVMEM-GUEST cmdline $cmdline"
check "linux: the initrd's file (token)" \
	test "$(line linux token)" = "KVMEM-GUEST token $token"
check "linux: exactly nodes 0 and 1 online" \
	test "$(grep -ac '^KVMEM-GUEST node' "$work/linux.out")" = 2
check "linux: --boot auto booted the bzImage directly, decompressed on the host" \
	grep -aq '^kvmem run: boot direct (xz payload, decompressed)' "$work/linux.err"
grep -a '^kvmem run: ' "$work/linux.err" | diag

# ------------------------------------------- the same kernel, other paths
for c in bzimage vmlinux; do
	if [[ $(cat "$work/$c.rc") != 0 ]]; then
		echo "# kvmem run ($c) stderr:"
		diag <"$work/$c.err"
		tail -n 20 "$work/$c.out" | diag
	fi
	check "$c: exit status 0 after the guest powers off" test "$(cat "$work/$c.rc")" = 0
	check "$c: the guest's init ran and finished" grep -aq '^KVMEM-GUEST done' "$work/$c.out"
	check "$c: the command line as given" \
		test "$(line $c cmdline)" = "KVMEM-GUEST cmdline $cmdline"
	check "$c: the initrd's file (token)" \
		test "$(line $c token)" = "KVMEM-GUEST token $token"
	grep -a '^kvmem run: ' "$work/$c.err" | diag
done
check "bzimage: the kernel decompressed itself (--boot bzimage)" \
	grep -aq '^kvmem run: boot bzimage' "$work/bzimage.err"
check "vmlinux: booted through the PVH entry, 32-bit" \
	grep -aq '^kvmem run: boot direct (PVH entry).* 32-bit' "$work/vmlinux.err"
check "vmlinux: 2 CPUs online" \
	test "$(line vmlinux cpus)" = "KVMEM-GUEST cpus online=0-1 count=2"
check "vmlinux: exactly nodes 0 and 1 online" \
	test "$(grep -ac '^KVMEM-GUEST node' "$work/vmlinux.out")" = 2

# The reference MemTotal: QEMU q35, same kernel, initramfs and layout.
check "qemu reference: booted the same guest" \
	test "$(line qemu token)" = "KVMEM-GUEST token $token"
for c in linux vmlinux; do
	for node in 0 1; do
		ref=$(memtotal qemu $node) got=$(memtotal $c $node)
		echo "# $c node $node MemTotal: kvmem ${got:-none} kB, QEMU ${ref:-none} kB"
		if [[ -n $ref && -n $got ]] && ((got * 100 >= ref * 95)); then
			ok "$c: node $node MemTotal $got kB >= 95 % of QEMU's $ref kB"
		else
			notok "$c: node $node MemTotal ${got:-none} kB >= 95 % of QEMU's ${ref:-none} kB"
		fi
	done
done

# -------------------------------------------------------- the flat guest
if [[ -n $flat ]]; then
	check "flat: exit status 0" test "$(cat "$work/flat.rc")" = 0
	check "flat: prints something" test -s "$work/flat.out"
	for l in "${flat_lines[@]}"; do
		check "flat: prints '$l'" grep -aqxF "$l" <(tr -d '\r' <"$work/flat.out")
	done
	[[ $(cat "$work/flat.rc") == 0 ]] || diag <"$work/flat.err"
fi

# --------------------------------------------------- virtio-mmio: --rng
# The transport seen from Linux: the device found through the DSDT, bound
# to its driver with every status bit, bytes read through its queue, its
# edge-triggered GSI 16 interrupt; an unbind resets it (status back to
# ACKNOWLEDGE only) and a rebind makes it work again.
if [[ $(cat "$work/virtio-rng.rc") != 0 ]]; then
	echo "# kvmem run (virtio-rng) stderr:"
	diag <"$work/virtio-rng.err"
	tail -n 20 "$work/virtio-rng.out" | diag
fi
check "virtio-rng: exit status 0" test "$(cat "$work/virtio-rng.rc")" = 0
check "virtio-rng: the guest found device 4 and bound virtio_rng (status 0xf)" \
	test "$(line virtio-rng virtio-dev)" = "KVMEM-GUEST virtio-dev virtio0 device=0x0004 driver=virtio_rng status=0x0000000f"
check "virtio-rng: it is the guest's hwrng" \
	test "$(line virtio-rng hwrng)" = "KVMEM-GUEST hwrng virtio_rng.0"
distinct=$(line virtio-rng rng-read | sed -n 's/.*distinct=\([0-9]*\).*/\1/p')
check "virtio-rng: 256 bytes read from /dev/hwrng look random (${distinct:-no} distinct values)" \
	test "${distinct:-0}" -ge 100
irq=$(line virtio-rng rng-irq)
check "virtio-rng: interrupts arrive on GSI 16, edge ($irq)" \
	grep -qE '^KVMEM-GUEST rng-irq 16-edge virtio0 count=[1-9]' <<<"$irq"
check "virtio-rng: unbind resets the device (status back to ACKNOWLEDGE)" \
	test "$(line virtio-rng after-unbind)" = "KVMEM-GUEST after-unbind status=0x00000001"
check "virtio-rng: rebind brings it back" \
	test "$(line virtio-rng after-rebind)" = "KVMEM-GUEST after-rebind status=0x0000000f hwrng=virtio_rng.0"
distinct=$(line virtio-rng rng-read-again | sed -n 's/.*distinct=\([0-9]*\).*/\1/p')
check "virtio-rng: bytes again after the reset (${distinct:-no} distinct values)" \
	test "${distinct:-0}" -ge 100
check "virtio-rng: the guest's script ended with status 0" \
	test "$(line virtio-rng run-status)" = "KVMEM-GUEST run-status 0"

# ---------------------------------------------------------- disks: --disk
# Four disks in one guest (scripts/disk.sh): what Linux sees, the bytes it
# reads and writes, what the image files hold afterwards, and vm/disks/.
val() { sed -n "s/^$2 //p" "$work/$1" | head -n 1; }	# val FILE KEY
fsval() { sed -n "s/^$1 $2 //p" "$work/disk.fs" | head -n 1; }
if [[ ! -e $work/disk.rc ]]; then
	notok "disk: not run"
else
	if [[ $(cat "$work/disk.rc") != 0 ]]; then
		echo "# kvmem run (disk) stderr:"
		diag <"$work/disk.err"
		diag <"$work/disk.brd"
		tail -n 30 "$work/disk.out" | diag
	fi
	check "disk: exit status 0" test "$(cat "$work/disk.rc")" = 0
	check "disk: vda 32 MiB read-write, vdb read-only, vdc with serial EXT4DISK, vdd 8 MiB (512-byte sectors, discard on all but the read-only one)" \
		test "$(line disk 'blk vda')$(line disk 'blk vdb')$(line disk 'blk vdc')$(line disk 'blk vdd')" = \
		"KVMEM-GUEST blk vda size=65536 ro=0 serial= lbs=512 discard=2147483648KVMEM-GUEST blk vdb size=8192 ro=1 serial= lbs=512 discard=0KVMEM-GUEST blk vdc size=32768 ro=0 serial=EXT4DISK lbs=512 discard=2147483648KVMEM-GUEST blk vdd size=16384 ro=0 serial= lbs=512 discard=2147483648"
	check "disk: the guest reads the host's bytes (vda sha256 = the host's)" \
		test "$(line disk vda-sum)" = "KVMEM-GUEST vda-sum $rw_sum"
	check "disk: ... and on the read-only disk (vdb)" \
		test "$(line disk vdb-sum)" = "KVMEM-GUEST vdb-sum $ro_sum"
	check "disk: the guest writes 4 MiB and syncs" \
		test "$(line disk vda-write)$(line disk vda-sync)" = "KVMEM-GUEST vda-write rc=0KVMEM-GUEST vda-sync rc=0"
	check "disk: the host file holds the guest's pattern after kvmem exits" \
		test "$(val disk.host pattern-file)" = "$(val disk.host pattern-want)"
	check "disk: the read-only disk refuses the guest's write ($(line disk vdb-write))" \
		grep -qE '^KVMEM-GUEST vdb-write rc=[1-9]' <<<"$(line disk vdb-write)"
	check "disk: ... and its file is unchanged" test "$(val disk.host ro-after)" = "$ro_sum"
	check "disk: blkdiscard succeeds and the range reads back zero" \
		test "$(line disk vda-discard)$(line disk vda-discarded-nonzero)" = \
		"KVMEM-GUEST vda-discard rc=0KVMEM-GUEST vda-discarded-nonzero 0"
	before=$(val disk.host blocks-before) after=$(val disk.host blocks-after)
	echo "# rw.img allocated 512-byte blocks: ${before:-?} before, ${after:-?} after (16 MiB discarded = 32768)"
	if [[ -n $before && -n $after ]] && ((before - after >= 30000)); then
		ok "disk: discard punched holes in the host file (its blocks fell by $((before - after)))"
	else
		notok "disk: discard punched holes in the host file (${before:-?} -> ${after:-?} blocks)"
	fi
	check "disk: the guest mounts the host's ext4 image (mke2fs -d)" \
		test "$(line disk ext4-mount)" = "KVMEM-GUEST ext4-mount rc=0"
	check "disk: ... and reads its text file" \
		test "$(line disk ext4-hello)" = "KVMEM-GUEST ext4-hello hello from the host's ext4 image"
	check "disk: ... and its 1 MiB of data, byte exact" \
		test "$(line disk ext4-data)" = "KVMEM-GUEST ext4-data $data_sum"
	check "disk: a RAM block device behind cache=none (O_DIRECT): the guest writes and reads back" \
		test "$(line disk vdd-write)$(line disk vdd-sum)" = "KVMEM-GUEST vdd-write rc=0KVMEM-GUEST vdd-sum $(val disk.host ram-want)"
	check "disk: ... and the block device holds it after kvmem exits" \
		test -n "$(val disk.host ram-file)" -a "$(val disk.host ram-file)" = "$(val disk.host ram-want)"
	check "disk: vm/disks/vda/{path,size,readonly,serial} while the guest runs" \
		test "$(fsval vda path | sed 's|.*/||') $(fsval vda size) $(fsval vda readonly) [$(fsval vda serial)]" = "rw.img 33554432 0 []"
	check "disk: vm/disks/vdb/readonly 1, vdc/serial EXT4DISK" \
		test "$(fsval vdb readonly) $(fsval vdc serial)" = "1 EXT4DISK"
	check "disk: cache: writeback on tmpfs (no O_DIRECT on 6.1), none on the block device; engine io_uring" \
		test "$(fsval vda cache) $(fsval vdd cache) $(fsval vda engine)" = "writeback none io_uring"
	read -ra st <<<"$(fsval vda stat)"
	echo "# vm/disks/vda/stat: ${st[*]}"
	if ((${#st[@]} == 17 && st[0] > 0 && st[2] > 0 && st[4] > 0 && st[6] >= 8192 &&
	      st[11] >= 1 && st[13] >= 32768 && st[15] >= 1 && st[8] == 0)); then
		ok "disk: vm/disks/vda/stat has /sys/block/DEV/stat's 17 fields: reads, 4 MiB+ written, the discard, a flush, nothing in flight"
	else
		notok "disk: vm/disks/vda/stat has /sys/block/DEV/stat's 17 fields with the guest's I/O (${#st[@]} fields)"
	fi
	check "disk: the guest's script ended with status 0" \
		test "$(line disk run-status)" = "KVMEM-GUEST run-status 0"
	check "disk: the --mount is gone after the run" \
		not grep -q "still mounted" "$work/disk.fs"

	# kill -9 after sync
	check "kill: the guest wrote and synced" \
		test "$(line kill kill-write)$(line kill synced)" = "KVMEM-GUEST kill-write rc=0KVMEM-GUEST synced"
	check "kill: the disk ran on the synchronous fallback (KVMEM_KIO_SYNC=1: vm/disks/vda/engine)" \
		test "$(val kill.fs engine)" = "sync"
	read -ra st <<<"$(val kill.fs stat)"
	check "kill: the guest's fsync reached the host as a flush before the kill (stat: ${st[15]:-?} flushes)" \
		test "${st[15]:-0}" -ge 1
	check "kill: kvmem died of SIGKILL (status 137)" test "$(cat "$work/kill.rc")" = 137
	check "kill: the synced bytes are in the file after kill -9" \
		test -n "$(val kill.fs kill-file)" -a "$(val kill.fs kill-file)" = "$(val kill.fs kill-want)"
fi

# ------------------------------------------------------------- bad input
while read -r name; do
	rc=$(cat "$work/$name.rc") lines=$(wc -l <"$work/$name.err")
	if ((rc != 0 && rc < 124)) && [[ $lines == 1 && ! -s $work/$name.left ]]; then
		ok "$name: status $rc, one line: $(cat "$work/$name.err")"
	else
		notok "$name: status $rc (want 1-123), $lines stderr lines (want 1), leftovers below"
		diag <"$work/$name.err"
		diag <"$work/$name.left"
	fi
done <"$work/bad.list"

# ---------------------------------------------------------- host binding
# numa_maps: one line per mapping, "N1=PAGES" per host node. The pool is
# the memfd mapping (else the mapping) with the most pages; all of its
# touched pages must be on node 1.
if [[ -e $work/bind.rc ]]; then
	check "bind: exit status 0" test "$(cat "$work/bind.rc")" = 0
	# a guest that ends early (panic=-1: a panic is a reset, status 0)
	# shows why: its boot trace and last console lines (quiet still
	# prints a panic or an oops)
	if [[ $(line bind token) != "KVMEM-GUEST token $token" ]]; then
		notok "bind: the guest reached the initrd's token ($(cat "$work/bind.time" 2>/dev/null) s)"
		diag <"$work/bind.err"
		tail -n 40 "$work/bind.out" | tr -d '\r' | diag
	fi
	maps=$work/bind.numa_maps
	grep -q memfd "$maps" 2>/dev/null && { grep memfd "$maps" >"$maps.pool"; maps=$maps.pool; }
	read -r n0 n1 < <(awk '{
			p0 = p1 = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^N0=/) p0 = substr($i, 4)
				if ($i ~ /^N1=/) p1 = substr($i, 4)
			}
			if (p0 + p1 > best) { best = p0 + p1; b0 = p0; b1 = p1 }
		} END { print b0 + 0, b1 + 0 }' "$maps" 2>/dev/null)
	echo "# bound pool: ${n1:-0} pages on host node 1, ${n0:-0} on node 0"
	if ((${n1:-0} >= 1024 && ${n0:-0} == 0)); then
		ok "bind: the pool's touched pages are on host node 1 ($n1 pages)"
	else
		notok "bind: the pool's touched pages are on host node 1 (node1=${n1:-0} node0=${n0:-0})"
		diag <"$work/bind.err"
	fi
	check "bind: nodes/online reads 0 through --mount while the guest runs" \
		grep -qx "online=0" "$work/bind.fs"
	check "bind: the --mount is gone after the run" \
		not grep -q "still mounted" "$work/bind.fs"
	# KASLR on the direct path: the guest's _text = kvmem's virtual base
	base=$(sed -n 's/^kvmem run: boot direct (xz payload, cached).*KASLR.*virtual base 0x\([0-9a-f]*\).*/\1/p' "$work/bind.err")
	text=$(line bind text | sed -n 's/^KVMEM-GUEST text \([0-9a-f]*\)$/\1/p')
	echo "# bind: kvmem's virtual base ${base:-none}, the guest's _text ${text:-none}"
	if [[ -n $base && $base == "$text" ]]; then
		ok "bind: KASLR on the direct path, from the cache: the guest runs at kvmem's virtual base 0x$base"
	else
		notok "bind: KASLR on the direct path: kvmem's base ${base:-none}, the guest's _text ${text:-none}"
		diag <"$work/bind.err"
	fi
	# The guest's RAM is the VM's: the shell cannot take it away.
	check "bind: rmdir of guest RAM under the running guest fails" \
		grep -qx "rmdir=1" "$work/bind.fs"
	check "bind: ... with EBUSY" \
		grep -q "vm.ram0.*Device or resource busy" "$work/bind.owned-err"
	check "bind: allocations/error names the owner" \
		grep -qx "error=err vm.ram0 EBUSY owned by the vm (guest RAM, node 0)" "$work/bind.fs"
	check "bind: free vm.ram0 through ctl fails" grep -qx "free=1" "$work/bind.fs"
	check "bind: guest RAM is still allocated after both" \
		grep -qx "ram=still there" "$work/bind.fs"
	check "bind: its spec says owner=vm" grep -q "^spec=node=0 .* owner=vm$" "$work/bind.fs"
	check "bind: a user allocation named ram0 is made and leaves vm/e820 as it was" \
		test "$(grep -c '^useralloc=0$\|^e820=unchanged$' "$work/bind.fs")" = 2
	check "bind: the guest kept running to its end after all that" \
		grep -aq '^KVMEM-GUEST done' <(tr -d '\r' <"$work/bind.out")
	[[ -s $work/bind.owned-err ]] && diag <"$work/bind.owned-err"
else
	notok "bind: not run (the outer VM has no host node 1)"
fi

# ---------------------------------------------------------- KASLR edges
# KVMEM_TEST_KASLR=max:max (a -Dtest_hooks=true build): the highest
# physical slot and the highest virtual one (the top 64 MiB of the 1 GiB
# kernel mapping for any kernel up to 64 MiB) boot to the token.
if [[ -e $work/kaslr-max.rc ]]; then
	check "kaslr-max: exit status 0" test "$(cat "$work/kaslr-max.rc")" = 0
	check "kaslr-max: the initrd's file (token)" \
		test "$(line kaslr-max token)" = "KVMEM-GUEST token $token"
	base=$(sed -n 's/^kvmem run: boot direct.*KASLR.*virtual base 0x\([0-9a-f]*\).*/\1/p' "$work/kaslr-max.err")
	text=$(line kaslr-max text | sed -n 's/^KVMEM-GUEST text \([0-9a-f]*\)$/\1/p')
	echo "# kaslr-max: $(sed -n 's/^kvmem run: boot direct[^,]*, \(kernel at [^;]*\);.*/\1/p' "$work/kaslr-max.err")"
	if [[ -n $base && $base == "$text" && $base > ffffffffbbffffff && $base < ffffffffc0000000 ]]; then
		ok "kaslr-max: the guest runs at the highest virtual slot kvmem chose, 0x$base"
	else
		notok "kaslr-max: kvmem's base ${base:-none}, the guest's _text ${text:-none} (want equal, in the top 64 MiB)"
		diag <"$work/kaslr-max.err"
		tail -n 20 "$work/kaslr-max.out" | diag
	fi
fi

# ------------------------------------------------------- a libvirt domain
# examples/domain.xml: 2 vCPUs, cells of 512 MiB with vCPU 0 and vCPU 1, a
# 64 MiB CMA area on node 1 (kvmem's metadata), the uuid 5b2f2d1e-...
if [[ -e $work/domain.rc ]]; then
	[[ $(cat "$work/domain.rc") == 0 ]] || { diag <"$work/domain.err"; tail -n 20 "$work/domain.out" | diag; }
	check "domain: exit status 0 after the guest powers off" \
		test "$(cat "$work/domain.rc")" = 0
	check "domain: 2 CPUs online" \
		test "$(line domain cpus)" = "KVMEM-GUEST cpus online=0-1 count=2"
	check "domain: exactly nodes 0 and 1 online" \
		test "$(grep -ac '^KVMEM-GUEST node' "$work/domain.out")" = 2
	for c in 0 1; do
		check "domain: the guest's node $c has vCPU $c, as its cell says" \
			test "$(line domain "cell $c ")" = "KVMEM-GUEST cell $c cpus=$c"
	done
	# what the guest manages of each cell: node 1 less its CMA area
	for c in 0 1; do
		kb=$((c ? 458752 : 524288)) got=$(memtotal domain "$c")
		echo "# domain node $c MemTotal: ${got:-none} kB of $kb kB"
		if [[ -n $got ]] && ((got * 100 >= kb * 85 && got <= kb)); then
			ok "domain: node $c MemTotal $got kB is 85-100 % of its $kb kB"
		else
			notok "domain: node $c MemTotal ${got:-none} kB is 85-100 % of its $kb kB"
		fi
	done
	check "domain: the guest's vda is the <disk>: 8192 sectors, read-write, the image's bytes" \
		test "$(line domain domain-vda)" = "KVMEM-GUEST domain-vda size=8192 ro=0 sum=$(sum "$work/domain-vda.img")"
	check "domain: the <rng> is the guest's hardware RNG (virtio_rng)" \
		grep -q '^KVMEM-GUEST domain-hwrng virtio_rng' <<<"$(line domain domain-hwrng)"
	check "domain: vm/name is the domain's name, node 1's CMA area its metadata's 64M" \
		grep -qx "name=numa-demo cma=67108864" "$work/domain.fs"
	xmllint --noout --relaxng /usr/share/libvirt/schemas/domain.rng "$work/domain-vm.xml" \
		>"$work/domain-vm.valid" 2>&1
	check "domain: vm/domain.xml is valid for libvirt's schema (xmllint)" \
		grep -qx "$work/domain-vm.xml validates" "$work/domain-vm.valid"
	grep -qx "$work/domain-vm.xml validates" "$work/domain-vm.valid" || diag <"$work/domain-vm.valid"
	check "domain: vm/domain.xml keeps the domain's uuid" \
		grep -q "<uuid>5b2f2d1e-8a8e-4c55-9d2e-6f1a3c2b7e10</uuid>" "$work/domain-vm.xml"
	want="kvmem run --kernel $kernel --initrd $work/initramfs.cpio --cmdline 'console=ttyS0 quiet panic=-1 nokaslr kvmem.run=domain kvmem.hold=2' --cpus 2 --numa 0:512M,1:512M --cma 1:64M --console stdio --name numa-demo --rng --disk $work/domain-vda.img"
	check "domain: kvmem domain maps the XML to: $want" \
		test "$("$kvmem" domain "$work/domain.xml")" = "$want"
	got=$("$kvmem" domain "$work/domain-vm.xml" 2>&1)
	[[ $got == "$want" ]] || echo "$got" | diag
	check "domain: kvmem domain maps vm/domain.xml back to the same command" \
		test "$got" = "$want"
	check "domain: the --mount is gone after the run" \
		not grep -q "still mounted" "$work/domain.fs"
else
	notok "domain: not run"
fi

# ------------------------------------------------------- the balloon
# scripts/balloon.sh and the hook's record (balloon.fs): free page
# reporting, inflate and deflate through vm/balloon/target, the guest's
# statistics, and an unbound driver.
bval() { sed -n "s/^$1 .*$2=\([0-9]*\).*/\1/p" "$work/balloon.fs" | head -n 1; }	# bval PHASE KEY
gval() { line balloon "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }		# gval LINE KEY
if [[ ! -e $work/balloon.rc ]]; then
	notok "balloon: not run"
else
	if [[ $(cat "$work/balloon.rc") != 0 ]]; then
		echo "# kvmem run (balloon) stderr:"
		diag <"$work/balloon.err"
		tail -n 30 "$work/balloon.out" | diag
	fi
	diag <"$work/balloon.fs"
	grep -a '^KVMEM-GUEST balloon-' "$work/balloon.out" | tr -d '\r' | diag
	check "balloon: exit status 0, the guest ran to its end" \
		test "$(cat "$work/balloon.rc")$(line balloon done)" = "0KVMEM-GUEST done"
	check "balloon: on by default; Linux binds virtio_balloon (device 5, status 0xf)" \
		grep -qE '^KVMEM-GUEST balloon-dev virtio[0-9]+ driver=virtio_balloon status=0x0000000f$' <<<"$(line balloon balloon-dev)"
	r0=$(bval filled rss) r1=$(bval freed rss) after=$(sed -n 's/^freed .*after=\([0-9.]*\).*/\1/p' "$work/balloon.fs")
	check "balloon: reporting: 200 MiB freed in the guest, kvmem's VmRSS falls by >= 150 MiB within 10 s (${r0:-?} -> ${r1:-?} kB in ${after:-?} s)" \
		test -n "$r0" -a -n "$r1" -a "$(( ${r0:-0} - ${r1:-0} ))" -ge 153600 -a "${after%%.*}" -lt 11
	rep0=$(sed -n 's/^filled .*reported=total \([0-9]*\).*/\1/p' "$work/balloon.fs")
	rep1=$(sed -n 's/^reported-total \([0-9]*\)$/\1/p' "$work/balloon.fs")
	rel=$(sed -n 's/^reported-released \([0-9]*\)$/\1/p' "$work/balloon.fs")
	check "balloon: vm/balloon/reported grows by >= 150 MiB (${rep0:-?} -> ${rep1:-?} bytes, ${rel:-?} still released)" \
		test -n "$rep0" -a -n "$rep1" -a "$(( ${rep1:-0} - ${rep0:-0} ))" -ge 157286400 -a "${rel:-0}" -gt 0
	check "balloon: target 128M accepted and read back" \
		test "$(grep -c '^target-128M ok$' "$work/balloon.fs")$(sed -n 's/^target //p' "$work/balloon.fs")" = "1134217728"
	ra=$(bval dirty rss) rb=$(bval inflated rss)
	check "balloon: actual reaches 128M ($(sed -n 's/^inflated .*after=//p' "$work/balloon.fs") s)" \
		test "$(bval inflated actual)" = 134217728
	check "balloon: ... and kvmem's VmRSS falls by >= 64 MiB, reporting held (${ra:-?} -> ${rb:-?} kB; $(line balloon balloon-hold))" \
		test -n "$ra" -a -n "$rb" -a "$(( ${ra:-0} - ${rb:-0} ))" -ge 65536
	bk=$(sed -n 's/^meminfo Node 0 Ballooned: *\([0-9]*\) kB$/\1/p' "$work/balloon.fs")
	# Linux balloons some pages of its kernel's and initrd's early ranges
	# (freed init memory): refused, so Ballooned is that much short of 128M
	# (10.6 MiB of it in the run that set this bound at 96 MiB)
	check "balloon: nodes/node0/meminfo: Ballooned ${bk:-?} kB, 96 to 128 MiB (pages in early ranges refused)" \
		test -n "$bk" -a "${bk:-0}" -ge 98304 -a "${bk:-0}" -le 131072
	t0=$(gval balloon-dirty memtotal) ti=$(gval balloon-inflated memtotal) td=$(gval balloon-deflated memtotal)
	check "balloon: the guest's MemTotal falls by 128 MiB, then comes back (${t0:-?} -> ${ti:-?} -> ${td:-?} kB)" \
		test -n "$t0" -a "$(( ${t0:-0} - ${ti:-0} ))" = 131072 -a "${td:-x}" = "${t0:-y}"
	check "balloon: a target above guest RAM (1G of 512M) is refused" \
		grep -qx 'target-1G refused' "$work/balloon.fs"
	check "balloon: target 0: actual back to 0" test "$(bval deflated actual)" = 0
	check "balloon: the guest fills 200 MiB again after the deflate ($(line balloon balloon-refill))" \
		test "$(gval balloon-refill rc)" = 0 -a "$(gval balloon-refill size)" -ge 204800
	gt=$(gval balloon-stats memtotal) gf=$(gval balloon-stats memfree)
	st=$(sed -n 's/^stats MemTotal: *\([0-9]*\) kB$/\1/p' "$work/balloon.fs")
	sf=$(sed -n 's/^stats MemFree: *\([0-9]*\) kB$/\1/p' "$work/balloon.fs")
	check "balloon: stats MemTotal = the guest's /proc/meminfo (${st:-?} / ${gt:-?} kB)" \
		test -n "$st" -a "$st" = "$gt"
	check "balloon: stats MemFree within 5 % of the guest's (${sf:-?} / ${gf:-?} kB)" \
		test -n "$sf" -a -n "$gf" -a "$(( (${sf:-0} - ${gf:-0}) * 100 / (${gf:-1} ? ${gf:-1} : 1) ))" -le 5 -a \
		"$(( (${gf:-0} - ${sf:-0}) * 100 / (${gf:-1} ? ${gf:-1} : 1) ))" -le 5
	check "balloon: stats has the guest's figures (MemAvailable, Cached, MinorFaults) and their age" \
		test "$(grep -cE '^stats (MemAvailable|Cached|MinorFaults|Age):' "$work/balloon.fs")" = 4
	check "balloon: nothing Linux sent was refused but pages of its early ranges ($(grep -E '^refused-early' "$work/balloon.fs"))" \
		test "$(grep -E '^refused-' "$work/balloon.fs" | grep -v '^refused-early' | tr '\n' ' ')" = "refused-outside 0 refused-misaligned 0 refused-state 0 refused-buffer 0 refused-discard_failed 0 refused-unplugged 0 "
	check "balloon: the driver unbinds (device reset) and the guest powers off cleanly" \
		test "$(gval balloon-unbound rc)$(line balloon run-status)" = "0KVMEM-GUEST run-status 0"
	check "balloon: the --mount is gone after the run" \
		not grep -q "still mounted" "$work/balloon.fs"
fi

# ------------------------------------------------------------ vCPU start
if [[ -n ${KVMEM_VCPU_START:-} ]]; then
	if [[ -e $work/vcpu-start.rc ]]; then
		check "vcpu-start: a failed vCPU start leaves the VM as it was ($(grep -c '^ok' "$work/vcpu-start.out") checks)" \
			test "$(cat "$work/vcpu-start.rc")" = 0
		grep -v '^ok' "$work/vcpu-start.out" | diag
	else
		notok "vcpu-start: not run"
	fi
fi

# ---------------------------------------------------------------- seccomp
# README "Security". fenced FILE: every thread line of a seccomp_status
# dump (kvmem-cases.sh) under exactly one filter, no new privileges, no
# effective capability.
fenced() {
	[[ -s $1 ]] && ! grep -v ' NoNewPrivs:1 Seccomp:2 Seccomp_filters:1' "$1" | grep -q . &&
		! grep -v ' CapEff:0000000000000000 ' "$1" | grep -q .
}
if [[ -e $work/seccomp-on.status ]]; then
	check "seccomp: the disk guest's $(wc -l <"$work/seccomp-on.status") threads (main, vCPU, 4 disk workers, FUSE workers) each under one filter, NoNewPrivs, CapEff 0 (--seccomp on, the default)" \
		fenced "$work/seccomp-on.status"
	fenced "$work/seccomp-on.status" || diag <"$work/seccomp-on.status"
	check "seccomp: the main thread keeps no effective capability, only the unmount's in CapPrm" \
		grep -q '^kvmem .*CapPrm:0000000000200004 CapEff:0000000000000000' "$work/seccomp-on.status"
else
	notok "seccomp: the disk case recorded no thread status"
fi
# the calls the trigger makes, the thread each names
declare -A trip_what=([vcpu]='vCPU 0 thread called ioctl \(system call 16\)'
	[device]='device vio-[a-z0-9]+ thread called execve \(system call 59\)'
	[fuse]='FUSE worker thread called mmap \(system call 9\)'
	[console]='console input thread called execve \(system call 59\)'
	[main]='main thread called mmap \(system call 9\)')
logged=  # the trip in log mode left its record: dmesg can show violations
if [[ -n ${KVMEM_TEST_HOOKS:-} && -n $flat ]]; then
	for k in vcpu device fuse console main; do
		check "seccomp: a forbidden call in the $k thread: kvmem exits 159 (128 + SIGSYS)" \
			test "$(cat "$work/trip-$k.rc")" = 159
		grep -a seccomp "$work/trip-$k.err" >"$work/trip-$k.line"
		check "seccomp: $k: one line naming the thread and the call" \
			grep -qxE "kvmem: seccomp: the ${trip_what[$k]}, which its allowlist forbids: kvmem stopped" "$work/trip-$k.line"
		[[ $(wc -l <"$work/trip-$k.line") == 1 ]] || diag <"$work/trip-$k.err"
	done
	check "seccomp: a trip after the mount leaves it stale (vcpu, fuse, main)" \
		test "$(cat "$work"/trip-{vcpu,fuse,main}.fs 2>/dev/null)" = $'stale\nstale\nstale'
	# (the device and console trips race main to the mount step: only the
	# log run after main's trip is sure to find the mount stale)
	check "seccomp: the next start clears it (the log run after main's trip)" \
		grep -q 'cleared a stale mount' "$work/trip-log.err"
	check "seccomp: --seccomp log lets the same call through: the flat guest runs to its end (status 0)" \
		test "$(cat "$work/trip-log.rc")" = 0
	pid=$(awk '$2 == "trip-log" { print $1 }' "$work/seccomp.pids")
	if grep -q "type=1326.* pid=$pid .*syscall=16 " "$work/seccomp.dmesg"; then
		logged=1
		ok "seccomp: --seccomp log: the kernel logged the call (dmesg, audit type 1326)"
	else
		notok "seccomp: --seccomp log: the kernel logged the call (dmesg, audit type 1326; actions_logged: $(cat "$work/seccomp.actions" 2>/dev/null))"
	fi
else
	echo "# seccomp: trip cases skipped (built without -Dtest_hooks=true, or no flat guest)"
fi
if [[ -e $work/seccomp-log.rc ]]; then
	[[ $(cat "$work/seccomp-log.rc") == 0 ]] || { diag <"$work/seccomp-log.err"; tail -n 20 "$work/seccomp-log.out" | diag; }
	check "seccomp-log: a Linux guest under --seccomp log with --rng, --disk, --mount exits 0" \
		test "$(cat "$work/seccomp-log.rc")" = 0
	check "seccomp-log: its device script ran (rng, reset, disk read/write/flush/discard, O_DIRECT)" \
		test "$(line seccomp-log 'vda-discard')$(line seccomp-log 'vda-direct')" = "KVMEM-GUEST vda-discard rc=0KVMEM-GUEST vda-direct rc=0"
	check "seccomp-log: the mount under it: allocation, free, pause, resume" \
		test "$(tr '\n' ' ' <"$work/seccomp-log.fs")" = "alloc=ok free=ok state=paused state=running "
	check "seccomp-log: every thread under one filter, NoNewPrivs, CapEff 0" \
		fenced "$work/seccomp-log.status"
	pid=$(cat "$work/seccomp-log.pid" 2>/dev/null)
	if [[ -n $logged && -n $pid ]]; then
		check "seccomp-log: the kernel logged no call of it outside the lists" \
			not grep -q "type=1326.* pid=$pid " "$work/seccomp.dmesg"
		grep "type=1326.* pid=$pid " "$work/seccomp.dmesg" | head -20 | diag
	else
		echo "# seccomp-log: no proof that this kernel logs (trip-log), no verdict on completeness"
	fi
	# every record of the whole outer run comes from a run that tripped on purpose
	others=$(grep -a 'comm="kvmem"' "$work/seccomp.dmesg" | grep -vE " pid=($(awk '{ print $1 }' "$work/seccomp.pids" | paste -sd'|')) ")
	check "seccomp: no other kvmem run of the suite made a call outside its list (dmesg)" \
		test -z "$others"
	[[ -z $others ]] || echo "$others" | head -20 | diag
else
	notok "seccomp-log: not run"
fi
# --------------------------------------------------- hotplug: virtio-mem
# Node 1 grows and shrinks through nodes/node1/hotplug/requested
# (scripts/hotplug.sh in the guest, hotplug_hook in kvmem-cases.sh).
hpv() { sed -n "s/^$1 .*\b$2=\([0-9]*\).*/\1/p" "$work/hotplug.fs" | head -n 1; }
gkv() { line hotplug "$1" | sed -n "s/.*\b$2=\([0-9]*\).*/\1/p"; }
if [[ ! -e $work/hotplug.rc ]]; then
	notok "hotplug: not run"
else
	if [[ $(cat "$work/hotplug.rc") != 0 ]]; then
		echo "# kvmem run (hotplug) stderr:"
		diag <"$work/hotplug.err"
		tail -n 30 "$work/hotplug.out" | diag
	fi
	grep -a 'KVMEM-GUEST hp-' "$work/hotplug.out" | tr -d '\r' | diag
	diag <"$work/hotplug.fs"
	check "hotplug: exit status 0" test "$(cat "$work/hotplug.rc")" = 0
	check "hotplug: the guest bound virtio_mem to device 24 (status 0xf)" \
		test "$(line hotplug hp-dev)" = "KVMEM-GUEST hp-dev device=0x0018 driver=virtio_mem status=0x0000000f"
	check "hotplug: region 1 GiB at 4.5 GiB (after node 1's RAM), 2 MiB blocks" \
		grep -qx "region=0x120000000 0x40000000 block_size=2097152" "$work/hotplug.fs"
	check "hotplug: echo 3M > requested (not whole blocks) fails" \
		grep -q "odd-requested=1" "$work/hotplug.fs"
	check "hotplug: echo 2G > requested (past the region) fails" grep -q "big-requested=1" "$work/hotplug.fs"
	check "hotplug: allocations/ctl cannot allocate inside the region" \
		grep -q "ctl-in-region=1" "$work/hotplug.fs"
	b=$(gkv hp-base MemTotal) g=$(gkv hp-grown MemTotal) s=$(gkv hp-shrunk MemTotal)
	bf=$(gkv hp-base MemFree) gf=$(gkv hp-grown MemFree)
	echo "# node 1 MemTotal: ${b:-?} kB -> ${g:-?} kB -> ${s:-?} kB; MemFree ${bf:-?} -> ${gf:-?} kB"
	if [[ -n $b && -n $g ]]; then
		grow=$((g - b))
		echo "# grew by $grow kB (512 MiB = 524288 kB); its memmap came out of MemFree: $((bf + 524288 - gf)) kB"
		check "hotplug: node 1 MemTotal grew by 512 MiB less at most 16 MiB ($grow kB)" \
			test "$grow" -le 524288 -a "$grow" -ge $((524288 - 16384))
	else
		notok "hotplug: node 1 MemTotal grew (no figures)"
	fi
	check "hotplug: node 1 MemTotal back to ${b:-?} kB (${s:-?} kB)" test -n "$s" -a "$s" = "$b"
	check "hotplug: plugged read 512M, the bitmap 256 blocks, meminfo HotplugPlugged 524288 kB once grown" \
		test "$(hpv grown plugged)/$(hpv grown bitmap-ones)/$(hpv grown HotplugPlugged)/$(hpv grown HotplugTotal)" = "536870912/256/524288/1048576"
	check "hotplug: plugged reads 0 after echo 0 (bitmap empty, HotplugPlugged 0)" \
		test "$(hpv shrunk plugged)/$(hpv shrunk bitmap-ones)/$(hpv shrunk HotplugPlugged)" = "0/0/0"
	r0=$(hpv base rss) r1=$(hpv filled rss) r2=$(hpv shrunk rss)
	echo "# kvmem RssAnon+RssShmem: ${r0:-?} kB before, ${r1:-?} kB with 256 MiB written in plugged memory, ${r2:-?} kB after unplug"
	if [[ -n $r0 && -n $r1 && -n $r2 ]]; then
		check "hotplug: the 256 MiB the guest wrote show in kvmem's RSS (+$((r1 - r0)) kB)" \
			test $((r1 - r0)) -ge $((200 * 1024))
		check "hotplug: kvmem's RSS falls back after the unplug (within 32 MiB of before: $((r2 - r0)) kB)" \
			test $((r2 - r0)) -le $((32 * 1024))
	else
		notok "hotplug: RSS figures missing"
	fi
	# free page reporting in plugged memory (the balloon is on by default)
	mv=$(gkv hp-filled movable) f=$(hpv filled Reported) p=$(hpv reported Reported)
	q=$(hpv shrunk Reported) r3=$(hpv reported rss)
	t0=$(hpv filled reptotal) t1=$(hpv reported reptotal)
	echo "# node 1 Reported: ${f:-?} kB filled, ${p:-?} kB $(sed -n 's/^reported after=\([0-9.]*\).*/\1/p' "$work/hotplug.fs") s after the rm, ${q:-?} kB unplugged; vm/balloon/reported total ${t0:-?} -> ${t1:-?}"
	grep '^refused ' "$work/hotplug.fs" | diag
	check "hotplug: >= 200 MiB of the 256 MiB tmpfs were in node 1's Movable zone, the plugged memory (${mv:-?} kB)" \
		test "${mv:-0}" -ge $((200 * 1024))
	if [[ -n $f && -n $p && -n $q && -n $r1 && -n $r3 && -n $t0 && -n $t1 ]]; then
		check "hotplug: removed, it is reported and released before the unplug: node 1 Reported +$((p - f)) kB (>= 200 MiB), vm/balloon/reported total +$(((t1 - t0) >> 10)) kB" \
			test $((p - f)) -ge $((200 * 1024)) -a $(((t1 - t0) >> 10)) -ge $((200 * 1024))
		check "hotplug: ... and kvmem's RSS falls by >= 200 MiB before the unplug ($((r1 - r3)) kB)" \
			test $((r1 - r3)) -ge $((200 * 1024))
		check "hotplug: the unplug takes the released blocks out of node 1's Reported (-$((p - q)) kB, >= 200 MiB)" \
			test $((p - q)) -ge $((200 * 1024))
	else
		notok "hotplug: free page reporting figures missing"
	fi
	check "hotplug: the --mount is gone after the run" not grep -q "still mounted" "$work/hotplug.fs"
fi

echo "1..$n"
((failed == 0))
