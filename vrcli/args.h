/*
 * args.h - declarative command-line option parsing for vrcli.
 *
 * Owns: the option spec (struct args_opt: name, value placeholder, help line) and the one
 * parser that every command and the global options go through, so that `--help`, `-h`,
 * `--name=value`, `--name value` and `--` behave the same everywhere.
 *
 * Ownership: struct args borrows the spec and argv strings; nothing is allocated.
 */
#ifndef VRCLI_ARGS_H
#define VRCLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ARGS_MAX_OPTS 12
#define ARGS_MAX_POS 4

/* One long option; a spec array ends with an entry whose name is NULL. */
struct args_opt {
	const char *name;    /* without the leading "--" */
	const char *metavar; /* placeholder of its value, NULL for a flag */
	const char *help;
};

/* The result of parsing: values by spec index, positional arguments in order. */
struct args {
	const struct args_opt *spec;
	const char *val[ARGS_MAX_OPTS]; /* "" for a flag that was given; NULL when absent */
	char *pos[ARGS_MAX_POS];
	int npos;
	char **rest; /* with stop_at_pos: argv from the first positional on */
	int nrest;
};

enum args_status { ARGS_OK, ARGS_HELP, ARGS_ERROR };

/* args_parse - parse ARGV against SPEC into *a; on ARGS_ERROR ERR says why */
enum args_status args_parse(struct args *a, const struct args_opt *spec, int argc,
			    char **argv, bool stop_at_pos, char *err, size_t errlen);

/* args_get - the value of option NAME, or NULL; NAME must be in the spec */
const char *args_get(const struct args *a, const char *name);

/* args_has - whether option NAME was given; NAME must be in the spec */
bool args_has(const struct args *a, const char *name);

/* args_print_options - the spec, then -h/--help, as an indented, aligned help block */
void args_print_options(const struct args_opt *spec, FILE *f);

#endif
