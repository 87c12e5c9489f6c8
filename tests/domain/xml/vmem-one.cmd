kvmem run --kernel @DIR@/bzImage --cpus 2 --numa 0:256M,1:256M --name vmem-one --hotplug 1:256M --hotplug-requested 1:128M
