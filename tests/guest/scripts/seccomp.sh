# seccomp.sh - inside the guest (kvmem.run=seccomp, kvmem run --seccomp log
# --rng --disk rw.img): every device path once, so the kernel logs any call
# of kvmem's threads outside their lists (guest-suite.sh then finds none):
# entropy, a reset of the rng (unbind, bind), disk reads, writes with
# flushes, discard, O_DIRECT reads; then "seccomp-ready" (the host drives
# the mount: files, control writes, pause/resume) while init holds.
say() { echo "KVMEM-GUEST $*"; }
say "rng-bytes $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
echo virtio1 >/sys/bus/virtio/drivers/virtio_rng/unbind 2>/dev/null ||
	echo virtio0 >/sys/bus/virtio/drivers/virtio_rng/unbind
for d in /sys/bus/virtio/devices/*; do
	echo "${d##*/}" >/sys/bus/virtio/drivers/virtio_rng/bind 2>/dev/null
done
say "rng-again $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
say "vda-read $(dd if=/dev/vda bs=1M count=4 2>/dev/null | wc -c)"
yes KVMEM-SECCOMP | head -c 2097152 | dd of=/dev/vda bs=1M conv=fsync 2>/dev/null
say "vda-write rc=$?"
blkdiscard -o 4194304 -l 4194304 /dev/vda
say "vda-discard rc=$?"
dd if=/dev/vda of=/dev/null bs=4096 count=256 iflag=direct 2>/dev/null
say "vda-direct rc=$?"
say "seccomp-ready"
