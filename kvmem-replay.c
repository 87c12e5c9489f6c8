// SPDX-License-Identifier: MIT
/* kvmem-replay.c - `kvmem replay`. Placeholder until its issue lands. */
#include <stdio.h>

#include "kvmem.h"

int kvmem_cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "kvmem replay: not built yet\n");
	return 1;
}
