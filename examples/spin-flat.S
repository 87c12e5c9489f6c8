/* SPDX-License-Identifier: MIT */
/*
 * spin-flat.S - a flat guest that never ends by itself: it prints one line,
 * then counts in a loop, printing a dot every 2^28 iterations, for tests of
 * what stops a VM from outside (signals, vm/state in the filesystem).
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
	call	putc
	jmp	1b
3:	xor	%ecx, %ecx
4:	inc	%rcx
	test	$0x0fffffff, %ecx
	jnz	4b
	mov	$'.', %al
	call	putc
	jmp	4b

putc:
	mov	%al, %bl
	mov	$COM1 + UART_LSR, %dx
5:	inb	%dx, %al
	test	$LSR_THRE, %al
	jz	5b
	mov	$COM1, %dx
	mov	%bl, %al
	outb	%al, %dx
	ret
msg:	.asciz "spin-flat: running\n"
