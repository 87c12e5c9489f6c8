kvmem run --kernel @DIR@/bzImage --cpus 2 --numa 0:256M,1:256M --name vmem-two --hotplug 0:128M,1:1G --hotplug-block 4M --hotplug-requested 1:64M
