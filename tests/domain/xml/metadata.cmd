kvmem run --kernel @DIR@/bzImage --cpus 3 --numa 0:512M,1:256M --cma 0:64M --headroom 1:16M --name pools
