#!/usr/bin/env bash
# demo.sh DEMO BUILD - the README's quick start works: examples/demo boots
# the 2-vCPU, 2-node Linux guest (nested where /dev/kvm is absent), scripts
# an allocation through the mounted filesystem while it runs, and ends with
# the guest's poweroff and status 0. TAP.
set -uo pipefail
(($# == 2)) || { echo "usage: demo.sh DEMO BUILD" >&2; exit 2; }

out=$("$1" "$2" 2>&1)
rc=$?
out=${out//$'\r'/}	# the guest's serial console ends lines with CR LF
n=0 fails=0
check() {
	n=$((n + 1))
	if grep -qE -- "$2" <<<"$out"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1 (no line matching /$2/)"
		fails=$((fails + 1))
	fi
}
check "the guest sees 2 CPUs" '^KVMEM-GUEST cpus online=0-1 count=2$'
check "the guest sees node 0" '^KVMEM-GUEST node 0 online MemTotal=[0-9]+$'
check "the guest sees node 1" '^KVMEM-GUEST node 1 online MemTotal=[0-9]+$'
check "the guest reads its initrd" '^KVMEM-GUEST token demo-initrd-file$'
check "vm/state reads running" '^running$'
check "the 16M topdown block lands in node 1" '^0x1[0-9a-f]{8} 0x1000000 order=12$'
check "the guest's RAM is the VM's (spec)" '^node=1 .* owner=vm$'
check "rmdir of the guest's RAM is refused" "^rmdir: failed to remove '.*vm.ram1': Device or resource busy$"
check "... and the error file says whose it is" '^err vm.ram1 EBUSY owned by the vm \(guest RAM, node 1\)$'
check "the guest powered off" '^KVMEM-GUEST done$'
check "kvmem exited 0" '^demo: kvmem exited with status 0$'
n=$((n + 1))
if ((rc == 0)) && ! grep -q "differ" <<<"$out"; then
	echo "ok $n - demo exit status 0, cmp found no difference"
else
	echo "not ok $n - demo exit status $rc"
	fails=$((fails + 1))
fi
echo "1..$n"
((fails)) && { echo "# demo output:"; sed 's/^/# /' <<<"$out"; }
exit $((fails > 0))
