# disk.sh - inside the guest (kvmem.run=disk) with four disks:
#   vda  rw.img   read-write, random bytes the host knows the sum of
#   vdb  ro.img   ,ro
#   vdc  ext4.img ,serial=EXT4DISK: an ext4 image the host made (mke2fs -d)
#   vdd  /dev/ram0,cache=none: a block device, O_DIRECT behind it
# Prints KVMEM-GUEST lines guest-suite.sh asserts on (the host checks the
# files afterwards), then "disk-ready" (the host reads vm/disks/ then).
say() { echo "KVMEM-GUEST $*"; }
for d in vda vdb vdc vdd; do
	say "blk $d size=$(cat /sys/block/$d/size) ro=$(cat /sys/block/$d/ro) serial=$(cat /sys/block/$d/serial 2>/dev/null) lbs=$(cat /sys/block/$d/queue/logical_block_size) discard=$(cat /sys/block/$d/queue/discard_max_bytes)"
done
say "vda-sum $(sha256sum /dev/vda | cut -d' ' -f1)"
say "vdb-sum $(sha256sum /dev/vdb | cut -d' ' -f1)"
# conv=fsync: the guest flushes the disk (sync(2) alone writes the raw
# device's dirty pages but sends no FLUSH; fsync of the device does)
yes KVMEM-DISK-PATTERN | head -c 4194304 | dd of=/dev/vda bs=1M seek=1 conv=fsync 2>/dev/null
say "vda-write rc=$?"
sync
say "vda-sync rc=$?"
dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>/dev/null
say "vdb-write rc=$?"
blkdiscard -o 8388608 -l 16777216 /dev/vda
say "vda-discard rc=$?"
say "vda-discarded-nonzero $(dd if=/dev/vda bs=1M skip=8 count=16 2>/dev/null | tr -d '\000' | wc -c)"
mkdir -p /mnt
mount -t ext4 -o ro /dev/vdc /mnt
say "ext4-mount rc=$?"
say "ext4-hello $(cat /mnt/hello.txt)"
say "ext4-data $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt
yes KVMEM-RAM-PATTERN | head -c 1048576 | dd of=/dev/vdd bs=65536 oflag=direct 2>/dev/null
say "vdd-write rc=$?"
say "vdd-sum $(dd if=/dev/vdd bs=65536 count=16 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
say "disk-ready"
