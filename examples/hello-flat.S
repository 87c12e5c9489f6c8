/* SPDX-License-Identifier: MIT */
/*
 * hello-flat.S - the smallest kvmem guest: `kvmem run --flat
 * hello-flat.bin@0x100000 --mem 16M`. Entered in 64-bit long mode at its
 * load address (vmm/flat.c documents the entry state); prints its entry
 * state over COM1 with polled I/O, then powers off through the ACPI PM1a
 * control port, so kvmem exits with status 0. Output:
 *
 *   hello from a kvmem flat guest
 *   rip=0x0000000000100000 cs=0x0000000000000010 rsi=0x0000000000000000
 *   apic=0x0000000000000000
 *   poweroff
 */
#define COM1		0x3f8
#define UART_LCR	3
#define UART_LSR	5
#define LSR_THRE	0x20
#define PM1A_CNT	0x604
#define S5_SLP_EN	0x3400		/* SLP_TYP 5 << 10 | SLP_EN (1 << 13) */

	.code64
	.text
	.globl _start
_start:
	mov	%rsi, %r12		/* entry RSI, must be 0 */
	lea	_start(%rip), %r13	/* where we run, must be the load address */
	mov	%cs, %r14

	mov	$COM1 + UART_LCR, %dx	/* 8 data bits, no parity, 1 stop */
	mov	$0x03, %al
	outb	%al, %dx

	lea	msg_hello(%rip), %rsi
	call	puts
	lea	msg_rip(%rip), %rsi
	call	puts
	mov	%r13, %rax
	call	puthex
	lea	msg_cs(%rip), %rsi
	call	puts
	mov	%r14, %rax
	call	puthex
	lea	msg_rsi(%rip), %rsi
	call	puts
	mov	%r12, %rax
	call	puthex

	mov	$1, %eax		/* CPUID.1:EBX[31:24] = initial APIC ID */
	cpuid
	shr	$24, %ebx
	lea	msg_apic(%rip), %rsi
	call	puts
	mov	%rbx, %rax
	call	puthex

	lea	msg_off(%rip), %rsi
	call	puts

	mov	$PM1A_CNT, %dx
	mov	$S5_SLP_EN, %ax
	outw	%ax, %dx
1:	cli				/* not reached when poweroff works */
	hlt
	jmp	1b

/* putc: the byte in %al, once the transmitter holding register is empty. */
putc:
	mov	%eax, %ecx
	mov	$COM1 + UART_LSR, %dx
2:	inb	%dx, %al
	test	$LSR_THRE, %al
	jz	2b
	mov	$COM1, %dx
	mov	%ecx, %eax
	outb	%al, %dx
	ret

/* puts: the NUL-terminated string at %rsi. */
puts:
	lodsb
	test	%al, %al
	jz	3f
	call	putc
	jmp	puts
3:	ret

/* puthex: %rax as 0x and 16 hex digits. */
puthex:
	mov	%rax, %r8
	mov	$'0', %al
	call	putc
	mov	$'x', %al
	call	putc
	mov	$16, %r9d
4:	rol	$4, %r8
	mov	%r8d, %eax
	and	$0xf, %eax
	lea	hexdigits(%rip), %r10
	movb	(%r10,%rax), %al
	call	putc
	dec	%r9d
	jnz	4b
	ret

	/* Data stays in .text: objcopy -j .text gives the whole image. */
hexdigits:	.ascii "0123456789abcdef"
msg_hello:	.asciz "hello from a kvmem flat guest\n"
msg_rip:	.asciz "rip="
msg_cs:		.asciz " cs="
msg_rsi:	.asciz " rsi="
msg_apic:	.asciz "\napic="
msg_off:	.asciz "\npoweroff\n"
