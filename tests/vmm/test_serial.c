// SPDX-License-Identifier: MIT
/*
 * test_serial.c - vmm/serial.c's 16550A register model, driven through its
 * bus handler as a guest driver would, with a pipe as the console and a
 * recorder as the interrupt line.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm.h"
#include "../check-run.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
       LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static struct vmm_serial *s;
static int pipefd[2];
static int irq_level, irq_edges;

static void set_irq(void *opaque, int level)
{
	(void)opaque;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static uint8_t in(unsigned reg)
{
	uint8_t v = 0xee;

	vmm_serial_io(s, reg, &v, 1, false);
	return v;
}

static void out(unsigned reg, uint8_t v)
{
	vmm_serial_io(s, reg, &v, 1, true);
}

/* Bytes the UART sent to the console so far, as a string. */
static const char *console(void)
{
	static char buf[256];
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void setup(void)
{
	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK), 0);
	irq_level = irq_edges = 0;
	ck_assert_int_eq(vmm_serial_create(pipefd[1], set_irq, NULL, &s), 0);
}

static void teardown(void)
{
	vmm_serial_destroy(s);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* After reset: transmitter empty, nothing pending, scratch works. */
START_TEST(test_reset_state)
{
	ck_assert_uint_eq(in(LSR), 0x60);
	ck_assert_uint_eq(in(IIR), 0x01);
	out(SCR, 0x5a);
	ck_assert_uint_eq(in(SCR), 0x5a);
	ck_assert_int_eq(irq_level, 0);
}
END_TEST

/* With DLAB set, offsets 0 and 1 are the divisor latch: nothing is sent. */
START_TEST(test_divisor_latch)
{
	out(LCR, 0x83);
	out(DLL, 0x01);
	out(DLM, 0x00);
	ck_assert_uint_eq(in(DLL), 0x01);
	ck_assert_uint_eq(in(DLM), 0x00);
	out(LCR, 0x03);
	ck_assert_str_eq(console(), "");
	out(THR, 'o');
	out(THR, 'k');
	ck_assert_str_eq(console(), "ok");
	ck_assert_uint_eq(in(LCR), 0x03);
}
END_TEST

/* The THRE interrupt: raised when THRI is enabled with the transmitter
 * empty, cleared by reading IIR, raised again after each transmitted byte.
 * Expect one rising edge per event (what Linux's tty layer waits for). */
START_TEST(test_thre_interrupt)
{
	out(MCR, 0x08);			/* OUT2: interrupts reach the PIC */
	ck_assert_int_eq(irq_level, 0);
	out(IER, 0x02);
	ck_assert_int_eq(irq_level, 1);
	ck_assert_uint_eq(in(IIR), 0x02);
	ck_assert_int_eq(irq_level, 0);
	ck_assert_uint_eq(in(IIR), 0x01);	/* cleared by the first read */
	out(THR, 'a');
	ck_assert_int_eq(irq_level, 1);
	ck_assert_int_eq(irq_edges, 2);
	out(IER, 0x00);				/* Linux's stop_tx */
	ck_assert_int_eq(irq_level, 0);
	ck_assert_str_eq(console(), "a");
}
END_TEST

/* Without OUT2 the line stays low even with a source pending. */
START_TEST(test_out2_gates_irq)
{
	out(IER, 0x02);
	ck_assert_int_eq(irq_level, 0);
	ck_assert_uint_eq(in(IIR), 0x02);
}
END_TEST

/* Received bytes: DR set, RDI reported above THRI, bytes in order, and the
 * FIFO holds 16: the 17th is not taken. */
START_TEST(test_receive)
{
	uint8_t buf[20];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 'A' + i;
	out(MCR, 0x08);
	out(IER, 0x03);
	(void)in(IIR);			/* consume the THRE event */
	ck_assert_int_eq(irq_level, 0);
	ck_assert_uint_eq(vmm_serial_input(s, buf, sizeof(buf)), VMM_SERIAL_FIFO);
	ck_assert_int_eq(irq_level, 1);
	ck_assert_uint_eq(in(LSR) & 0x01, 0x01);
	ck_assert_uint_eq(in(IIR), 0x04);
	for (unsigned i = 0; i < VMM_SERIAL_FIFO; i++)
		ck_assert_uint_eq(in(RBR), 'A' + i);
	ck_assert_uint_eq(in(LSR) & 0x01, 0);
	ck_assert_int_eq(irq_level, 0);
	ck_assert_uint_eq(vmm_serial_input(s, buf, 1), 1);
	ck_assert_uint_eq(in(RBR), 'A');
}
END_TEST

/* Linux's autoconfig: loopback mirrors MCR into MSR (0x0A -> 0x90), FIFO
 * enable shows in IIR bits 7:6, IER keeps only its 4 defined bits. */
START_TEST(test_autoconfig_probes)
{
	out(MCR, 0x10 | 0x0a);
	ck_assert_uint_eq(in(MSR) & 0xf0, 0x90);
	out(MCR, 0x10 | 0x05);
	ck_assert_uint_eq(in(MSR) & 0xf0, 0x60);
	out(THR, 'L');			/* loopback: back into our own RX */
	ck_assert_str_eq(console(), "");
	ck_assert_uint_eq(in(LSR) & 0x01, 0x01);
	ck_assert_uint_eq(in(RBR), 'L');
	out(MCR, 0x00);
	out(FCR, 0x01);
	ck_assert_uint_eq(in(IIR) & 0xc0, 0xc0);
	out(FCR, 0x00);
	ck_assert_uint_eq(in(IIR) & 0xc0, 0x00);
	out(IER, 0xff);
	ck_assert_uint_eq(in(IER), 0x0f);
}
END_TEST

/* A 2-byte access touches two consecutive registers. */
START_TEST(test_wide_access)
{
	uint8_t v[2] = { 0x03, 0x0b };

	vmm_serial_io(s, LCR, v, 2, true);
	ck_assert_uint_eq(in(LCR), 0x03);
	ck_assert_uint_eq(in(MCR), 0x0b);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("vmm_serial");
	TCase *tc = tcase_create("16550a");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reset_state);
	tcase_add_test(tc, test_divisor_latch);
	tcase_add_test(tc, test_thre_interrupt);
	tcase_add_test(tc, test_out2_gates_irq);
	tcase_add_test(tc, test_receive);
	tcase_add_test(tc, test_autoconfig_probes);
	tcase_add_test(tc, test_wide_access);
	suite_add_tcase(su, tc);
	return check_run(su);
}
