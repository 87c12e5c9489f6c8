// SPDX-License-Identifier: MIT
/*
 * fs-write - write stdin to FILE in one write(2) and print the outcome:
 * "ok N" (bytes written) or the errno's name ("EINVAL"), so shell tests can
 * assert the exact errno of a control write. Exit status 0 on success, 1 on
 * a failed write, 2 on usage or open errors (the open's errno is printed).
 * With -r it reads instead: one read(2) of N bytes, printing "ok GOT".
 * shell tools (dd, echo) may split or align what they do; this does not.
 *
 * usage: fs-write [-t] [-o OFFSET] FILE < DATA   (-t: open with O_TRUNC, like `>`)
 *        fs-write -r N [-o OFFSET] FILE          (one read of N bytes at OFFSET)
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
	long long off = -1, rd = -1;
	size_t len = 0;
	char *buf;
	ssize_t n;

	for (; argi < argc - 1 && argv[argi][0] == '-'; argi++) {
		if (!strcmp(argv[argi], "-t")) {
			flags |= O_TRUNC;
		} else if (!strcmp(argv[argi], "-o") && argi + 2 < argc) {
			off = atoll(argv[++argi]);
		} else if (!strcmp(argv[argi], "-r") && argi + 2 < argc) {
			rd = atoll(argv[++argi]);
			flags = O_RDONLY;
		} else {
			break;
		}
	}
	if (argi != argc - 1 || rd > (long long)MAX_INPUT_BYTES) {
		fprintf(stderr, "usage: fs-write [-t] [-o OFFSET] FILE < DATA | fs-write -r N [-o OFFSET] FILE\n");
		return 2;
	}
	buf = malloc(MAX_INPUT_BYTES);
	if (!buf)
		return 2;
	while (rd < 0 && len < MAX_INPUT_BYTES &&
	       (n = read(0, buf + len, MAX_INPUT_BYTES - len)) > 0)
		len += (size_t)n;
	fd = open(argv[argi], flags);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		free(buf);
		return 2;
	}
	if (rd >= 0)
		n = off >= 0 ? pread(fd, buf, (size_t)rd, off) : read(fd, buf, (size_t)rd);
	else
		n = off >= 0 ? pwrite(fd, buf, len, off) : write(fd, buf, len);
	if (n < 0)
		printf("%s\n", strerrorname_np(errno));
	else
		printf("ok %zd\n", n);
	fflush(stdout);
	close(fd);
	free(buf);
	return n < 0 ? 1 : 0;
}
