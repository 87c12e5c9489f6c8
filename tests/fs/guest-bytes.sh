#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/guest-bytes.sh KVMEM SPIN_BIN - the memory file beside a running
# guest (`kvmem run --flat spin-flat.bin@0x100000 --mount DIR`), under KVM
# (nested in QEMU through tests/nested/with-kvm when /dev/kvm is absent):
#   - the loaded image reads back at its guest-physical address;
#   - a byte written to the file is seen by the guest: the '.' the guest
#     prints is patched to '!' through `memory`, and '!' comes out;
#   - a byte the guest writes is seen through the file: the return address
#     its `call putc` pushes appears on its stack, below 0x10000.
# TAP; skips when neither /dev/kvm nor QEMU is available.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)

if [ "${1:-}" != --inner ]; then
	kvmem=$(realpath "$1") bin=$(realpath "$2")
	if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
		echo "1..0 # SKIP no /dev/kvm and no QEMU"
		exit 0
	fi
	exec "$here/../nested/with-kvm" --timeout 500 "$here/guest-bytes.sh" --inner "$kvmem" "$bin"
fi

KVMEM=$2 BIN=$3 T=0 FAILED=0
ok()     { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T - $*"; }
check()  { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }

TMP=$(mktemp -d) M=$TMP/m
"$KVMEM" run --flat "$BIN@0x100000" --mem 16M --console "$TMP/console" \
	--mount "$M" 2>"$TMP/run.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 600); do
	cat "$M/nodes/online" >/dev/null 2>&1 && break
	sleep 0.1
done
check "kvmem run serves --mount" cat "$M/nodes/online"
size=$(stat -c %s "$BIN")
check "memory at 0x100000 holds the loaded image" \
	cmp <(dd if="$M/memory" bs=4096 skip=256 count=$(((size + 4095) / 4096)) status=none | head -c "$size") "$BIN"

# Offset of "mov $'.', %al" (b0 2e) in the image, then the 5-byte call.
off=$(od -A d -t x1 -v "$BIN" | awk '{ for (i = 2; i <= NF; i++) { b[n++] = $i } }
	END { for (i = 0; i + 1 < n; i++) if (b[i] == "b0" && b[i + 1] == "2e") { print i; exit } }')
if [ -z "$off" ]; then
	not_ok "found mov \$'.', %al in $BIN"
else
	printf '!' | dd of="$M/memory" bs=1 seek=$((0x100000 + off + 1)) conv=notrunc status=none
	check "the patch reads back" test "$(dd if="$M/memory" bs=1 skip=$((0x100000 + off + 1)) count=1 status=none)" = '!'
	for _ in $(seq 400); do
		grep -q '!' "$TMP/console" 2>/dev/null && break
		sleep 1
	done
	check "the guest prints the byte written through memory" grep -q '!' "$TMP/console"
	ret=$(printf '%016x' $((0x100000 + off + 2 + 5)))
	check "the guest's pushed return address (0x$ret) reads on its stack" \
		bash -c "dd if='$M/memory' bs=4096 count=16 status=none | od -A x -t x8 -v | grep -q ' $ret'"
fi
echo "# console: $(head -c 200 "$TMP/console" | tr '\n' ' ')"
echo "1..$T"
[ "$FAILED" -eq 0 ]
