kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:1048576T,1:976562500000000K,2:1048576T --name units-exa
