kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:500M,1:256M,2:128M --name units-kilo
