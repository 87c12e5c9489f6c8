#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/example.sh KVMEM FS_WRITE SCRIPT - run examples/carve-buffer.sh
# against kvmem serve and check what it printed and left behind.
KVMEM=$1 FS_WRITE=$2 SCRIPT=$3
. "$(dirname "$0")/lib.sh"

serve --numa 0:512M,1:512M
before=$(snapshot)
out=$(timeout 60 "$SCRIPT" "$M" 2>&1)
eq "carve-buffer.sh exits 0" "$?" 0
printf '%s\n' "$out" | sed 's/^/# /'
match "one 64M block at the top of node 1 (4G + 512M - 64M)" \
	"$(printf '%s\n' "$out" | grep '^0x')" '^0x11c000000 0x4000000 order=14$'
check "cmp line printed" grep -q "^cmp: 67108864 bytes of .* match $M/allocations/carve[0-9]*/data\$" <<<"$out"
eq "everything freed, pools as before" "$(snapshot)" "$before"

head -c 3M /dev/urandom > "$TMP/small"
check "with a given 3M file" timeout 60 "$SCRIPT" "$M" "$TMP/small"
head -c 65M /dev/zero > "$TMP/big"
check "a file over 64M is refused" bash -c "! timeout 60 '$SCRIPT' '$M' '$TMP/big' 2>/dev/null"
eq "still nothing allocated" "$(snapshot)" "$before"

finish
