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
#   domain   examples/domain.xml (kvmem run --domain, with this run's
#            kernel and initramfs): the guest sees its cells (CPUs and
#            memory per node), vm/domain.xml read while it runs is valid
#            for libvirt's schema and maps back to the same command
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
"$here/mkinitramfs" "$work/initramfs.cpio" "$token" || { echo "Bail out! mkinitramfs failed"; exit 1; }
"$here/extract-vmlinux" "$kernel" "$work/vmlinux" || { echo "Bail out! extract-vmlinux failed"; exit 1; }
# The libvirt domain case: examples/domain.xml with this run's kernel,
# initramfs and a command line that holds the guest 2 s.
example=$here/../../examples/domain.xml
sed -e "s|<kernel>[^<]*</kernel>|<kernel>$kernel</kernel>|" \
	-e "s|<initrd>[^<]*</initrd>|<initrd>$work/initramfs.cpio</initrd>|" \
	-e "s|<cmdline>[^<]*</cmdline>|<cmdline>console=ttyS0 quiet panic=-1 nokaslr kvmem.hold=2</cmdline>|" \
	"$example" >"$work/domain.xml"

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
	check "domain: vm/name is the domain's name, node 1's CMA area its metadata's 64M" \
		grep -qx "name=numa-demo cma=67108864" "$work/domain.fs"
	xmllint --noout --relaxng /usr/share/libvirt/schemas/domain.rng "$work/domain-vm.xml" \
		>"$work/domain-vm.valid" 2>&1
	check "domain: vm/domain.xml is valid for libvirt's schema (xmllint)" \
		grep -qx "$work/domain-vm.xml validates" "$work/domain-vm.valid"
	grep -qx "$work/domain-vm.xml validates" "$work/domain-vm.valid" || diag <"$work/domain-vm.valid"
	check "domain: vm/domain.xml keeps the domain's uuid" \
		grep -q "<uuid>5b2f2d1e-8a8e-4c55-9d2e-6f1a3c2b7e10</uuid>" "$work/domain-vm.xml"
	want="kvmem run --kernel $kernel --initrd $work/initramfs.cpio --cmdline 'console=ttyS0 quiet panic=-1 nokaslr kvmem.hold=2' --cpus 2 --numa 0:512M,1:512M --cma 1:64M --console stdio --name numa-demo"
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

echo "1..$n"
((failed == 0))
