kvmem run --kernel @DIR@/bzImage --initrd @DIR@/initrd.cpio --cmdline console=ttyS0 --cpus 2 --numa 0:512M,1:512M --balloon off --console stdio --name spelled-out
