kvmem run --kernel @DIR@/bzImage --cpus 1 --numa 0:256M --name rng --rng --disk @DIR@/vda.img
