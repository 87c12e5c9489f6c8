// SPDX-License-Identifier: MIT
/*
 * test_acpi.c - vmm/e820.c and vmm/acpi.c: the map and tables a Linux guest
 * gets, after a whole boot flow on a backed 2-node gm_mem (256 MiB each)
 * with a synthetic bzImage: place, retire, allocate the VM-owned
 * "vm.ram0"/"vm.ram1" (kept by id), finish. The map comes from those ids:
 * a user's allocation, whatever its name, never shows as guest RAM.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "bzimage-synth.h"
#include "layout.h"
#include "vmm.h"
#include "../check-run.h"

static struct gm_mem *mem;
static struct vmm_boot_plan *plan;
static struct vmm_entry entry;
static struct vmm_guest_ram ram;	/* the ids of the guest-RAM allocations */
static char image[] = "/tmp/kvmem-test-acpi-XXXXXX";

static uint8_t image_relocatable = 1;

/* A minimal valid bzImage (bzimage-synth.h), 64 KiB of code, in @image. */
static void make_image(void)
{
	size_t len;
	uint8_t *d = synth_bzimage(65536, image_relocatable, &len);
	int fd;

	ck_assert_ptr_nonnull(d);
	fd = mkstemp(image);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, d, len), (ssize_t)len);
	close(fd);
	free(d);
}

/* Guest RAM of @node (@size bytes, all of the buddy if 0), owned by the VM. */
static void alloc_ram(unsigned node, uint64_t size)
{
	struct gm_alloc_info *info;
	struct gm_node_stat st;
	struct gm_request req;
	struct gm_error e = { 0 };

	ck_assert_int_eq(gm_node_stat(mem, node, &st), 0);
	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), "vm.ram%u", node);
	snprintf(req.purpose, sizeof(req.purpose), "guest RAM, node %u", node);
	req.node = node;
	req.size = size ? size : st.avail;
	req.flags = GM_F_NOCLEAR;
	ck_assert_msg(gm_alloc(mem, &req, &info, &e) == 0, "%s", e.msg);
	ram.id[ram.nr++] = info->id;
	gm_alloc_info_free(info);
}

/*
 * Boot flow over @numa with an optional @initrd: place, retire, give every
 * pool to the guest ("vm.ramN"), finish; vCPU i on node i * nodes / cpus.
 */
static void boot(const char *numa, unsigned cpus, const char *initrd)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "console=ttyS0",
				    .initrd = initrd };
	struct vmm_topology t = { .nr_cpus = cpus };
	struct gm_config cfg;
	struct gm_error e = { 0 };

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa(numa, &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_msg(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
	t.nr_nodes = cfg.nr_nodes;
	for (unsigned i = 0; i < cpus; i++)
		t.cpu_node[i] = i * cfg.nr_nodes / cpus;
	make_image();
	a.kernel = image;
	ck_assert_msg(vmm_linux_place(mem, &a, &plan, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_retire(mem, &e) == 0, "%s", e.msg);
	ram.nr = 0;
	for (unsigned n = 0; n < cfg.nr_nodes; n++)
		alloc_ram(n, 0);
	ck_assert_msg(vmm_linux_finish(mem, plan, &t, &ram, &entry, &e) == 0, "%s",
		      e.msg);
}

static void setup(void)
{
	boot("0:256M,1:256M", 2, NULL);
}

static void teardown(void)
{
	vmm_boot_plan_free(plan);
	gm_mem_destroy(mem);
	plan = NULL;
	mem = NULL;
	unlink(image);
	strcpy(image, "/tmp/kvmem-test-acpi-XXXXXX");
	image_relocatable = 1;
}

static uint8_t *gpa(uint64_t a, uint64_t len)
{
	uint8_t *p = gm_mem_hva(mem, a, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The table with signature @sig in the XSDT, checksum verified; NULL if none. */
static uint8_t *table(const char *sig)
{
	uint8_t *rsdp = gpa(VMM_ACPI_START, 36);
	uint8_t *xsdt = gpa(u64(rsdp + 24), 36);
	uint32_t len = u32(xsdt + 4);

	ck_assert_mem_eq(xsdt, "XSDT", 4);
	for (uint32_t o = 36; o + 8 <= len; o += 8) {
		uint8_t *t = gpa(u64(xsdt + o), 36);

		if (!memcmp(t, sig, 4)) {
			t = gpa(u64(xsdt + o), u32(t + 4));
			ck_assert_uint_eq(sum(t, u32(t + 4)), 0);
			return t;
		}
	}
	return NULL;
}

/*
 * Expect: the zero page's e820 is exactly
 *   [0, 0x9f000) RAM, [0x9f000, 0xe0000) reserved, [0xe0000, 1M) ACPI,
 *   [1M, end of node 0) RAM, node 1's range RAM
 * because every pool was given to the guest; the RSDP address is there.
 */
START_TEST(test_e820_zero_page)
{
	uint8_t *zp = gpa(plan->zero_page, ZP_SIZE);
	struct gm_range r0, r1;
	struct { uint64_t a, s; uint32_t t; } want[5];
	unsigned n = zp[ZP_E820_ENTRIES];

	ck_assert_int_eq(gm_node_ranges(mem, 0, &r0, 1), 1);
	ck_assert_int_eq(gm_node_ranges(mem, 1, &r1, 1), 1);
	want[0].a = 0; want[0].s = VMM_LEGACY_START; want[0].t = VMM_E820_RAM;
	want[1].a = VMM_LEGACY_START; want[1].s = VMM_ACPI_START - VMM_LEGACY_START;
	want[1].t = VMM_E820_RESERVED;
	want[2].a = VMM_ACPI_START; want[2].s = VMM_ACPI_SIZE; want[2].t = VMM_E820_ACPI;
	want[3].a = VMM_LEGACY_END; want[3].s = r0.size - VMM_LEGACY_END;
	want[3].t = VMM_E820_RAM;
	want[4].a = r1.start; want[4].s = r1.size; want[4].t = VMM_E820_RAM;
	ck_assert_uint_eq(n, 5);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		ck_assert_uint_eq(u64(e), want[i].a);
		ck_assert_uint_eq(u64(e + 8), want[i].s);
		ck_assert_uint_eq(u32(e + 16), want[i].t);
	}
	ck_assert_uint_eq(u64(zp + ZP_ACPI_RSDP_ADDR), VMM_ACPI_START);
	ck_assert_uint_eq(entry.rip, plan->kernel + BP_ENTRY_64);
	ck_assert_uint_eq(entry.rsi, plan->zero_page);
}
END_TEST

/* Expect: RSDP "RSD PTR " revision 2 at 0xE0000, both checksums zero, XSDT sane. */
START_TEST(test_rsdp)
{
	uint8_t *r = gpa(VMM_ACPI_START, 36);

	ck_assert_mem_eq(r, "RSD PTR ", 8);
	ck_assert_uint_eq(r[15], 2);
	ck_assert_uint_eq(sum(r, 20), 0);
	ck_assert_uint_eq(sum(r, 36), 0);
	ck_assert_uint_eq(u32(r + 20), 36);
	ck_assert_uint_ge(u64(r + 24), VMM_ACPI_START);
	ck_assert_uint_lt(u64(r + 24), VMM_LEGACY_END);
	ck_assert_ptr_nonnull(table("FACP"));
	ck_assert_ptr_nonnull(table("APIC"));
	ck_assert_ptr_nonnull(table("SRAT"));
	ck_assert_ptr_nonnull(table("SLIT"));
}
END_TEST

/*
 * Expect: one enabled LAPIC per vCPU (IDs 0, 1), the IOAPIC, no override
 * for IRQ0 (KVM routes the PIT to pin 0), the SCI level/high.
 */
START_TEST(test_madt)
{
	uint8_t *t = table("APIC");
	uint32_t len = u32(t + 4);
	unsigned lapics = 0, ioapics = 0, iso0 = 0, iso9 = 0;

	ck_assert_uint_eq(u32(t + 36), 0xfee00000);
	for (uint32_t o = 44; o < len; o += t[o + 1]) {
		ck_assert_uint_ge(t[o + 1], 2);
		if (t[o] == 0) {
			ck_assert_uint_eq(t[o + 3], lapics);	/* APIC ID = vCPU */
			ck_assert_uint_eq(u32(t + o + 4) & 1, 1);
			lapics++;
		} else if (t[o] == 1) {
			ck_assert_uint_eq(u32(t + o + 4), 0xfec00000);
			ioapics++;
		} else if (t[o] == 2 && t[o + 3] == 0) {
			iso0++;
		} else if (t[o] == 2 && t[o + 3] == VMM_ACPI_SCI_IRQ) {
			ck_assert_uint_eq(u32(t + o + 4), VMM_ACPI_SCI_IRQ);
			ck_assert_uint_eq(t[o + 8] & 0xf, 0xd);	/* level, active high */
			iso9++;
		}
	}
	ck_assert_uint_eq(lapics, 2);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(iso0, 0);
	ck_assert_uint_eq(iso9, 1);
}
END_TEST

/*
 * Expect: SRAT puts vCPU i in domain i, and its memory entries are exactly
 * the RAM of e820, each in the domain of the node holding it; SLIT 10/20.
 */
START_TEST(test_srat_slit)
{
	uint8_t *t = table("SRAT"), *s = table("SLIT");
	uint8_t *zp = gpa(plan->zero_page, ZP_SIZE);
	uint32_t len = u32(t + 4);
	uint64_t ram = 0, srat_ram = 0;
	unsigned cpus = 0;

	for (unsigned i = 0; i < zp[ZP_E820_ENTRIES]; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		if (u32(e + 16) == VMM_E820_RAM)
			ram += u64(e + 8);
	}
	for (uint32_t o = 48; o < len; o += t[o + 1]) {
		if (t[o] == 0) {
			ck_assert_uint_eq(t[o + 2], t[o + 3]);	/* domain == APIC ID */
			cpus++;
		} else if (t[o] == 1) {
			uint64_t base = u64(t + o + 8), size = u64(t + o + 16);

			ck_assert_int_eq(gm_node_find(mem, base), (int)u32(t + o + 2));
			ck_assert_int_eq(gm_node_find(mem, base + size - 1),
					 (int)u32(t + o + 2));
			ck_assert_uint_eq(u32(t + o + 28) & 1, 1);
			srat_ram += size;
		}
	}
	ck_assert_uint_eq(cpus, 2);
	ck_assert_uint_eq(srat_ram, ram);
	ck_assert_uint_eq(u64(s + 36), 2);
	ck_assert_uint_eq(s[44], 10);
	ck_assert_uint_eq(s[45], 20);
	ck_assert_uint_eq(s[46], 20);
	ck_assert_uint_eq(s[47], 10);
}
END_TEST

/*
 * Expect: FADT with SMI_CMD 0, SCI 9, PM1a event/control at the ports
 * power.c decodes, a DSDT (checksum zero) whose AML is Name(_S5, Package
 * (4) {5, 5, 0, 0}), and the FACS 64-byte aligned.
 */
START_TEST(test_fadt_dsdt)
{
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08,
				      0x04, 0x0a, VMM_ACPI_S5_TYP };
	uint8_t *f = table("FACP"), *d;

	ck_assert_uint_eq(f[8], 6);
	ck_assert_uint_eq(u32(f + 48), 0);
	ck_assert_uint_eq(f[46], VMM_ACPI_SCI_IRQ);
	ck_assert_uint_eq(u32(f + 56), VMM_ACPI_PM1A_EVT);
	ck_assert_uint_eq(u32(f + 64), VMM_ACPI_PM1A_CNT);
	ck_assert_uint_eq(f[88], 4);
	ck_assert_uint_eq(f[89], 2);
	ck_assert_uint_eq(u64(f + 140), u32(f + 40));
	ck_assert_uint_eq(u32(f + 36), 0);	/* only X_FIRMWARE_CTRL */
	ck_assert_uint_eq(u64(f + 132) % 64, 0);
	ck_assert_mem_eq(gpa(u64(f + 132), 4), "FACS", 4);
	d = gpa(u64(f + 140), 36);
	ck_assert_mem_eq(d, "DSDT", 4);
	d = gpa(u64(f + 140), u32(d + 4));
	ck_assert_uint_eq(sum(d, u32(d + 4)), 0);
	ck_assert_uint_eq(u32(d + 4), 36 + 14);
	ck_assert_mem_eq(d + 36, s5, sizeof(s5));
}
END_TEST

/* One e820 entry of the zero page. */
static void e820_at(unsigned i, uint64_t *a, uint64_t *sz, uint32_t *type)
{
	uint8_t *zp = gpa(plan->zero_page, ZP_SIZE);
	uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

	ck_assert_uint_lt(i, zp[ZP_E820_ENTRIES]);
	*a = u64(e);
	*sz = u64(e + 8);
	*type = u32(e + 16);
}

/*
 * Expect: one 4 GiB node skips the MMIO hole: e820 RAM [1M, 3G) and
 * [4G, 5G), nothing in the hole, and SRAT gives both ranges to domain 0.
 */
START_TEST(test_one_node_across_hole)
{
	uint64_t a, sz, srat_ram = 0;
	uint32_t type, len;
	uint8_t *t;

	boot("0:4G", 1, NULL);
	ck_assert_uint_eq(gpa(plan->zero_page, ZP_SIZE)[ZP_E820_ENTRIES], 5);
	e820_at(3, &a, &sz, &type);
	ck_assert_uint_eq(a, VMM_LEGACY_END);
	ck_assert_uint_eq(a + sz, GM_MMIO_HOLE_START);
	ck_assert_uint_eq(type, VMM_E820_RAM);
	e820_at(4, &a, &sz, &type);
	ck_assert_uint_eq(a, GM_MMIO_HOLE_END);
	ck_assert_uint_eq(sz, 4ULL * 1024 * 1024 * 1024 - GM_MMIO_HOLE_START);
	t = table("SRAT");
	len = u32(t + 4);
	for (uint32_t o = 48; o < len; o += t[o + 1])
		if (t[o] == 1) {
			ck_assert_uint_eq(u32(t + o + 2), 0);
			srat_ram += u64(t + o + 16);
		}
	/* all of it but the legacy hole and the ACPI area */
	ck_assert_uint_eq(srat_ram, (4ULL << 30) - (VMM_LEGACY_END - VMM_LEGACY_START));
	ck_assert_ptr_nonnull(table("SLIT"));
	ck_assert_uint_eq(u64(table("SLIT") + 36), 1);
}
END_TEST

/*
 * Expect: an initrd that cannot fit in node 0 (32 MiB) goes above 4 GiB
 * for a kernel with XLF_CAN_BE_LOADED_ABOVE_4G, split over ramdisk_image
 * and ext_ramdisk_image, and stays RAM in e820.
 */
START_TEST(test_initrd_above_4g)
{
	char path[] = "/tmp/kvmem-test-initrd-XXXXXX";
	uint64_t at, a, sz;
	uint32_t type;
	uint8_t *zp;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 40 << 20), 0);
	ck_assert_int_eq(pwrite(fd, "kvmem", 5, (40 << 20) - 5), 5);
	close(fd);
	boot("0:32M,1:256M", 2, path);
	unlink(path);
	ck_assert_uint_ge(plan->initrd, GM_4G);
	ck_assert_uint_eq(plan->initrd_size, 40 << 20);
	zp = gpa(plan->zero_page, ZP_SIZE);
	at = u32(zp + BP_RAMDISK_IMAGE) | (uint64_t)u32(zp + ZP_EXT_RAMDISK_IMAGE) << 32;
	ck_assert_uint_eq(at, plan->initrd);
	ck_assert_mem_eq(gpa(at + (40 << 20) - 5, 5), "kvmem", 5);
	e820_at(4, &a, &sz, &type);
	ck_assert_uint_le(a, at);
	ck_assert_uint_ge(a + sz, at + (40 << 20));
	ck_assert_uint_eq(type, VMM_E820_RAM);
}
END_TEST

/*
 * Expect: guest RAM in 140 separate 4 KiB pieces (node 1's RAM allocation
 * fills the holes between 140 one-page user allocations, which are not
 * RAM) needs more than the zero page's 128 e820 entries:
 * vmm_linux_finish() fails with -E2BIG and leaves the zero page's map empty.
 */
START_TEST(test_e820_too_many)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "" };
	struct vmm_topology t = { .nr_cpus = 1, .nr_nodes = 2 };
	struct gm_range r1;
	struct gm_config cfg;
	struct gm_error e = { 0 };

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:64M,1:64M", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	make_image();
	a.kernel = image;
	ck_assert_msg(vmm_linux_place(mem, &a, &plan, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_node_ranges(mem, 1, &r1, 1), 1);
	for (unsigned i = 0; i < 140; i++) {
		struct gm_request req;

		gm_request_init(&req);
		snprintf(req.name, sizeof(req.name), "spacer%u", i);
		req.node = 1;
		req.size = VMM_PAGE;
		req.mode = GM_MODE_RANGE;
		req.range_start = r1.start + 2 * VMM_PAGE * i + VMM_PAGE;
		req.range_end = req.range_start + VMM_PAGE;
		ck_assert_msg(gm_alloc(mem, &req, NULL, &e) == 0, "%s", e.msg);
	}
	ram.nr = 0;
	alloc_ram(0, 0);
	{
		struct gm_alloc_info *info;
		struct gm_request req;

		gm_request_init(&req);
		req.owner = GM_OWNER_VM;
		snprintf(req.name, sizeof(req.name), "vm.ram1");
		req.node = 1;
		req.size = 140 * VMM_PAGE;
		req.mode = GM_MODE_RANGE;
		req.range_start = r1.start;
		req.range_end = r1.start + 280 * VMM_PAGE;
		ck_assert_msg(gm_alloc(mem, &req, &info, &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(info->nr_blocks, 140);
		ram.id[ram.nr++] = info->id;
		gm_alloc_info_free(info);
	}
	ck_assert_int_eq(vmm_linux_finish(mem, plan, &t, &ram, &entry, &e), -E2BIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "e820"));
	ck_assert_uint_eq(gpa(plan->zero_page, ZP_SIZE)[ZP_E820_ENTRIES], 0);
}
END_TEST

/*
 * Expect: in an 18 MiB node 0 the kernel's pref_address (16 MiB) has no
 * room for its init_size (4 MiB): a relocatable kernel goes elsewhere,
 * aligned to kernel_alignment (2 MiB) with init_size reserved as "kernel";
 * a non-relocatable one is refused with -ENOMEM before any load.
 */
START_TEST(test_kernel_relocation)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "" };
	struct gm_early_range r[32];
	struct gm_config cfg;
	struct gm_error e = { 0 };
	bool found = false;
	int n;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:18M", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	make_image();
	a.kernel = image;
	ck_assert_msg(vmm_linux_place(mem, &a, &plan, &e) == 0, "%s", e.msg);
	ck_assert_uint_ne(plan->kernel, 0x1000000);
	ck_assert_uint_eq(plan->kernel % 0x200000, 0);
	ck_assert_uint_eq(plan->entry.rip, plan->kernel + BP_ENTRY_64);
	n = gm_early_ranges(mem, 0, r, 32);
	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(r[i].label, "kernel")) {
			ck_assert_uint_eq(r[i].start, plan->kernel);
			ck_assert_uint_ge(r[i].size, 0x400000);
			found = true;
		}
	ck_assert(found);
	vmm_boot_plan_free(plan);
	plan = NULL;
	gm_mem_destroy(mem);

	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	unlink(image);
	strcpy(image, "/tmp/kvmem-test-acpi-XXXXXX");
	image_relocatable = 0;
	make_image();
	a.kernel = image;
	ck_assert_int_eq(vmm_linux_place(mem, &a, &plan, &e), -ENOMEM);
	ck_assert_ptr_nonnull(strstr(e.msg, "not relocatable"));
	ck_assert_ptr_null(plan);
}
END_TEST

/* Expect: sorting, overlap (higher type wins), merging of neighbours. */
START_TEST(test_e820_sanitize)
{
	struct vmm_e820 m = { 0 };

	/*
	 *   RAM  [0x5000, 0x9000)        RAM [0x1000,0x3000) RAM [0x3000,0x5000)
	 *   RES      [0x6000,0x7000)     ACPI [0x20000, 0x21000)  RAM at 0x21000
	 * Expect: RAM 0x1000-0x6000, RES 0x6000-0x7000, RAM 0x7000-0x9000,
	 *         ACPI 0x20000-0x21000, RAM 0x21000-0x22000
	 */
	ck_assert_int_eq(vmm_e820_add(&m, 0x5000, 0x4000, VMM_E820_RAM), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x21000, 0x1000, VMM_E820_RAM), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x6000, 0x1000, VMM_E820_RESERVED), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x1000, 0x2000, VMM_E820_RAM), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x20000, 0x1000, VMM_E820_ACPI), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x3000, 0x2000, VMM_E820_RAM), 0);
	ck_assert_int_eq(vmm_e820_add(&m, 0x9000, 0, VMM_E820_RAM), 0);
	ck_assert_int_eq(vmm_e820_add(&m, ~0ULL, 2, VMM_E820_RAM), -EINVAL);
	ck_assert_int_eq(vmm_e820_sanitize(&m), 0);
	ck_assert_uint_eq(m.nr, 5);
	ck_assert_uint_eq(m.e[0].addr, 0x1000);
	ck_assert_uint_eq(m.e[0].size, 0x5000);
	ck_assert_uint_eq(m.e[1].type, VMM_E820_RESERVED);
	ck_assert_uint_eq(m.e[1].addr, 0x6000);
	ck_assert_uint_eq(m.e[2].addr, 0x7000);
	ck_assert_uint_eq(m.e[2].size, 0x2000);
	ck_assert_uint_eq(m.e[3].type, VMM_E820_ACPI);
	ck_assert_uint_eq(m.e[4].addr, 0x21000);
	ck_assert_uint_eq(m.e[4].type, VMM_E820_RAM);
	/* sanitizing again changes nothing */
	ck_assert_int_eq(vmm_e820_sanitize(&m), 0);
	ck_assert_uint_eq(m.nr, 5);
	vmm_e820_release(&m);
}
END_TEST

/*
 * Expect: 256 vCPUs over 2 nodes build (the last one as x2APIC), every
 * table's checksum is zero; no CPU, a CPU on a missing node, or a buffer
 * too small fail with -EINVAL / -ENOSPC.
 */
START_TEST(test_acpi_build_limits)
{
	static uint8_t buf[VMM_ACPI_SIZE];
	struct vmm_acpi_mem m = { 1, GM_4G, 1 << 20, false };
	struct vmm_topology t = { .nr_cpus = 256, .nr_nodes = 2 };
	struct gm_error e = { 0 };
	unsigned x2 = 0;
	size_t used;
	uint8_t *x, *madt = NULL;

	for (unsigned i = 0; i < 256; i++)
		t.cpu_node[i] = i % 2;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), 0);
	x = buf + (u64(buf + 24) - 0xe0000);
	ck_assert_uint_eq(sum(x, u32(x + 4)), 0);
	for (uint32_t o = 36; o < u32(x + 4); o += 8) {
		uint8_t *tb = buf + (u64(x + o) - 0xe0000);

		ck_assert_uint_eq(sum(tb, u32(tb + 4)), 0);
		if (!memcmp(tb, "APIC", 4))
			madt = tb;
	}
	ck_assert_ptr_nonnull(madt);
	for (uint32_t o = 44; o < u32(madt + 4); o += madt[o + 1])
		if (madt[o] == 9) {
			ck_assert_uint_eq(u32(madt + o + 4), 255);
			x2++;
		}
	ck_assert_uint_eq(x2, 1);
	t.nr_cpus = 0;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), -EINVAL);
	t.nr_cpus = 2;
	t.cpu_node[1] = 2;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "node 2"));
	t.cpu_node[1] = 1;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, 200, &t, &m, 1,
					&used, &e), -ENOSPC);
}
END_TEST

/* The table with signature @sig, from the tables at @buf (gpa 0xe0000). */
static uint8_t *find_in(uint8_t *buf, const char *sig)
{
	uint8_t *x = buf + (u64(buf + 24) - 0xe0000);

	for (uint32_t o = 36; o < u32(x + 4); o += 8) {
		uint8_t *tb = buf + (u64(x + o) - 0xe0000);

		if (!memcmp(tb, sig, 4))
			return tb;
	}
	return NULL;
}

/*
 * The virtio-mmio devices in the DSDT, checked by an independent AML
 * parser: ACPICA's disassembler (iasl -d, acpica-tools) must find, for each
 * of 15 devices (enough for multi-byte PkgLengths), Device(VRnn) in \_SB
 * with _HID "LNRO0005", _UID nn, and a _CRS with its 4 KiB window and its
 * edge-triggered, active-high, exclusive interrupt; and \_S5 still there.
 * Expect also -EINVAL for a 16th device and for a window above 4 GiB.
 */
START_TEST(test_dsdt_devices)
{
	static uint8_t buf[VMM_ACPI_SIZE];
	struct vmm_acpi_mem m = { 0, 0x100000, 64 << 20, false };
	struct vmm_topology t = { .nr_cpus = 1, .nr_nodes = 1 };
	char dir[] = "/tmp/kvmem-test-dsdt-XXXXXX", path[128], cmd[512];
	struct gm_error e = { 0 };
	uint8_t *dsdt, *fadt;
	char *dsl = NULL;
	size_t used, dsl_len = 0;
	FILE *f;

	for (unsigned i = 0; i < VMM_VIRTIO_MAX_DEVS; i++) {
		uint64_t base, size;
		unsigned gsi;

		ck_assert_int_eq(vmm_virtio_slot(i, &base, &size, &gsi), 0);
		t.dev[t.nr_devs++] = (struct vmm_acpi_dev){ base, size, gsi };
	}
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), 0);
	fadt = find_in(buf, "FACP");
	ck_assert_ptr_nonnull(fadt);
	dsdt = buf + (u64(fadt + 140) - 0xe0000);
	ck_assert_mem_eq(dsdt, "DSDT", 4);
	ck_assert_uint_eq(sum(dsdt, u32(dsdt + 4)), 0);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(dsdt, 1, u32(dsdt + 4), f), u32(dsdt + 4));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1", dir);
	ck_assert_msg(system(cmd) == 0, "iasl -d failed (acpica-tools; see %s/iasl.log)", dir);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_gt(getdelim(&dsl, &dsl_len, '\0', f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(dsl, "Name (_S5, Package (0x04)"));
	ck_assert_ptr_nonnull(strstr(dsl, "Scope (\\_SB)"));
	for (unsigned i = 0; i < t.nr_devs; i++) {
		char want[512], *dev;

		snprintf(want, sizeof(want), "Device (VR%02X)", i);
		dev = strstr(dsl, want);
		ck_assert_msg(dev, "no %s", want);
		snprintf(want, sizeof(want),
			 "Name (_HID, \"LNRO0005\")");
		ck_assert_ptr_nonnull(strstr(dev, want));
		snprintf(want, sizeof(want),
			 "Memory32Fixed (ReadWrite,\n"
			 "                    0x%08X,         // Address Base\n"
			 "                    0x00001000,         // Address Length\n",
			 (unsigned)t.dev[i].base);
		ck_assert_msg(strstr(dev, want), "device %u: no %s", i, want);
		snprintf(want, sizeof(want),
			 "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n"
			 "                {\n"
			 "                    0x%08X,\n", t.dev[i].gsi);
		ck_assert_msg(strstr(dev, want), "device %u: no %s", i, want);
	}
	free(dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);

	t.nr_devs = VMM_VIRTIO_MAX_DEVS + 1;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), -EINVAL);
	t.nr_devs = 1;
	t.dev[0].base = GM_4G;
	ck_assert_int_eq(vmm_acpi_build(buf, 0xe0000, sizeof(buf), &t, &m, 1,
					&used, &e), -EINVAL);
}
END_TEST

/*
 * Expect: PkgLength in 1, 2 and 3 bytes at the boundaries of [ACPI]
 * 20.2.4 (63, 4095 bytes), names padded and bad names refused.
 */
START_TEST(test_aml_encoding)
{
	struct vmm_aml a = { 0 };
	static const uint8_t op = 0x10;
	uint8_t pad[5000];
	size_t mark;

	memset(pad, 0xab, sizeof(pad));
	mark = vmm_aml_open(&a, &op, 1);
	vmm_aml_bytes(&a, pad, 62);		/* 62 + 1 = 63: one byte */
	vmm_aml_close(&a, mark);
	ck_assert_int_eq(a.err, 0);
	ck_assert_uint_eq(a.len, 1 + 1 + 62);
	ck_assert_uint_eq(a.p[1], 63);
	vmm_aml_release(&a);

	mark = vmm_aml_open(&a, &op, 1);
	vmm_aml_bytes(&a, pad, 63);		/* 63 + 2 = 65: two bytes */
	vmm_aml_close(&a, mark);
	ck_assert_uint_eq(a.len, 1 + 2 + 63);
	ck_assert_uint_eq(a.p[1], 0x40 | (65 & 0xf));
	ck_assert_uint_eq(a.p[2], 65 >> 4);
	ck_assert_uint_eq(a.p[3], 0xab);
	vmm_aml_release(&a);

	mark = vmm_aml_open(&a, &op, 1);
	vmm_aml_bytes(&a, pad, 4094);		/* 4094 + 3 = 4097: three bytes */
	vmm_aml_close(&a, mark);
	ck_assert_uint_eq(a.len, 1 + 3 + 4094);
	ck_assert_uint_eq(a.p[1], 0x80 | (4097 & 0xf));
	ck_assert_uint_eq(a.p[2], (4097 >> 4) & 0xff);
	ck_assert_uint_eq(a.p[3], 4097 >> 12);
	vmm_aml_release(&a);

	vmm_aml_name(&a, "\\_SB.VR0");
	ck_assert_int_eq(a.err, 0);
	ck_assert_mem_eq(a.p, "\\\x2e_SB_VR0_", 10);
	vmm_aml_name(&a, "TOOLONG");
	ck_assert_int_eq(a.err, -EINVAL);
	vmm_aml_int(&a, 1);			/* sticky: nothing more */
	ck_assert_uint_eq(a.len, 10);
	vmm_aml_release(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *flow = tcase_create("flow"), *unit = tcase_create("unit");
	TCase *layouts = tcase_create("layouts");

	tcase_add_checked_fixture(flow, setup, teardown);
	tcase_set_timeout(flow, 60);
	tcase_add_test(flow, test_e820_zero_page);
	tcase_add_test(flow, test_rsdp);
	tcase_add_test(flow, test_madt);
	tcase_add_test(flow, test_srat_slit);
	tcase_add_test(flow, test_fadt_dsdt);
	tcase_add_test(unit, test_e820_sanitize);
	tcase_add_checked_fixture(layouts, NULL, teardown);
	tcase_set_timeout(layouts, 60);
	tcase_add_test(layouts, test_one_node_across_hole);
	tcase_add_test(layouts, test_initrd_above_4g);
	tcase_add_test(layouts, test_e820_too_many);
	tcase_add_test(layouts, test_kernel_relocation);
	suite_add_tcase(s, layouts);
	tcase_add_test(unit, test_acpi_build_limits);
	tcase_add_test(unit, test_dsdt_devices);
	tcase_add_test(unit, test_aml_encoding);
	suite_add_tcase(s, flow);
	suite_add_tcase(s, unit);
	return check_run(s);
}
