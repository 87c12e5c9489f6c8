#!/usr/bin/env bash
# harness-selftest.sh - tests/nested/with-kvm itself, TAP output.
#
# Usage: harness-selftest.sh [WITH_KVM]
#
# Two runs of the harness (two outer VM boots when /dev/kvm is absent):
#  1. --host-numa 2: a command that opens /dev/kvm and /dev/fuse, writes
#     to stdout and stderr (with bytes a tty would mangle), reports its
#     cwd, the host node count and a KVMEM_* variable, writes a file into
#     a read-write shared directory, and exits 7: the status, both streams
#     byte for byte, the cwd, the variable and the file must come back.
#  2. --timeout 3 on `sleep 600`: status 124, one message, well before 600 s.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
withkvm=${1:-$here/../nested/with-kvm}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

work=$(mktemp -d "${TMPDIR:-/tmp}/harness-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
mkdir "$work/cwd"

# 1. status, streams, cwd, environment, devices, NUMA, read-write share
cat >"$work/cmd.sh" <<'EOF'
{ : <>/dev/kvm; } 2>/dev/null || { echo "cannot open /dev/kvm" >&2; exit 1; }
{ : <>/dev/fuse; } 2>/dev/null || { echo "cannot open /dev/fuse" >&2; exit 1; }
printf 'out:%s\r\n\0tail' "$KVMEM_SELFTEST"
printf 'err:%s\n' "$KVMEM_SELFTEST" >&2
echo "cwd=$(pwd -P)" >result
echo "nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)" >>result
echo "tmpdir=$TMPDIR" >>result
exit 7
EOF
t=$SECONDS
(cd "$work/cwd" && KVMEM_SELFTEST=$nonce "$withkvm" --host-numa 2 --timeout 300 \
	bash -c "$(cat "$work/cmd.sh")" >"$work/out" 2>"$work/err")
rc=$?
echo "# run 1: $((SECONDS - t)) s"
check "the command's exit status (7) comes back" test "$rc" = 7
printf 'out:%s\r\n\0tail' "$nonce" >"$work/want-out"
check "stdout is forwarded byte for byte" cmp -s "$work/out" "$work/want-out"
check "stderr is forwarded separately" test "$(cat "$work/err")" = "err:$nonce"
check "the command ran in the same cwd, writing to it" \
	grep -qx "cwd=$work/cwd" "$work/cwd/result"
check "it saw 2 host NUMA nodes" grep -qx "nodes=2" "$work/cwd/result"
check "TMPDIR is /tmp" grep -qx "tmpdir=/tmp" "$work/cwd/result"
if ((failed)); then
	sed 's/^/# stderr: /' "$work/err"
fi

# 2. timeout
t=$SECONDS
"$withkvm" --timeout 3 sleep 600 >"$work/tout" 2>"$work/terr"
rc=$?
dt=$((SECONDS - t))
echo "# run 2: $dt s"
check "a timeout returns 124" test "$rc" = 124
check "a timeout is reported in one line" test "$(wc -l <"$work/terr")" = 1
check "a timeout ends the run within 60 s ($dt s)" test "$dt" -lt 60

echo "1..$n"
((failed == 0))
