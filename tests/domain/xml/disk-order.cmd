kvmem run --kernel @DIR@/bzImage --cpus 1 --numa 0:256M --name disk-order --disk @DIR@/vda.img --disk @DIR@/vdb.img --disk @DIR@/vdc.img
