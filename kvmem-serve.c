// SPDX-License-Identifier: MIT
/* kvmem-serve.c - `kvmem serve`. Placeholder until its issue lands. */
#include <stdio.h>

#include "kvmem.h"

int kvmem_cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "kvmem serve: not built yet\n");
	return 1;
}
