// SPDX-License-Identifier: MIT
/* kvmem-run.c - `kvmem run`. Placeholder until its issue lands. */
#include <stdio.h>

#include "kvmem.h"

int kvmem_cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "kvmem run: not built yet\n");
	return 1;
}
