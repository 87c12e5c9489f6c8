# domain.sh - inside the guest of the libvirt domain case (examples/domain.xml
# through kvmem run --domain, kvmem.run=domain): the devices its <disk> and
# <rng> stand for, as Linux sees them. Prints KVMEM-GUEST lines that
# guest-suite.sh asserts on.
say() { echo "KVMEM-GUEST $*"; }
say "domain-vda size=$(cat /sys/block/vda/size 2>/dev/null) ro=$(cat /sys/block/vda/ro 2>/dev/null) sum=$(sha256sum /dev/vda 2>/dev/null | cut -d' ' -f1)"
say "domain-hwrng $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
