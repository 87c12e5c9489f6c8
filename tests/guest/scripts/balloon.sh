# balloon.sh - inside the guest (kvmem.run=balloon, virtio-balloon on by
# default): memory given back to the host, in phases the host follows
# through its hook (kvmem-cases.sh, "balloon-" lines):
#   1. 200 MiB of tmpfs filled, then removed: free page reporting releases
#      it (the host watches its RSS fall);
#   2. reporting held (page_reporting_order above MAX_ORDER), 200 MiB
#      dirtied and freed, then the host inflates the balloon to 128 MiB
#      (MemTotal falls: no DEFLATE_ON_OOM) and lets it go again;
#   3. the memory is usable again (200 MiB filled);
#   4. once reporting is done, the guest's own MemTotal/MemFree while the
#      host reads vm/balloon/stats;
#   5. the driver unbound (the device reset); /init then powers off.
say() { echo "KVMEM-GUEST $*"; }
kb() { while read -r k v u; do [ "$k" = "$1:" ] && echo "$v"; done </proc/meminfo; }
dev=
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0005 ] && dev=${d##*/}
done
drv=$(readlink "/sys/bus/virtio/devices/$dev/driver")
say "balloon-dev $dev driver=${drv##*/} status=$(cat "/sys/bus/virtio/devices/$dev/status")"
mkdir -p /mnt/b
mount -t tmpfs -o size=240m tmpfs /mnt/b
fill() { dd if=/dev/zero of=/mnt/b/fill bs=1M count=200 2>/dev/null; echo $?; }

rc=$(fill)
say "balloon-filled rc=$rc"
sleep 2
rm /mnt/b/fill
say "balloon-freed"
sleep 14

po=/sys/module/page_reporting/parameters/page_reporting_order
old=$(cat $po 2>/dev/null)
echo 11 >$po
say "balloon-hold rc=$? old=$old"
t0=$(kb MemTotal)
rc=$(fill)
rm /mnt/b/fill
say "balloon-dirty rc=$rc memtotal=$t0"
i=0
while [ "$(kb MemTotal)" -gt $((t0 - 131072)) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
say "balloon-inflated memtotal=$(kb MemTotal)"
i=0
while [ "$(kb MemTotal)" -lt "$t0" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
say "balloon-deflated memtotal=$(kb MemTotal)"
[ -n "$old" ] && echo "$old" >$po

rc=$(fill)
say "balloon-refill rc=$rc size=$(du -k /mnt/b/fill | { read -r s f; echo "$s"; })"
rm /mnt/b/fill
umount /mnt/b

# quiet: free page reporting takes free blocks off the free lists while
# the host handles them (MemFree dips meanwhile); let it finish
sleep 10
say "balloon-stats memtotal=$(kb MemTotal) memfree=$(kb MemFree)"
sleep 4

echo "$dev" >/sys/bus/virtio/drivers/virtio_balloon/unbind
say "balloon-unbound rc=$? status=$(cat "/sys/bus/virtio/devices/$dev/status")"
