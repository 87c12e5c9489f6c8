kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:7812500K,1:1G,2:2G --name units-giga
