kvmem run --kernel @DIR@/bzImage --cpus 2 --numa 0:512M,1:256M --name units-bytes
