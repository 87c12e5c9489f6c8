# kill.sh - inside the guest (kvmem.run=kill): write a pattern to vda,
# fsync it (a FLUSH: fdatasync on the host) and sync, say so, and wait to
# be killed (kill -9 of kvmem from the host).
say() { echo "KVMEM-GUEST $*"; }
yes KVMEM-KILL-PATTERN | head -c 2097152 | dd of=/dev/vda bs=1M conv=fsync 2>/dev/null
say "kill-write rc=$?"
sync
say "synced"
sleep 600
