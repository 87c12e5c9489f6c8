/* SPDX-License-Identifier: MIT */
/* kvmem.h - the subcommands kvmem.c dispatches to, one file each. */
#ifndef KVMEM_H
#define KVMEM_H

/* Each returns main()'s exit status; prints its own one-line errors. */
int kvmem_cmd_run(int argc, char **argv);
int kvmem_cmd_serve(int argc, char **argv);
int kvmem_cmd_replay(int argc, char **argv);
int kvmem_cmd_domain(int argc, char **argv);

#endif
