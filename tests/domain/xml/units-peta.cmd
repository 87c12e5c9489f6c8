kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:976562500000K,1:1024T,2:2048T --name units-peta
