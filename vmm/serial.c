// SPDX-License-Identifier: MIT
/*
 * serial.c - an 8250/16550A UART (COM1, 0x3f8, IRQ 4) and the console
 * behind it.
 *
 * The register model follows the 16550A data sheet closely enough for
 * Linux's 8250 driver: scratch register, loopback (MSR mirrors MCR), FIFO
 * detection through IIR bits 7:6, and real interrupts. The THRE interrupt
 * matters most: Linux's tty layer sends a FIFO's worth of bytes per THRE
 * interrupt and stalls without it. As on real parts, the THRE interrupt is
 * pending after the transmitter empties (every byte is transmitted at once
 * here) or when IER.THRI is switched on with the transmitter empty, and is
 * cleared by reading IIR while it is the reported source or by writing THR.
 * The interrupt line is driven to the "any source pending" level at every
 * change, so the edge-triggered ISA IRQ 4 sees one rising edge per event.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm.h"

/* Register offsets and bits (16550A data sheet names). */
#define UART_RX		0
#define UART_TX		0
#define UART_DLL	0
#define UART_IER	1
#define UART_DLM	1
#define UART_IIR	2
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DELTAS	0x0f
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

/* Lock: @lock protects every field; set_irq is called with it held. */
struct vmm_serial {
	pthread_mutex_t lock;
	uint8_t dll, dlm, ier, fcr, lcr, mcr, lsr, msr, scr;
	bool thri_pending;
	uint8_t rx[VMM_SERIAL_FIFO];
	unsigned rx_head, rx_len;
	int out_fd;
	int irq_level;
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
};

/* The highest-priority pending source, as IIR reports it. */
static uint8_t iir_source(const struct vmm_serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct vmm_serial *s)
{
	int level = iir_source(s) != IIR_NO_INT;

	/* OUT2 gates the interrupt on PC-compatible boards. */
	if (!(s->mcr & MCR_OUT2))
		level = 0;
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_opaque, level);
	}
}

static void rx_push(struct vmm_serial *s, uint8_t c)
{
	if (s->rx_len == VMM_SERIAL_FIFO) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_len) % VMM_SERIAL_FIFO] = c;
	s->rx_len++;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct vmm_serial *s)
{
	uint8_t c;

	if (!s->rx_len)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % VMM_SERIAL_FIFO;
	if (!--s->rx_len)
		s->lsr &= ~LSR_DR;
	return c;
}

static void transmit(struct vmm_serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP)
		rx_push(s, c);
	else if (s->out_fd >= 0) {
		ssize_t n;

		do
			n = write(s->out_fd, &c, 1);
		while (n < 0 && errno == EINTR);
	}
	/* Transmitted at once: the holding register is empty again. */
	s->lsr |= LSR_THRE | LSR_TEMT;
	s->thri_pending = true;
}

/* In loopback, the modem inputs mirror the modem outputs. */
static uint8_t msr_value(const struct vmm_serial *s)
{
	uint8_t m = s->msr & MSR_DELTAS;

	if (!(s->mcr & MCR_LOOP))
		return m | MSR_DCD | MSR_DSR | MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint8_t reg_read(struct vmm_serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = iir_source(s);
		if (v == IIR_THRI)
			s->thri_pending = false;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = s->lsr;
		s->lsr &= ~LSR_OE;
		return v;
	case UART_MSR:
		v = msr_value(s);
		s->msr &= ~MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

static void reg_write(struct vmm_serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			s->dll = v;
			break;
		}
		s->thri_pending = false;
		transmit(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Switching THRI on with an empty transmitter raises it. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI) &&
		    (s->lsr & LSR_THRE))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		if (v & FCR_CLEAR_RX) {
			s->rx_len = 0;
			s->lsr &= ~LSR_DR;
		}
		s->fcr = v & (FCR_ENABLE | 0xc0);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only (factory test writes ignored) */
	default:
		s->scr = v;
		break;
	}
}

void vmm_serial_io(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		   bool write)
{
	struct vmm_serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	/* Wider accesses touch consecutive registers, one byte each. */
	for (unsigned i = 0; i < len; i++) {
		unsigned reg = (off + i) & 7;

		if (write)
			reg_write(s, reg, data[i]);
		else
			data[i] = reg_read(s, reg);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t vmm_serial_input(struct vmm_serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_len < VMM_SERIAL_FIFO)
		rx_push(s, buf[n++]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void vmm_serial_set_out(struct vmm_serial *s, int out_fd)
{
	pthread_mutex_lock(&s->lock);
	s->out_fd = out_fd;
	pthread_mutex_unlock(&s->lock);
}

int vmm_serial_create(int out_fd, void (*set_irq)(void *opaque, int level),
		      void *irq_opaque, struct vmm_serial **out)
{
	struct vmm_serial *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return -ENOMEM;
	}
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->dll = 12;		/* 9600 baud, as a BIOS leaves it */
	*out = s;
	return 0;
}

void vmm_serial_destroy(struct vmm_serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
