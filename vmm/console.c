// SPDX-License-Identifier: MIT
/*
 * console.c - what sits behind COM1: the terminal or a file.
 *
 * "stdio": the UART transmits to stdout; keys typed on stdin go to the
 * UART's receiver. When stdin is a terminal it is put in raw mode (so the
 * guest gets every key, Ctrl-C included) and restored by
 * vmm_console_close() and, as a safety net, by an atexit handler; Ctrl-A x
 * stops the VM (status 0), Ctrl-A Ctrl-A sends one Ctrl-A.
 * Any other value is a file path: output only, created or truncated.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"
#include "vmm.h"

#define CTRL_A		0x01

struct vmm_console {
	struct vmm *vm;
	struct vmm_serial *uart;
	int out_fd;
	bool own_out;
	int in_fd;			/* -1: no input */
	int stop_pipe[2];
	pthread_t thread;
	bool thread_started;
	bool registered;
};

/* The terminal as we found it; one console per process. */
static struct termios saved_tio;
static bool tio_saved;
static pthread_mutex_t tio_lock = PTHREAD_MUTEX_INITIALIZER;

static void restore_terminal(void)
{
	pthread_mutex_lock(&tio_lock);
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = false;
	}
	pthread_mutex_unlock(&tio_lock);
}

static int raw_terminal(void)
{
	static bool atexit_done;
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &tio))
		return -errno;
	pthread_mutex_lock(&tio_lock);
	saved_tio = tio;
	tio_saved = true;
	pthread_mutex_unlock(&tio_lock);
	if (!atexit_done && !atexit(restore_terminal))
		atexit_done = true;
	cfmakeraw(&tio);
	tio.c_oflag |= OPOST;		/* kvmem's own messages keep their \n */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio)) {
		restore_terminal();
		return -errno;
	}
	return 0;
}

static void set_irq(void *opaque, int level)
{
	vmm_irq_line(opaque, VMM_COM1_IRQ, level);
}

/* Hand @len bytes to the UART, waiting while its FIFO is full. */
static bool feed(struct vmm_console *c, const uint8_t *buf, size_t len)
{
	struct pollfd p = { .fd = c->stop_pipe[0], .events = POLLIN };

	while (len) {
		size_t n = vmm_serial_input(c->uart, buf, len);

		buf += n;
		len -= n;
		if (len && poll(&p, 1, 10) > 0)
			return false;
	}
	return true;
}

static void *input_thread(void *arg)
{
	struct vmm_console *c = arg;
	bool escape = false;

	sbx_enter(SBX_CONSOLE, "console input");
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->in_fd, .events = POLLIN },
			{ .fd = c->stop_pipe[0], .events = POLLIN },
		};
		uint8_t buf[64], out[128];
		size_t n_out = 0;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = read(c->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;		/* EOF: the guest just gets no more input */
		for (ssize_t i = 0; i < n; i++) {
			if (escape) {
				escape = false;
				if (buf[i] == 'x') {
					vmm_stop(c->vm, 0, "console: Ctrl-A x");
					return NULL;
				}
				if (buf[i] != CTRL_A)
					out[n_out++] = CTRL_A;
				out[n_out++] = buf[i];
			} else if (buf[i] == CTRL_A && c->in_fd == STDIN_FILENO &&
				   tio_saved) {
				escape = true;
			} else {
				out[n_out++] = buf[i];
			}
		}
		if (!feed(c, out, n_out))
			break;
	}
	return NULL;
}

int vmm_console_open(struct vmm *vm, const char *spec,
		     struct vmm_console **out, struct gm_error *e)
{
	struct vmm_console *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return gm_error_set(e, ENOMEM, "out of memory");
	c->vm = vm;
	c->in_fd = -1;
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	if (!spec || !strcmp(spec, "stdio")) {
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
	} else {
		c->out_fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			ret = gm_error_set(e, errno, "--console %s: %s", spec,
					   strerror(errno));
			free(c);
			return ret;
		}
		c->own_out = true;
	}
	ret = vmm_serial_create(c->out_fd, set_irq, vm, &c->uart);
	if (ret)
		goto err;
	ret = vmm_bus_register(vmm_pio_bus(vm), VMM_COM1_BASE, 8, vmm_serial_io,
			       c->uart);
	if (ret)
		goto err;
	c->registered = true;
	if (c->in_fd >= 0) {
		if (pipe2(c->stop_pipe, O_CLOEXEC)) {
			ret = -errno;
			goto err;
		}
		if (isatty(c->in_fd))
			raw_terminal();		/* best effort: output works anyway */
		ret = -pthread_create(&c->thread, NULL, input_thread, c);
		if (ret)
			goto err;
		c->thread_started = true;
	}
	*out = c;
	return 0;
err:
	gm_error_set(e, ret, "console: %s", strerror(-ret));
	vmm_console_close(c);
	return ret;
}

void vmm_console_close(struct vmm_console *c)
{
	if (!c)
		return;
	if (c->thread_started) {
		if (write(c->stop_pipe[1], "x", 1) < 0)
			pthread_cancel(c->thread);
		pthread_join(c->thread, NULL);
	}
	restore_terminal();
	if (c->registered)
		vmm_bus_unregister(vmm_pio_bus(c->vm), VMM_COM1_BASE);
	vmm_serial_destroy(c->uart);
	for (int i = 0; i < 2; i++)
		if (c->stop_pipe[i] >= 0)
			close(c->stop_pipe[i]);
	if (c->own_out)
		close(c->out_fd);
	free(c);
}
