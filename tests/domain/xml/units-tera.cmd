kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:976562500K,1:1T,2:2T --name units-tera
