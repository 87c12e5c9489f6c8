kvmem run --kernel @DIR@/bzImage --cpus 1 --numa 0:256M,1:256M --name cpuless
