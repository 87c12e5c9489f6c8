kvmem run --kernel @DIR@/bzImage --cpus 1 --numa 0:256M --name vmem-max-only
