// SPDX-License-Identifier: MIT
/*
 * acpi.c - the ACPI tables a Linux guest reads to find its CPUs, its NUMA
 * nodes and how to power off ([ACPI] = ACPI Specification 6.4, section).
 *
 *   RSDP (5.2.5) -> XSDT (5.2.8) -> FADT "FACP" (5.2.9) -> DSDT (5.2.11.1)
 *                                                       -> FACS (5.2.10)
 *                                -> MADT "APIC" (5.2.12)
 *                                -> SRAT (5.2.16), SLIT (5.2.17)
 *
 * Power off without SMM: the FADT says SMI_CMD = 0, which ACPICA reads as
 * "the machine is already in ACPI mode" (acpi_hw_get_mode()), so Linux never
 * tries to hand over from a BIOS. It declares the PM1a event block
 * (VMM_ACPI_PM1A_EVT, 4 bytes: status + enable) and control block
 * (VMM_ACPI_PM1A_CNT, 2 bytes), and the DSDT holds \_S5 (and the virtio-mmio
 * devices, below). Linux's
 * acpi_power_off() then writes SLP_TYP = 5 and, in a second write,
 * SLP_TYP | SLP_EN to the control port, which power.c decodes. No PM timer,
 * no GPE blocks, no fixed power/sleep buttons, no 8042, no VGA, no CMOS
 * RTC (FADT IAPC_BOOT_ARCH), so Linux probes none of them.
 *
 * Interrupts: ISA IRQs are identity-mapped to IOAPIC pins, no IRQ0 -> GSI2
 * override. KVM's default GSI routing (arch/x86/kvm/irq_comm.c,
 * default_routing) wires GSI n to IOAPIC pin n, so the in-kernel PIT
 * raises pin 0; a PC-style IRQ0 -> GSI2 override would send Linux's timer
 * check to pin 2, where nothing arrives ("8254 timer not connected to
 * IO-APIC"). The only override is the SCI, IRQ 9 level / active high.
 *
 * CPUs: vCPU i has APIC ID i and ACPI processor UID i (x2APIC entries for
 * IDs >= 255); SRAT puts it in proximity domain cpu_node[i]. Memory: one
 * SRAT memory affinity entry per RAM range of a node (what e820 calls RAM
 * there), then one Enabled | Hot Pluggable entry per hot-plug region.
 * SLIT: 10 local, 20 remote. Proximity domain N is kvmem node N.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

#define ACPI_OEM_ID		"KVMEM "	/* 6 bytes */
#define ACPI_OEM_TABLE_ID	"KVMEMVM "	/* 8 bytes */
#define ACPI_CREATOR_ID		"KVMM"
#define ACPI_HDR_LEN		36		/* 5.2.6 system description header */
#define ACPI_RSDP_LEN		36		/* 5.2.5.3, revision 2 */
#define ACPI_FACS_LEN		64		/* 5.2.10, 64-byte aligned */
#define ACPI_FADT_LEN		276		/* 5.2.9, FADT revision 6 */
#define ACPI_FADT_REV		6
#define ACPI_IOAPIC_ADDR	0xfec00000u	/* the in-kernel IOAPIC of KVM */
#define ACPI_LAPIC_ADDR		0xfee00000u
#define ACPI_SLIT_LOCAL		10		/* 5.2.17: distance to itself */
#define ACPI_SLIT_REMOTE	20

/* FADT IAPC_BOOT_ARCH (5.2.9.3) and Flags (5.2.9, table 5.10) */
#define FADT_BOOT_NO_VGA	(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC	(1u << 5)
#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* 1: no fixed-feature power button */
#define FADT_F_SLP_BUTTON	(1u << 5)

/* MADT structure types (5.2.12, table 5.21) and flags */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_X2APIC		9
#define MADT_PCAT_COMPAT	1u
#define MADT_ENABLED		1u
#define MPS_ACTIVE_HIGH		0x1		/* 5.2.12.5 MPS INTI flags */
#define MPS_LEVEL		0xc

/* SRAT structure types (5.2.16) */
#define SRAT_CPU		0
#define SRAT_MEM		1
#define SRAT_X2APIC		2
#define SRAT_ENABLED		1u
#define SRAT_HOTPLUGGABLE	2u	/* 5.2.16.2: memory that may be hot-added */

/* A generic address structure for port I/O (5.2.3.2). */
#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_WORD		2

/*
 * The DSDT's AML (aml.c encodes it):
 *
 *   Name(\_S5, Package(4) { 5, 5, 0, 0 })     7.4.2.4: SLP_TYPa, SLP_TYPb
 *   Scope(\_SB) {
 *     Device(VR00) {                          one per virtio-mmio device
 *       Name(_HID, "LNRO0005")                Linux's virtio_mmio ACPI id
 *       Name(_UID, 0)
 *       Name(_CRS, ResourceTemplate() {
 *         Memory32Fixed(ReadWrite, 0xd0000000, 0x1000)
 *         Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { 16 }
 *       })
 *     }
 *     ...
 *   }
 *
 * Debian's kernels have CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES off: the DSDT is
 * the only way their virtio_mmio driver finds devices.
 */
#define VIRTIO_MMIO_HID		"LNRO0005"

int vmm_acpi_dsdt(struct vmm_aml *a, const struct vmm_topology *t)
{
	const uint64_t s5[] = { VMM_ACPI_S5_TYP, VMM_ACPI_S5_TYP, 0, 0 };
	size_t sb;

	vmm_aml_name_package(a, "_S5_", s5, 4);
	if (t->nr_devs) {
		sb = vmm_aml_scope(a, "\\_SB_");
		for (unsigned i = 0; i < t->nr_devs; i++) {
			char name[8];
			size_t dev;

			snprintf(name, sizeof(name), "VR%02X", i & 0xff);
			dev = vmm_aml_device(a, name);
			vmm_aml_name_string(a, "_HID", VIRTIO_MMIO_HID);
			vmm_aml_name_int(a, "_UID", i);
			vmm_aml_crs_mmio_irq(a, (uint32_t)t->dev[i].base,
					     (uint32_t)t->dev[i].size,
					     t->dev[i].gsi);
			vmm_aml_close(a, dev);
		}
		vmm_aml_close(a, sb);
	}
	return a->err;
}

/* A write cursor over the table area. */
struct acpi_buf {
	uint8_t *p;
	uint64_t gpa;
	size_t size, pos;
	int err;
};

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Reserve @len zeroed bytes aligned to @align; NULL (and err) if no room. */
static uint8_t *take(struct acpi_buf *b, size_t len, size_t align,
		     uint64_t *gpa)
{
	size_t pos = (b->pos + align - 1) & ~(align - 1);

	if (b->err || pos > b->size || len > b->size - pos) {
		b->err = ENOSPC;
		return NULL;
	}
	b->pos = pos + len;
	memset(b->p + pos, 0, len);
	*gpa = b->gpa + pos;
	return b->p + pos;
}

/* 5.2.6: the header every table but RSDP and FACS starts with. */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put32(t, 24, 1);			/* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t, 32, 1);			/* creator revision */
}

static void seal(uint8_t *t)
{
	uint32_t len;

	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* 5.2.3.2 generic address structure at @off, port I/O. */
static void gas_io(uint8_t *t, size_t off, uint16_t port, uint8_t bits)
{
	put8(t, off, GAS_SYSTEM_IO);
	put8(t, off + 1, bits);
	put8(t, off + 2, 0);			/* bit offset */
	put8(t, off + 3, GAS_ACCESS_WORD);
	put64(t, off + 4, port);
}

static uint64_t build_facs(struct acpi_buf *b)
{
	uint64_t gpa = 0;
	uint8_t *t = take(b, ACPI_FACS_LEN, 64, &gpa);

	if (!t)
		return 0;
	memcpy(t, "FACS", 4);
	put32(t, 4, ACPI_FACS_LEN);
	put8(t, 32, 2);				/* version */
	return gpa;
}

static uint64_t build_dsdt(struct acpi_buf *b, const struct vmm_aml *aml)
{
	uint32_t len = ACPI_HDR_LEN + (uint32_t)aml->len;
	uint64_t gpa = 0;
	uint8_t *t = take(b, len, 16, &gpa);

	if (!t)
		return 0;
	header(t, "DSDT", len, 2);		/* revision 2: 64-bit integers */
	memcpy(t + ACPI_HDR_LEN, aml->p, aml->len);
	seal(t);
	return gpa;
}

/* 5.2.9, table 5.9: field offsets of FADT revision 6. */
static uint64_t build_fadt(struct acpi_buf *b, uint64_t facs, uint64_t dsdt)
{
	uint64_t gpa = 0;
	uint8_t *t = take(b, ACPI_FADT_LEN, 16, &gpa);

	if (!t)
		return 0;
	header(t, "FACP", ACPI_FADT_LEN, ACPI_FADT_REV);
	put32(t, 36, 0);			/* FIRMWARE_CTRL: 0, X_ field used */
	put32(t, 40, (uint32_t)dsdt);		/* DSDT */
	put16(t, 46, VMM_ACPI_SCI_IRQ);		/* SCI_INT */
	put32(t, 48, 0);			/* SMI_CMD 0: already in ACPI mode */
	put32(t, 56, VMM_ACPI_PM1A_EVT);	/* PM1a_EVT_BLK */
	put32(t, 64, VMM_ACPI_PM1A_CNT);	/* PM1a_CNT_BLK */
	put8(t, 88, 4);				/* PM1_EVT_LEN: status + enable */
	put8(t, 89, 2);				/* PM1_CNT_LEN */
	put16(t, 96, 101);			/* P_LVL2_LAT > 100: no C2 */
	put16(t, 98, 1001);			/* P_LVL3_LAT > 1000: no C3 */
	put16(t, 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC);
	put32(t, 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
		      FADT_F_SLP_BUTTON);
	put64(t, 132, facs);			/* X_FIRMWARE_CTRL */
	put64(t, 140, dsdt);			/* X_DSDT */
	gas_io(t, 148, VMM_ACPI_PM1A_EVT, 32);	/* X_PM1a_EVT_BLK */
	gas_io(t, 172, VMM_ACPI_PM1A_CNT, 16);	/* X_PM1a_CNT_BLK */
	seal(t);
	return gpa;
}

static uint64_t build_madt(struct acpi_buf *b, const struct vmm_topology *tp)
{
	uint32_t len = 44 + 12 + 10 + 6;
	uint64_t gpa = 0;
	size_t o = 44;
	uint8_t *t;

	for (unsigned i = 0; i < tp->nr_cpus; i++)
		len += i < 255 ? 8 : 16;
	t = take(b, len, 16, &gpa);
	if (!t)
		return 0;
	header(t, "APIC", len, 5);
	put32(t, 36, ACPI_LAPIC_ADDR);
	put32(t, 40, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < tp->nr_cpus; i++) {
		if (i < 255) {			/* 5.2.12.2 processor local APIC */
			put8(t, o, MADT_LAPIC);
			put8(t, o + 1, 8);
			put8(t, o + 2, (uint8_t)i);	/* processor UID */
			put8(t, o + 3, (uint8_t)i);	/* APIC ID */
			put32(t, o + 4, MADT_ENABLED);
			o += 8;
		} else {			/* 5.2.12.12 processor local x2APIC */
			put8(t, o, MADT_X2APIC);
			put8(t, o + 1, 16);
			put32(t, o + 4, i);		/* x2APIC ID */
			put32(t, o + 8, MADT_ENABLED);
			put32(t, o + 12, i);		/* processor UID */
			o += 16;
		}
	}
	put8(t, o, MADT_IOAPIC);		/* 5.2.12.3 */
	put8(t, o + 1, 12);
	put8(t, o + 2, 0);			/* IOAPIC ID */
	put32(t, o + 4, ACPI_IOAPIC_ADDR);
	put32(t, o + 8, 0);			/* GSI base */
	o += 12;
	put8(t, o, MADT_ISO);			/* the SCI: level, active high */
	put8(t, o + 1, 10);
	put8(t, o + 3, VMM_ACPI_SCI_IRQ);
	put32(t, o + 4, VMM_ACPI_SCI_IRQ);
	put16(t, o + 8, MPS_ACTIVE_HIGH | MPS_LEVEL);
	o += 10;
	put8(t, o, MADT_LAPIC_NMI);		/* 5.2.12.7: LINT1 of all CPUs */
	put8(t, o + 1, 6);
	put8(t, o + 2, 0xff);
	put16(t, o + 3, 0);
	put8(t, o + 5, 1);
	seal(t);
	return gpa;
}

static uint64_t build_srat(struct acpi_buf *b, const struct vmm_topology *tp,
			   const struct vmm_acpi_mem *m, unsigned nr_mem)
{
	uint32_t len = 48 + 40 * nr_mem;
	uint64_t gpa = 0;
	size_t o = 48;
	uint8_t *t;

	for (unsigned i = 0; i < tp->nr_cpus; i++)
		len += i < 255 ? 16 : 24;
	t = take(b, len, 16, &gpa);
	if (!t)
		return 0;
	header(t, "SRAT", len, 3);
	put32(t, 36, 1);			/* reserved, must be 1 */
	for (unsigned i = 0; i < tp->nr_cpus; i++) {
		uint32_t pd = tp->cpu_node[i];

		if (i < 255) {			/* 5.2.16.1 */
			put8(t, o, SRAT_CPU);
			put8(t, o + 1, 16);
			put8(t, o + 2, (uint8_t)pd);	/* domain bits 7:0 */
			put8(t, o + 3, (uint8_t)i);	/* APIC ID */
			put32(t, o + 4, SRAT_ENABLED);
			put8(t, o + 9, (uint8_t)(pd >> 8));	/* bits 31:8 */
			put8(t, o + 10, (uint8_t)(pd >> 16));
			put8(t, o + 11, (uint8_t)(pd >> 24));
			o += 16;
		} else {			/* 5.2.16.3 */
			put8(t, o, SRAT_X2APIC);
			put8(t, o + 1, 24);
			put32(t, o + 4, pd);
			put32(t, o + 8, i);
			put32(t, o + 12, SRAT_ENABLED);
			o += 24;
		}
	}
	for (unsigned i = 0; i < nr_mem; i++) {	/* 5.2.16.2 */
		put8(t, o, SRAT_MEM);
		put8(t, o + 1, 40);
		put32(t, o + 2, m[i].node);
		put64(t, o + 8, m[i].start);
		put64(t, o + 16, m[i].size);
		put32(t, o + 28, SRAT_ENABLED |
			       (m[i].hotplug ? SRAT_HOTPLUGGABLE : 0));
		o += 40;
	}
	seal(t);
	return gpa;
}

static uint64_t build_slit(struct acpi_buf *b, unsigned nr_nodes)
{
	uint32_t len = 44 + nr_nodes * nr_nodes;
	uint64_t gpa = 0;
	uint8_t *t = take(b, len, 16, &gpa);

	if (!t)
		return 0;
	header(t, "SLIT", len, 1);
	put64(t, 36, nr_nodes);
	for (unsigned i = 0; i < nr_nodes; i++)
		for (unsigned j = 0; j < nr_nodes; j++)
			t[44 + i * nr_nodes + j] =
				i == j ? ACPI_SLIT_LOCAL : ACPI_SLIT_REMOTE;
	seal(t);
	return gpa;
}

static uint64_t build_xsdt(struct acpi_buf *b, const uint64_t *tables,
			   unsigned nr)
{
	uint32_t len = ACPI_HDR_LEN + 8 * nr;
	uint64_t gpa = 0;
	uint8_t *t = take(b, len, 16, &gpa);

	if (!t)
		return 0;
	header(t, "XSDT", len, 1);
	for (unsigned i = 0; i < nr; i++)
		put64(t, ACPI_HDR_LEN + 8 * i, tables[i]);
	seal(t);
	return gpa;
}

/* 5.2.5.3: revision 2, no RSDT (Linux uses the XSDT when revision >= 2). */
static void build_rsdp(uint8_t *r, uint64_t xsdt)
{
	memset(r, 0, ACPI_RSDP_LEN);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	put8(r, 15, 2);				/* revision */
	put32(r, 20, ACPI_RSDP_LEN);
	put64(r, 24, xsdt);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, ACPI_RSDP_LEN);
}

static int check_args(const struct vmm_topology *t,
		      const struct vmm_acpi_mem *m, unsigned nr_mem,
		      char *why, size_t len)
{
	if (!t->nr_cpus || t->nr_cpus > 256) {
		snprintf(why, len, "%u CPUs (1 to 256)", t->nr_cpus);
		return -EINVAL;
	}
	if (!t->nr_nodes || t->nr_nodes > GM_MAX_NODES) {
		snprintf(why, len, "%u nodes (1 to %d)", t->nr_nodes,
			 GM_MAX_NODES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < t->nr_cpus; i++)
		if (t->cpu_node[i] >= t->nr_nodes) {
			snprintf(why, len, "CPU %u on node %u of %u", i,
				 t->cpu_node[i], t->nr_nodes);
			return -EINVAL;
		}
	for (unsigned i = 0; i < nr_mem; i++)
		if (m[i].node >= t->nr_nodes) {
			snprintf(why, len, "memory on node %u of %u",
				 m[i].node, t->nr_nodes);
			return -EINVAL;
		}
	if (t->nr_devs > VMM_VIRTIO_MAX_DEVS) {
		snprintf(why, len, "%u virtio devices (at most %d)", t->nr_devs,
			 VMM_VIRTIO_MAX_DEVS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < t->nr_devs; i++)
		if (t->dev[i].base + t->dev[i].size > GM_4G || !t->dev[i].size) {
			snprintf(why, len, "virtio device %u window 0x%llx+0x%llx", i,
				 (unsigned long long)t->dev[i].base,
				 (unsigned long long)t->dev[i].size);
			return -EINVAL;
		}
	return 0;
}

int vmm_acpi_build(void *buf, uint64_t gpa, size_t size,
		   const struct vmm_topology *t, const struct vmm_acpi_mem *m,
		   unsigned nr_mem, size_t *used, struct gm_error *e)
{
	struct acpi_buf b = { .p = buf, .gpa = gpa, .size = size };
	uint64_t tables[4], rsdp_gpa, facs, dsdt, xsdt;
	struct vmm_aml aml = { 0 };
	char why[128] = "bad arguments";
	uint8_t *rsdp;
	int ret = -EINVAL;

	if (!buf || !t || (nr_mem && !m) || !used || (gpa & 15))
		goto err;
	ret = check_args(t, m, nr_mem, why, sizeof(why));
	if (ret < 0)
		goto err;
	ret = vmm_acpi_dsdt(&aml, t);
	if (ret < 0) {
		snprintf(why, sizeof(why), "DSDT: %s", strerror(-ret));
		goto err;
	}
	rsdp = take(&b, ACPI_RSDP_LEN, 16, &rsdp_gpa);
	facs = build_facs(&b);
	dsdt = build_dsdt(&b, &aml);
	tables[0] = build_fadt(&b, facs, dsdt);
	tables[1] = build_madt(&b, t);
	tables[2] = build_srat(&b, t, m, nr_mem);
	tables[3] = build_slit(&b, t->nr_nodes);
	xsdt = build_xsdt(&b, tables, 4);
	if (b.err) {
		ret = -b.err;
		snprintf(why, sizeof(why), "%zu bytes are not enough", size);
		goto err;
	}
	build_rsdp(rsdp, xsdt);
	vmm_aml_release(&aml);
	*used = b.pos;
	return 0;
err:
	vmm_aml_release(&aml);
	return gm_error_set(e, ret, "ACPI tables: %s", why);
}
