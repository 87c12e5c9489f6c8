kvmem run --kernel @DIR@/bzImage --cpus 1 --numa 0:256M --name disk-options --disk @DIR@/vda.img,ro,cache=none,serial=KVMEM-0001 --disk @DIR@/vdb.img,cache=writeback --disk @DIR@/vdc.img
