# unplug-service.awk - the VMM's own time per virtio-mem request, from an
# ftrace text of the host kernel (bench-hotplug, KVM tracepoints
# kvm_mmio, kvm_set_irq, kvm_msi_set_irq and sys_enter_madvise with
# behavior 4, MADV_DONTNEED).
#
# A shrink is the guest's work (freeing each 128 MiB memory block, which
# under init_on_alloc means zeroing it) between short requests to the
# device; only the requests are the VMM's. A request is the guest's
# notify (an MMIO write, traced even when an ioeventfd takes it), the
# device's discard of the blocks (madvise) and its interrupt. The VMMs
# put the notify register and the interrupt in different places (kvmem:
# a virtio-mmio window and a GSI; QEMU: a PCI BAR and INTx or MSI), so
# both are found from the trace: the notify address is the MMIO address
# whose writes were followed by the most bytes discarded (the balloon's
# free page reports discard too, from another address and far less), the
# interrupt the one raised first after the discard of most of those
# requests (not the serial port's, which a guest's print may raise in
# between now and then). Prints one line per request: milliseconds from the
# notify to that interrupt; then "# notify GPA irq KEY".

function ms(   i) {
	for (i = 1; i <= NF; i++)
		if ($i ~ /^[0-9]+\.[0-9]+:$/)
			return substr($i, 1, length($i) - 1) * 1000
	return -1
}

# mawk has no strtonum(): the value of a hex string ("7f0000" or "0x7f0000")
function hex(s,   i, v) {
	sub(/^0x/, "", s)
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
	return v
}

function field(name,   i) {
	for (i = 1; i < NF; i++)
		if ($i == name)
			return $(i + 1)
	return ""
}

{ t = ms() }
t < 0 { next }
/ kvm_mmio: mmio write / { n++; kind[n] = "w"; at[n] = t; key[n] = field("gpa"); next }
/ sys_madvise\(/ {
	len = field("len_in:")
	sub(/,$/, "", len)
	n++; kind[n] = "m"; at[n] = t; bytes[n] = hex(len); next
}
/ kvm_set_irq: / && field("level") == 1 { n++; kind[n] = "i"; at[n] = t; key[n] = "gsi " field("gsi"); next }
/ kvm_msi_set_irq: / {
	n++; kind[n] = "i"; at[n] = t
	key[n] = "msi vec " field("vec")
	next
}

END {
	# the notify: the written address followed by the most discarded bytes
	last = ""
	for (i = 1; i <= n; i++) {
		if (kind[i] == "w")
			last = key[i]
		else if (kind[i] == "m" && last != "")
			discarded[last] += bytes[i]
	}
	for (g in discarded)
		if (notify == "" || discarded[g] > discarded[notify])
			notify = g
	if (notify == "")
		exit
	# its interrupt: the one raised first after the discard that follows
	# most of its writes (another device may interrupt meanwhile, now and
	# then, but not after most of them)
	for (i = 1; i <= n; i++) {
		if (kind[i] != "w" || key[i] != notify)
			continue
		for (j = i + 1; j <= n && kind[j] != "m" && kind[j] != "w"; j++)
			;
		if (j > n || kind[j] != "m")
			continue
		for (; j <= n && kind[j] != "i"; j++)
			;
		if (j <= n)
			votes[key[j]]++
	}
	for (k in votes)
		if (irq == "" || votes[k] > votes[irq])
			irq = k
	for (i = 1; i <= n; i++) {
		if (kind[i] != "w" || key[i] != notify)
			continue
		for (j = i + 1; j <= n && !(kind[j] == "i" && key[j] == irq); j++)
			;
		if (j <= n)
			printf "%.2f\n", at[j] - at[i]
	}
	printf "# notify %s irq %s\n", notify, irq
}
