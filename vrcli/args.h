/*
 * args.h - declarative command-line option parsing for vrcli.
 *
 * Owns: the option spec (struct args_opt: name, value placeholder, help line) and the one
 * parser that every command and the global options go through, so that `--help`, `-h`,
 * `--name=value`, `--name value` and `--` behave the same everywhere. A spec may also name
 * one-letter options (`-o FILE`), where a convention asks for one.
 *
 * An option given twice keeps its last value for args_get(); args_count() and args_nth()
 * see every occurrence, which is how repeatable options (--uri A --uri B) are read.
 *
 * Ownership: struct args borrows the spec and argv strings; nothing is allocated.
 */
#ifndef VRCLI_ARGS_H
#define VRCLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ARGS_MAX_OPTS 24
#define ARGS_MAX_POS 4	   /* positional arguments args_parse() accepts */
#define ARGS_POS_CAP 1024  /* the most args_parse_n() can be asked to accept */
#define ARGS_MAX_VALUES 64 /* option occurrences in one command line */

/* One option; a spec array ends with an entry whose name is NULL. A name of one character
 * is a short option, spelled -X (-X VALUE); longer names are spelled --NAME. A longer word
 * starting with a single '-' is a positional argument (IDs may start with '-'). */
struct args_opt {
	const char *name;    /* without the leading "--" (or "-") */
	const char *metavar; /* placeholder of its value, NULL for a flag */
	const char *help;
};

/* The result of parsing: values by spec index, positional arguments in order. */
struct args {
	const struct args_opt *spec;
	const char *val[ARGS_MAX_OPTS]; /* "" for a flag that was given; NULL when absent */
	char *pos[ARGS_POS_CAP];
	int npos;
	char **rest; /* with stop_at_pos: argv from the first positional on */
	int nrest;
	struct {
		int opt;	 /* spec index */
		const char *val; /* as in val[] */
	} seq[ARGS_MAX_VALUES]; /* every option given, in order: repeated ones all count */
	int nseq;
};

enum args_status { ARGS_OK, ARGS_HELP, ARGS_ERROR };

/* args_parse - parse ARGV against SPEC into *a; on ARGS_ERROR ERR says why */
enum args_status args_parse(struct args *a, const struct args_opt *spec, int argc,
			    char **argv, bool stop_at_pos, char *err, size_t errlen);

/* args_parse_n - args_parse(), accepting up to MAX_POS (<= ARGS_POS_CAP) positionals */
enum args_status args_parse_n(struct args *a, const struct args_opt *spec, int argc,
			      char **argv, bool stop_at_pos, int max_pos, char *err,
			      size_t errlen);

/* args_get - the value of option NAME, or NULL; NAME must be in the spec */
const char *args_get(const struct args *a, const char *name);

/* args_has - whether option NAME was given; NAME must be in the spec */
bool args_has(const struct args *a, const char *name);

/* args_count - how many times option NAME was given (for repeatable options) */
int args_count(const struct args *a, const char *name);

/* args_nth - the value of the Nth (from 0) occurrence of option NAME, or NULL */
const char *args_nth(const struct args *a, const char *name, int n);

/* args_print_options - the spec, then -h/--help, as an indented, aligned help block */
void args_print_options(const struct args_opt *spec, FILE *f);

#endif
