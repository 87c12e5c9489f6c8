# rng.sh - inside the guest (kvmem run --rng, kvmem.run=rng): the
# virtio-mmio transport seen from Linux. Prints KVMEM-GUEST lines that
# guest-suite.sh asserts on: the device the virtio bus found, its driver
# and status, bytes read from /dev/hwrng, its interrupt; then a reset
# (unbind resets the device) and a rebind, and bytes read again.
say() { echo "KVMEM-GUEST $*"; }
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d/device" ] || continue
	drv=$(readlink "$d/driver")
	say "virtio-dev ${d##*/} device=$(cat $d/device) driver=${drv##*/} status=$(cat $d/status)"
done
say "hwrng $(cat /sys/class/misc/hw_random/rng_current)"
distinct() { dd if=/dev/hwrng bs=256 count=1 2>/dev/null | od -An -v -tx1 | tr ' ' '\n' | grep . | sort -u | wc -l; }
say "rng-read distinct=$(distinct)"
irqs=$(awk '/virtio0/ { print $2 }' /proc/interrupts)
say "rng-irq $(awk '/virtio0/ { print $(NF-1), $NF }' /proc/interrupts) count=$irqs"
echo virtio0 >/sys/bus/virtio/drivers/virtio_rng/unbind
say "after-unbind status=$(cat /sys/bus/virtio/devices/virtio0/status)"
echo virtio0 >/sys/bus/virtio/drivers/virtio_rng/bind
say "after-rebind status=$(cat /sys/bus/virtio/devices/virtio0/status) hwrng=$(cat /sys/class/misc/hw_random/rng_current)"
say "rng-read-again distinct=$(distinct)"
