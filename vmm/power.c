// SPDX-License-Identifier: MIT
/*
 * power.c - the ways a guest ends itself, and nothing else:
 *
 *   PM1a_EVT 0x600 (4 bytes)  ACPI fixed event status/enable: kept, no events
 *   PM1a_CNT 0x604 (2 bytes)  SLP_TYP (bits 10-12) = 5 (\_S5) with SLP_EN
 *                             (bit 13) powers off; SCI_EN reads as set
 *   0xCF9                     reset control: RST_CPU (bit 2) resets
 *   0x64                      i8042 command 0xFE (pulse reset) resets; the
 *                             status reads 0 so a reboot's wait is short
 *
 * kvmem has no reboot: a reset ends the VM with status 0, like a poweroff.
 * Every other port is left to the vCPU loop's default (reads 0xff, writes
 * ignored), so probes of absent hardware do not stop the guest.
 */
#include <errno.h>
#include <stdlib.h>

#include "boot.h"
#include "vmm.h"

#define PM1_SCI_EN		0x0001
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_EN		0x2000
#define RST_CPU			0x04
#define I8042_CMD_RESET		0xfe
#define PORT_CF9		0xcf9
#define PORT_I8042_CMD		0x64

/* Lock: @lock; the handlers run on any vCPU thread. */
struct vmm_power {
	struct vmm *vm;
	pthread_mutex_t lock;
	uint8_t evt[4];
	uint16_t cnt;
	uint8_t cf9;
};

static void pm1_evt(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		    bool write)
{
	struct vmm_power *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < len && off + i < 4; i++) {
		if (!write)
			data[i] = p->evt[off + i];
		else if (off + i >= 2)
			p->evt[off + i] = data[i];	/* enable bits */
		/* status bits are write-1-to-clear and never set */
	}
	pthread_mutex_unlock(&p->lock);
}

static void pm1_cnt(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		    bool write)
{
	struct vmm_power *p = opaque;
	bool off_now = false;
	uint16_t v;

	pthread_mutex_lock(&p->lock);
	v = p->cnt | PM1_SCI_EN;
	for (unsigned i = 0; i < len && off + i < 2; i++) {
		unsigned shift = 8 * (off + i);

		if (write)
			v = (v & ~(0xff << shift)) | (data[i] << shift);
		else
			data[i] = v >> shift;
	}
	if (write) {
		if ((v & PM1_SLP_EN) &&
		    ((v >> PM1_SLP_TYP_SHIFT) & 7) == VMM_ACPI_S5_TYP)
			off_now = true;
		p->cnt = v & ~PM1_SLP_EN;	/* SLP_EN reads as 0 */
	}
	pthread_mutex_unlock(&p->lock);
	if (off_now)
		vmm_stop(p->vm, 0, "guest poweroff (ACPI S5)");
}

static void reset_cf9(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		      bool write)
{
	struct vmm_power *p = opaque;

	(void)off;
	(void)len;
	if (!write) {
		data[0] = p->cf9;
		return;
	}
	p->cf9 = data[0] & ~RST_CPU;
	if (data[0] & RST_CPU)
		vmm_stop(p->vm, 0, "guest reset (port 0xcf9)");
}

static void i8042_cmd(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		      bool write)
{
	struct vmm_power *p = opaque;

	(void)off;
	(void)len;
	if (!write)
		data[0] = 0;	/* input and output buffers empty */
	else if (data[0] == I8042_CMD_RESET)
		vmm_stop(p->vm, 0, "guest reset (i8042)");
}

static const struct {
	uint64_t base, len;
	vmm_io_fn fn;
} ports[] = {
	{ VMM_ACPI_PM1A_EVT, 4, pm1_evt },
	{ VMM_ACPI_PM1A_CNT, 2, pm1_cnt },
	{ PORT_CF9, 1, reset_cf9 },
	{ PORT_I8042_CMD, 1, i8042_cmd },
};

#define NR_PORTS (sizeof(ports) / sizeof(ports[0]))

int vmm_power_init(struct vmm *vm, struct vmm_power **out)
{
	struct vmm_power *p = calloc(1, sizeof(*p));
	unsigned i;
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	for (i = 0; i < NR_PORTS; i++) {
		ret = vmm_bus_register(vmm_pio_bus(vm), ports[i].base,
				       ports[i].len, ports[i].fn, p);
		if (ret)
			goto err;
	}
	*out = p;
	return 0;
err:
	while (i--)
		vmm_bus_unregister(vmm_pio_bus(vm), ports[i].base);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}

void vmm_power_exit(struct vmm_power *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < NR_PORTS; i++)
		vmm_bus_unregister(vmm_pio_bus(p->vm), ports[i].base);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
