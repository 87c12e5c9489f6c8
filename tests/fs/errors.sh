#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/errors.sh KVMEM FS_WRITE - malformed control writes: each fails
# with the right errno, says why in allocations/error, and leaves every
# pool, allocation and file exactly as it was (snapshot before == after).
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

serve --numa 0:1G,1:256M --cma 1:64M
A=$M/allocations
ctl 'alloc name=keep node=0 size=64K' >/dev/null
before=$(snapshot)
long=$(printf 'x%.0s' $(seq 64))

# ERRNO <TAB> what is written to ctl, one write(2) (printf %b escapes)
cases=$(cat <<EOF2
EINVAL	bogus\n
EINVAL	alloc\n
EINVAL	alloc node=0\n
EINVAL	alloc node=0 size=0\n
EINVAL	alloc node=0 size=-1\n
EINVAL	alloc node=0 size=banana\n
EINVAL	alloc node=0 size=4X\n
EINVAL	alloc node=0 size=4Kfoo\n
EINVAL	alloc node=0 size=0x\n
EINVAL	alloc node=0 size=0xg\n
EINVAL	alloc node=0 size=1.5G\n
EINVAL	alloc node=0 size=\n
EINVAL	alloc node=0 size\n
EINVAL	alloc node=0 =4K\n
EINVAL	alloc node=0 size==4K\n
ERANGE	alloc node=0 size=99999999999999999999999\n
ERANGE	alloc node=0 size=20000000T\n
ERANGE	alloc node=0 size=0xfffffffffffff001 align=4K\n
EINVAL	alloc node=0 size=4K align=3K\n
EINVAL	alloc node=0 size=4K align=0x3000\n
EINVAL	alloc node=0 size=4K align=banana\n
EINVAL	alloc node=9 size=4K\n
EINVAL	alloc node=64 size=4K\n
EINVAL	alloc node=-1 size=4K\n
EINVAL	alloc node=x size=4K\n
EINVAL	alloc node=0 size=4K mode=sideways\n
EINVAL	alloc node=0 size=4K mode=range:\n
EINVAL	alloc node=0 size=4K mode=range:4M-2M\n
EINVAL	alloc node=0 size=4K mode=range:2G-3G\n
EINVAL	alloc node=1 size=4K mode=range:0-1M\n
EINVAL	alloc node=0 size=4K mode=range:1M-1M\n
EINVAL	alloc node=0 size=4K from=slab\n
EINVAL	alloc node=0 size=4K flags=sticky\n
EINVAL	alloc node=0 size=4K flags=contiguous,bogus\n
EINVAL	alloc node=0 size=4K color=red\n
EEXIST	alloc name=keep node=0 size=4K\n
EEXIST	alloc name=ctl node=0 size=4K\n
EEXIST	alloc name=error node=0 size=4K\n
EINVAL	alloc name=a/b node=0 size=4K\n
EINVAL	alloc name= node=0 size=4K\n
EINVAL	alloc name=$long node=0 size=4K\n
ENOSPC	alloc node=0 size=2G\n
ENOSPC	alloc node=1 size=200M flags=contiguous\n
ENOSPC	alloc node=1 size=128M from=cma\n
ENOSPC	alloc node=0 size=1G\n
EINVAL	free\n
ENOENT	free nothing\n
EINVAL	free keep extra\n
EINVAL	stat node=9\n
EINVAL	stat node=x\n
EINVAL	stat bogus\n
EINVAL	\x00\x01\x02\n
EINVAL	alloc node=0 size=4K\x00\n
EINVAL	\xff\xfe\xfd alloc\n
EINVAL	\x1b[31malloc node=0 size=4K\n
EINVAL	alloc node=0 size=4K mode=topdown mode=range:0-1M extra\n
EOF2
)
n=0
while IFS=$'\t' read -r want data; do
	n=$((n + 1))
	got=$(printf '%b' "$data" | wr "$A/ctl")
	eq "ctl #$n $(printf '%q' "$data" | cut -c1-60): $want" "$got" "$want"
	match "ctl #$n: error file names $want in one line" "$(cat "$A/error")" "^err [^ ]+ $want .+"
	eq "ctl #$n: state unchanged" "$(snapshot)" "$before"
done <<<"$cases"

# A 1 MiB line, and 1 MiB of binary junk.
eq "1 MiB line: EINVAL" "$(head -c 1048576 /dev/zero | tr '\0' a | wr "$A/ctl")" EINVAL
eq "1 MiB line: state unchanged" "$(snapshot)" "$before"
eq "1 MiB of random bytes: EINVAL" "$(head -c 1048576 /dev/urandom | wr "$A/ctl")" EINVAL
eq "random bytes: state unchanged" "$(snapshot)" "$before"
check "kvmem still answers" cat "$M/nodes/node0/buddyinfo"

# One-value files and spec.
for v in banana -1 1G 4K4 "32M 32M" "" "0x" '\x00'; do
	got=$(printf '%b\n' "$v" | wr "$M/nodes/node1/cma/size")
	eq "cma/size '$v': EINVAL" "$got" EINVAL
done
eq "cma/size: state unchanged" "$(snapshot)" "$before"
mkdir "$A/sp"
for v in "" "node=0" "node=0 size=banana" "name=x node=0 size=4K" \
	 "node=0 size=4K\nnode=0 size=8K" "free keep" "node=7 size=4K"; do
	got=$(printf '%b\n' "$v" | wr "$A/sp/spec")
	eq "spec '$v': EINVAL" "$got" EINVAL
done
rmdir "$A/sp"
eq "spec: state unchanged" "$(snapshot)" "$before"

# The shell prints the errno's message.
msg() { bash -c "echo '$1' > '$A/ctl'" 2>&1; }
match "shell: Invalid argument" "$(msg 'alloc node=0 size=0')" 'write error: Invalid argument$'
match "shell: No space left on device" "$(msg 'alloc node=0 size=2G')" 'write error: No space left on device$'
match "shell: File exists" "$(msg 'alloc name=keep node=0 size=4K')" 'write error: File exists$'
match "shell: No such file or directory" "$(msg 'free nothing')" 'write error: No such file or directory$'
match "shell: Numerical result out of range" "$(msg 'alloc node=0 size=20000000T')" 'write error: Numerical result out of range$'
eq "after all of it: state unchanged" "$(snapshot)" "$before"

finish
