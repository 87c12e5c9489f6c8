kvmem run --flat @DIR@/flat.bin@0x100000 --cpus 1 --numa 0:16M --console stdio --name flat
