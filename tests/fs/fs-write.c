// SPDX-License-Identifier: MIT
/*
 * fs-write - write stdin to FILE in one write(2) and print the outcome:
 * "ok N" (bytes written) or the errno's name ("EINVAL"), so shell tests can
 * assert the exact errno of a control write. Exit status 0 on success, 1 on
 * a failed write, 2 on usage or open errors (the open's errno is printed).
 *
 * usage: fs-write [-t] FILE < DATA      (-t: open with O_TRUNC, like `>`)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT_BYTES (8u << 20)

int main(int argc, char **argv)
{
	int flags = O_WRONLY, fd, argi = 1;
	size_t len = 0;
	char *buf;
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "-t")) {
		flags |= O_TRUNC;
		argi++;
	}
	if (argi != argc - 1) {
		fprintf(stderr, "usage: fs-write [-t] FILE < DATA\n");
		return 2;
	}
	buf = malloc(MAX_INPUT_BYTES);
	if (!buf)
		return 2;
	while (len < MAX_INPUT_BYTES &&
	       (n = read(0, buf + len, MAX_INPUT_BYTES - len)) > 0)
		len += (size_t)n;
	fd = open(argv[argi], flags);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		free(buf);
		return 2;
	}
	n = write(fd, buf, len);
	if (n < 0)
		printf("%s\n", strerrorname_np(errno));
	else
		printf("ok %zd\n", n);
	fflush(stdout);
	close(fd);
	free(buf);
	return n < 0 ? 1 : 0;
}
