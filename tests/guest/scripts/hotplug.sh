# hotplug.sh - inside the guest (kvmem.run=hotplug), kvmem run --numa
# 0:512M,1:512M --hotplug 1:1G: node 1 grows and shrinks through virtio-mem
# while the host writes nodes/node1/hotplug/requested (kvmem-cases.sh's
# hotplug_hook, on the lines below). Prints KVMEM-GUEST lines:
#   hp-dev      the virtio-mem device (ID 24) and its driver
#   hp-base     node 1 before: the host asks for 512M then
#   hp-grown    node 1 once it grew by >= 500 MiB (or after 120 s)
#   hp-filled   256 MiB written in a tmpfs bound to node 1 (host: RSS),
#               movable=kB of it in node 1's Movable zone, the plugged memory
#   hp-freed    the file removed: the host waits for free page reporting
#               to release it, then asks for 0
#   hp-shrunk   node 1 once back to its first size (or after 120 s)
say() { echo "KVMEM-GUEST $*"; }
node1() { # MemTotal and MemFree of node 1, kB
	t= f=
	while read -r _ _ k v _; do
		case $k in MemTotal:) t=$v ;; MemFree:) f=$v ;; esac
	done </sys/devices/system/node/node1/meminfo
	echo "MemTotal=$t MemFree=$f"
}
total() { set -- $(node1); echo "${1#MemTotal=}"; }
movable() { # kB on node 1's Movable zone's anonymous LRUs (tmpfs pages are there)
	z= n=0
	while read -r a b c d _; do
		case "$a $b $c $d" in "Node 1, zone Movable") z=1; continue ;; esac
		[ "$a" = Node ] && z=
		[ -n "$z" ] || continue
		case $a in nr_zone_active_anon|nr_zone_inactive_anon) n=$((n + b)) ;; esac
	done </proc/zoneinfo
	echo $((n * 4))
}
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat $d/device 2>/dev/null)" = 0x0018 ] || continue
	drv=$(readlink "$d/driver")
	say "hp-dev device=0x0018 driver=${drv##*/} status=$(cat $d/status)"
done
base=$(total)
say "hp-base $(node1)"
i=0
while [ $i -lt 240 ] && [ $(($(total) - base)) -lt 512000 ]; do
	sleep 0.5
	i=$((i + 1))
done
say "hp-grown $(node1) waited=$((i / 2))s blocks=$(cat /sys/devices/system/node/node1/memory*/online 2>/dev/null | grep -c 1)"
mkdir -p /mnt/hp
mount -t tmpfs -o size=300M,mpol=bind:1 tmpfs /mnt/hp
dd if=/dev/zero of=/mnt/hp/fill bs=1M count=256 2>/dev/null
say "hp-filled rc=$? $(node1) movable=$(movable)"
sleep 3
rm -f /mnt/hp/fill
umount /mnt/hp
say "hp-freed $(node1)"
i=0
while [ $i -lt 240 ] && [ "$(total)" -gt "$base" ]; do
	sleep 0.5
	i=$((i + 1))
done
sleep 2
say "hp-shrunk $(node1) waited=$((i / 2))s"
