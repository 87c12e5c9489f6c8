#!/usr/bin/env bash
# flat-guests.sh - `kvmem run` end to end with the flat example guests, in
# one nested boot (tests/nested/with-kvm): output and entry state, exit
# status and one-line reason of a dying guest, SIGTERM, --console FILE,
# --alloc, and vm/state through --mount (pause, resume, stop). TAP.
#
# Usage: flat-guests.sh WITH_KVM KVMEM HELLO.bin FAULT.bin SPIN.bin
#        flat-guests.sh --inner KVMEM HELLO.bin FAULT.bin SPIN.bin
set -uo pipefail

if [[ ${1:-} != --inner ]]; then
	(($# == 5)) || { echo "Bail out! usage: flat-guests.sh WITH_KVM KVMEM HELLO FAULT SPIN"; exit 1; }
	withkvm=$1
	shift
	KVMEM_NESTED_RW=$(dirname "$1"):$(dirname "$2") \
		"$withkvm" --timeout 300 bash "$(realpath "$0")" --inner "$@"
	rc=$?
	((rc == 0)) || echo "# with-kvm exited $rc"
	exit "$rc"
fi
shift
kvmem=$1 hello=$2 fault=$3 spin=$4
work=$(mktemp -d /tmp/flat-guests.XXXXXX)
n=0 failed=0

ok() {
	n=$((n + 1))
	if "${@:2}"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=$((failed + 1))
	fi
}
has() { grep -q -- "$2" "$1"; }
lines() { wc -l <"$1"; }

# run NAME ARGS...: kvmem run, bounded, stdin closed
run() {
	local name=$1
	shift
	timeout -k 5 60 "$kvmem" run "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err"
	echo $? >"$work/$name.rc"
}
rc() { cat "$work/$1.rc"; }

# wait_for FILE TEXT: up to 30 s
wait_for() {
	for ((i = 0; i < 300; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "1..22"

# 1. hello: entry state as documented in vmm/flat.c, clean poweroff.
run hello --flat "$hello@0x100000" --mem 16M
ok "hello: exit status 0" test "$(rc hello)" = 0
ok "hello: prints its greeting" has "$work/hello.out" "hello from a kvmem flat guest"
ok "hello: entered at RIP=ADDR, CS=0x10, RSI=0" \
	has "$work/hello.out" "rip=0x0000000000100000 cs=0x0000000000000010 rsi=0x0000000000000000"
ok "hello: powers off, nothing on stderr" test "$(has "$work/hello.out" poweroff && lines "$work/hello.err")" = 0

# 2. two vCPUs: the BSP (APIC ID 0) runs the guest, the AP waits for SIPI.
run hello2 --flat "$hello@0x100000" --mem 16M --cpus 2
ok "hello --cpus 2: status 0, BSP is APIC 0" \
	test "$(rc hello2):$(grep -c 'apic=0x0000000000000000' "$work/hello2.out")" = "0:1"

# 3. a dying guest: status 1, one line naming the exit and the RIP.
run fault --flat "$fault@0x100000" --mem 16M
ok "fault: exit status 1" test "$(rc fault)" = 1
ok "fault: its output came through" has "$work/fault.out" "about to triple fault"
ok "fault: one-line reason with exit and rip" \
	test "$(lines "$work/fault.err"):$(grep -cE '^kvmem run: vcpu0: triple fault \(KVM_EXIT_SHUTDOWN\) at rip 0x[0-9a-f]+$' "$work/fault.err")" = "1:1"

# 4. --console FILE: the guest's output goes to the file, not stdout.
run console --flat "$hello@0x100000" --mem 16M --console "$work/console.log"
ok "--console FILE: output in the file only" \
	test "$(rc console):$(lines "$work/console.out"):$(grep -c 'hello from' "$work/console.log")" = "0:0:1"

# 5. --alloc runs control-grammar lines after setup; a bad one fails the run.
run alloc --flat "$hello@0x100000" --mem 16M --headroom 0:4M \
	--alloc "alloc name=buf node=0 size=1M" --alloc "free buf"
ok "--alloc: lines run, guest still boots" \
	test "$(rc alloc):$(grep -c '^kvmem run: --alloc: ok buf' "$work/alloc.err")" = "0:2"
run badalloc --flat "$hello@0x100000" --mem 16M --alloc "alloc name=x node=0 size=64M"
ok "--alloc that cannot be met: status 1, names the line" \
	test "$(rc badalloc):$(grep -c "^kvmem run: --alloc 'alloc name=x" "$work/badalloc.err")" = "1:1"

# 6. SIGTERM while running: status 128+15, one line, no kvmem left.
timeout -k 5 60 "$kvmem" run --flat "$spin@0x100000" --mem 16M \
	</dev/null >"$work/term.out" 2>"$work/term.err" &
pid=$!
wait_for "$work/term.out" "spin-flat: running"
kill -TERM "$pid"
wait "$pid"
echo $? >"$work/term.rc"
ok "SIGTERM: status 143" test "$(rc term)" = 143
ok "SIGTERM: one-line reason" has "$work/term.err" "^kvmem run: stopped by Terminated$"

# 7. vm/ through --mount: state, vcpus, pause/resume/stop.
mnt=$work/mnt
timeout -k 5 60 "$kvmem" run --flat "$spin@0x100000" --mem 16M --cpus 2 \
	--mount "$mnt" --name flat-demo </dev/null >"$work/mnt.out" 2>"$work/mnt.err" &
pid=$!
wait_for "$work/mnt.out" "spin-flat: running"
for ((i = 0; i < 100; i++)); do [[ -e $mnt/vm/state ]] && break; sleep 0.1; done
s1=$(cat "$mnt/vm/state" 2>&1)
v=$(cat "$mnt/vm/vcpus" 2>&1):$(cat "$mnt/vm/name" 2>&1)
echo pause >"$mnt/vm/state" 2>>"$work/mnt.err"
s2=$(cat "$mnt/vm/state" 2>&1)
echo resume >"$mnt/vm/state" 2>>"$work/mnt.err"
s3=$(cat "$mnt/vm/state" 2>&1)
echo stop >"$mnt/vm/state" 2>>"$work/mnt.err"
wait "$pid"
echo $? >"$work/mnt.rc"
ok "vm/state: running, paused, running" test "$s1:$s2:$s3" = "running:paused:running"
ok "vm/vcpus and vm/name" test "$v" = "2:flat-demo"
ok "vm/state stop: status 0" test "$(rc mnt)" = 0
ok "the mount is gone after exit" bash -c "! mountpoint -q '$mnt'"

# 8. A terminal on stdin (script(1) gives it a pty): raw mode while the
#    guest runs, Ctrl-A x quits with status 0, the terminal is restored.
{
	wait_for "$work/tty.out" "spin-flat: running"
	printf '\001x'
	sleep 3
} | timeout -k 5 60 script -qfec "stty icanon echo; $kvmem run --flat $spin@0x100000 --mem 16M; echo rc=\$?; stty -a" \
	/dev/null >"$work/tty.out" 2>&1
ok "Ctrl-A x: status 0" has "$work/tty.out" "rc=0"
ok "Ctrl-A x: the guest ran first" has "$work/tty.out" "spin-flat: running"
ok "terminal restored (icanon echo) after exit" \
	bash -c "grep -A9 'rc=0' '$work/tty.out' | grep -qw icanon && grep -A9 'rc=0' '$work/tty.out' | grep -qw echo"

# 9. --hugepages: with none free a one-line error; with enough (only in
#    the throwaway outer VM: a real host's sysctl is left alone) it boots.
hp=/proc/sys/vm/nr_hugepages
if [[ ${KVMEM_NESTED:-0} == 1 && -w $hp ]] && old=$(cat $hp) && echo 0 >$hp; then
	run nohuge --flat "$hello@0x100000" --mem 16M --hugepages
	ok "--hugepages with no free huge pages: status 1, one line" \
		test "$(rc nohuge):$(lines "$work/nohuge.err"):$(grep -c 'free 2 MiB pages' "$work/nohuge.err")" = "1:1:1"
	echo 16 >$hp
	run huge --flat "$hello@0x100000" --mem 16M --hugepages
	echo "$old" >$hp
	ok "--hugepages with 16 free: the guest runs" \
		test "$(rc huge):$(grep -c poweroff "$work/huge.out")" = "0:1"
else
	echo "ok $((n + 1)) # SKIP not in a throwaway outer VM"
	echo "ok $((n + 2)) # SKIP not in a throwaway outer VM"
	n=$((n + 2))
fi

if ((failed)); then
	echo "# failed: $failed; work files:"
	for f in "$work"/*.{err,rc} "$work/tty.out"; do echo "# $f: $(head -c 300 "$f" | tr '\n' '|')"; done
fi
rm -rf "$work"
exit $((failed ? 1 : 0))
