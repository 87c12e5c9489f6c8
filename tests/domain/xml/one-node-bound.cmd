kvmem run --kernel @DIR@/bzImage --initrd @DIR@/initrd.cpio --cmdline 'console=ttyS0 quiet it'\''s="a b"' --cpus 4 --numa 0:2G@0 --hugepages --console @DIR@/console.log --name bound
