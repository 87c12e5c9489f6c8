/* SPDX-License-Identifier: MIT */
/*
 * fault-flat.S - a flat guest that dies: it prints one line, then executes
 * ud2 with no IDT, so #UD escalates to a triple fault. kvmem must end with
 * a non-zero status and a one-line reason naming the exit and the RIP:
 *   kvmem run: vcpu0: triple fault (KVM_EXIT_SHUTDOWN) at rip 0x...
 */
#define COM1		0x3f8
#define UART_LSR	5
#define LSR_THRE	0x20

	.code64
	.text
	.globl _start
_start:
	lea	msg(%rip), %rsi
1:	lodsb
	test	%al, %al
	jz	3f
	mov	%al, %bl
	mov	$COM1 + UART_LSR, %dx
2:	inb	%dx, %al
	test	$LSR_THRE, %al
	jz	2b
	mov	$COM1, %dx
	mov	%bl, %al
	outb	%al, %dx
	jmp	1b
3:	ud2
msg:	.asciz "fault-flat: about to triple fault\n"
