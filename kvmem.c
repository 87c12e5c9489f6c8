// SPDX-License-Identifier: MIT
/* kvmem.c - dispatch `kvmem COMMAND ...` to its subcommand file. */
#include <stdio.h>
#include <string.h>

#include "kvmem.h"

struct kvmem_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct kvmem_cmd cmds[] = {
	{ "run", kvmem_cmd_run, "launch a guest with its memory pools (needs /dev/kvm)" },
	{ "serve", kvmem_cmd_serve, "mount the memory filesystem with no guest" },
	{ "replay", kvmem_cmd_replay, "run control-grammar commands from stdin, no KVM, no FUSE" },
	{ "domain", kvmem_cmd_domain, "print the kvmem run command of a libvirt domain XML" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmem COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n`kvmem COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kvmem 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kvmem: unknown command '%s' (try kvmem --help)\n", argv[1]);
	return 2;
}
