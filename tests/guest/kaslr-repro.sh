#!/usr/bin/env bash
# kaslr-repro.sh - boot the `bind` case's KASLR configuration many times in
# ONE outer VM and keep each run's boot trace and last console lines.
#
# Usage: kaslr-repro.sh KVMEM [RANDOM_RUNS]
# (KVMEM_REPRO_QUIET=1: as the bind case, quiet, random placements only;
# a panic still prints). The kernel cache is on, as in the guest suite.   (KVMEM built -Dtest_hooks=true
# to honour the pinned placements: KVMEM_TEST_KASLR=PHYS:VIRT)
# Prints one line per run: placement, status, seconds, trace; then the
# console tail of each run that did not print the initrd's token.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
if [[ ${1:-} == --inner ]]; then
	kvmem=$2 work=$3 kernel=$4 initrd=$5 nrand=$6
	pins=(max:max)
	[[ -z ${KVMEM_REPRO_QUIET:-} ]] && pins=(4200000:ffffffff90000000 max:max
		max:ffffffff81000000 1000000:max 4200000:max max:ffffffff90000000)
	for ((i = 0; i < nrand; i++)); do pins+=(random); done
	ll=7
	[[ -n ${KVMEM_REPRO_QUIET:-} ]] && ll=4
	i=0
	for pin in "${pins[@]}"; do
		i=$((i + 1))
		env=(KVMEM_BOOT_TRACE=1 KVMEM_KERNEL_CACHE=$work/kcache)
		[[ $pin != random ]] && env+=(KVMEM_TEST_KASLR=$pin)
		t=$SECONDS rc=0
		env "${env[@]}" timeout -k 5 90 "$kvmem" run --kernel "$kernel" --initrd "$initrd" \
			--cmdline "console=ttyS0 ${KVMEM_REPRO_QUIET:+quiet }panic=-1 loglevel=$ll earlyprintk=serial kvmem.text=1" \
			--cpus 1 --numa 0:256M@1 --headroom 0:8M --console stdio \
			</dev/null >"$work/run$i.out" 2>"$work/run$i.err" || rc=$?
		tr=$(grep -m1 'boot direct' "$work/run$i.err" | sed 's/;.*//')
		tok=no; grep -q 'KVMEM-GUEST token' "$work/run$i.out" && tok=yes
		echo "run $i pin=$pin rc=$rc $((SECONDS - t))s token=$tok | $tr"
		if [[ $tok == no ]]; then
			echo "--- run $i console tail"; tail -n 25 "$work/run$i.out" | tr -d '\r'
			echo "--- run $i stderr"; tail -n 5 "$work/run$i.err"
		fi
	done
	exit 0
fi
kvmem=$(realpath "$1") nrand=${2:-14}
kernel=${KVMEM_GUEST_KERNEL:-$(ls -v /boot/vmlinuz-* | tail -n 1)}
work=$(mktemp -d /var/tmp/kaslr-repro.XXXXXX)
echo "# work $work"
"$here/mkinitramfs" --kernel "$kernel" --modules "virtio_mmio" \
	"$work/initramfs.cpio" repro >/dev/null || exit 1
KVMEM_NESTED_RW=$work:$(dirname "$kvmem") "$here/../nested/with-kvm" --host-numa 2 --mem 2048M --timeout 1500 \
	"$here/kaslr-repro.sh" --inner "$kvmem" "$work" "$kernel" "$work/initramfs.cpio" "$nrand"
