#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/lifecycle.sh KVMEM FS_WRITE - kvmem serve's life: options, mount,
# `echo > FILE` on every writable file, unmount on SIGTERM and SIGINT (also
# with a file held open), kill -9 leaving a stale mount that the next start
# on the same directory clears, a live mount refused.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

eq "serve --help exits 0" "$("$KVMEM" serve --help >/dev/null; echo $?)" 0
eq "serve without --mount exits 2" "$("$KVMEM" serve --numa 0:1G 2>/dev/null; echo $?)" 2
"$KVMEM" serve --numa 0:banana --mount "$M" >"$TMP/out" 2>"$TMP/err"
eq "bad --numa: exit 1" "$?" 1
one_line "bad --numa: one line on stderr, naming the option" "$TMP/err" '^kvmem serve: --numa: .*0:banana'
eq "bad --numa: nothing on stdout" "$(wc -c < "$TMP/out")" 0
"$KVMEM" serve --numa 0:1G --chunk 3K --mount "$M" >/dev/null 2>"$TMP/err"
eq "bad --chunk: exit 1" "$?" 1
one_line "bad --chunk: one line, the shared --chunk rule" "$TMP/err" '^kvmem serve: --chunk 3K: need a power of two from 4K to 1G$'
"$KVMEM" serve --numa 0:1G --bogus --mount "$M" >/dev/null 2>"$TMP/err"
eq "unknown option: exit 2" "$?" 2
one_line "unknown option: one line" "$TMP/err" "^kvmem serve: unknown option '--bogus'"
check "bad --numa mounts nothing" bash -c "! grep -q ' $M fuse' /proc/self/mounts"

serve --numa 0:1G --cma 0:16M
check "mounted" is_mounted "$M"
check "the mount directory was created" test -d "$M"

# echo > FILE (open with O_TRUNC) works on every writable file.
check "echo > allocations/ctl" bash -c "echo 'alloc name=t node=0 size=4K' > '$M/allocations/ctl'"
check "echo > allocations/t/data" bash -c "echo data > '$M/allocations/t/data'"
check "echo > allocations/error" bash -c "echo > '$M/allocations/error'"
check "echo > nodes/node0/cma/size" bash -c "echo 8M > '$M/nodes/node0/cma/size'"
eq "cma/size took it" "$(cat "$M/nodes/node0/cma/size")" $((8 << 20))
mkdir "$M/allocations/s"
check "echo > allocations/s/spec" bash -c "echo 'node=0 size=4K' > '$M/allocations/s/spec'"
check "echo >> ctl (append) works too" bash -c "echo 'free t' >> '$M/allocations/ctl'"
check "t freed" test ! -e "$M/allocations/t"
eq "truncate -s 0 of a read-only file is refused" "$(truncate -s 0 "$M/nodes/node0/buddyinfo" 2>&1 | grep -c 'Permission denied')" 1
eq "truncate to another size of cma/size: EINVAL" "$(truncate -s 7 "$M/nodes/node0/cma/size" 2>&1 | grep -c 'Invalid argument')" 1
eq "chmod refused" "$(chmod 777 "$M/nodes/node0/buddyinfo" 2>&1 | grep -c 'Operation not permitted')" 1

# A second kvmem on a live mount is refused, and leaves it alone.
timeout 10 "$KVMEM" serve --numa 0:1G --mount "$M" >/dev/null 2>"$TMP/err"
eq "second serve on a live mount: exit 1" "$?" 1
one_line "second serve on a live mount: one line, already mounted" "$TMP/err" "^kvmem serve: $M: already mounted\$"
check "first mount still answers" cat "$M/nodes/node0/buddyinfo"

# SIGTERM unmounts.
stop TERM
eq "SIGTERM: exit status 0" "$SERVE_STATUS" 0
check "SIGTERM: unmounted" bash -c "! grep -q ' $M fuse' /proc/self/mounts"
match "SIGTERM: says so" "$(tail -1 "$TMP/serve.log")" "^kvmem serve: Terminated, unmounted $M\$"

# SIGINT unmounts, even with a file held open (lazy detach).
serve --numa 0:1G
exec 3<"$M/nodes/node0/meminfo"
stop INT
check "SIGINT with an open file: kvmem exited within 5 s" test "$SERVE_STATUS" != alive
eq "SIGINT: exit status 0" "$SERVE_STATUS" 0
check "SIGINT: mount point detached" bash -c "! grep -q ' $M fuse' /proc/self/mounts"
exec 3<&-

# kill -9 leaves a stale mount; the next start on the same dir clears it.
serve --numa 0:1G
echo 'alloc name=lost node=0 size=4K' > "$M/allocations/ctl"
stop KILL
check "kill -9 leaves the mount behind" is_mounted "$M"
eq "stale mount: stat gives ENOTCONN" "$(stat -f "$M" 2>&1 | grep -c 'Transport endpoint is not connected')" 1
serve --numa 0:1G
check "restart logged the clearing" grep -q "cleared a stale mount on $M" "$TMP/serve.log"
eq "one mount on the dir, answering" "$(grep -c " $M fuse" /proc/self/mounts; cat "$M/nodes/online")" "1
0"
check "fresh pools after restart" test ! -e "$M/allocations/lost"
stop TERM
check "unmounted at the end" bash -c "! grep -q ' $M fuse' /proc/self/mounts"

done_testing
