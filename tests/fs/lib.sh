# SPDX-License-Identifier: MIT
# tests/fs/lib.sh - shared by the fs suite: start `kvmem serve` on a mount in
# a mktemp -d, TAP assertions, and cleanup on exit. Source it with
#   KVMEM=$1 FS_WRITE=$2; . "$(dirname "$0")/lib.sh"
set -u

T=0
FAILED=0
TMP=$(mktemp -d /tmp/kvmem-fs-test.XXXXXX)
M=$TMP/m
SERVE_PID= SERVE_STATUS=

ok()     { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T - $*"; }

# check DESC CMD...: the command succeeds.
check() {
	local d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}

# eq DESC GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1"; printf '#   got:  %s\n#   want: %s\n' "$2" "$3" | head -20; fi
}

# match DESC TEXT REGEX (extended, whole text, line by line)
match() {
	if [ -n "$2" ] && ! printf '%s\n' "$2" | grep -Evq -- "$3"; then ok "$1"
	else not_ok "$1"; printf '%s\n' "$2" | head -5 | sed 's/^/#   got: /'; fi
}

# serve ARGS...: start kvmem serve on $M, wait until it answers.
# (A dead mount may still resolve cached paths: wait for kvmem's own word.)
serve() {
	local n
	n=$(grep -c 'mounted on' "$TMP/serve.log" 2>/dev/null)
	"$KVMEM" serve "$@" --mount "$M" 2>>"$TMP/serve.log" &
	SERVE_PID=$!
	for _ in $(seq 200); do
		[ "$(grep -c 'mounted on' "$TMP/serve.log")" -gt "${n:-0}" ] &&
			cat "$M/nodes/online" >/dev/null 2>&1 && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "Bail out! kvmem serve did not mount $M"; cat "$TMP/serve.log"
	exit 1
}

# stop [SIG]: signal kvmem serve and wait for it, 5 s at most. SERVE_STATUS
# is then its exit status, or "alive" if it did not exit (it is killed).
stop() {
	local st
	[ -n "$SERVE_PID" ] || return 0
	SERVE_STATUS=
	kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		SERVE_STATUS=alive
		kill -KILL "$SERVE_PID" 2>/dev/null
	fi
	wait "$SERVE_PID" 2>/dev/null
	st=$?
	[ "$SERVE_STATUS" = alive ] || SERVE_STATUS=$st
	SERVE_PID=
}

# one_line DESC FILE REGEX: FILE (a command's stderr) is exactly one line,
# matching the extended REGEX.
one_line() {
	local n
	n=$(wc -l < "$2")
	if [ "$n" -eq 1 ] && [ "$(wc -c < "$2")" -gt 1 ] && grep -Eq -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1"; echo "#   $n lines (want 1 matching /$3/):"; sed 's/^/#   /' "$2" | head -5
	fi
}

# is_mounted DIR
is_mounted() { grep -q " $(realpath -m "$1") fuse" /proc/self/mounts; }

cleanup() {
	stop KILL
	if is_mounted "$M"; then umount -l "$M" 2>/dev/null; fi
	rm -rf "$TMP" 2>/dev/null
}
trap cleanup EXIT

# wr FILE < DATA: one write(2), prints "ok N" or the errno name.
wr() { "$FS_WRITE" -t "$1"; }

# ctl LINE: one write of LINE + newline to allocations/ctl, prints outcome.
ctl() { printf '%s\n' "$1" | "$FS_WRITE" -t "$M/allocations/ctl"; }

# snapshot: everything a failed control write must leave as it was.
snapshot() {
	local n
	ls "$M/allocations"
	for n in "$M"/nodes/node*; do
		cat "$n"/meminfo "$n"/buddyinfo "$n"/buddy/avail "$n"/buddy/free_area \
		    "$n"/cma/size "$n"/cma/used "$n"/cma/bitmap
	done
	for n in "$M"/allocations/*/; do
		[ -d "$n" ] && cat "$n"blocks
	done
}

# finish: SIGTERM kvmem serve, which must exit 0 (clean under ASan too).
finish() {
	stop TERM
	eq "kvmem serve exits 0 on SIGTERM" "$SERVE_STATUS" 0
	grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$TMP/serve.log" &&
		not_ok "sanitizer report in serve.log" && sed 's/^/# /' "$TMP/serve.log" | head -40
	done_testing
}

done_testing() {
	echo "1..$T"
	[ "$FAILED" -eq 0 ]
}
