/*
 * args.c - the option parser behind every vrcli command and the global options.
 *
 * Entry points: args_parse(), args_parse_n(), args_get(), args_has(), args_count(),
 * args_nth(), args_print_options(). Long options, plus -h for help: a script reads better
 * with --owner than with -o. A spec entry with a one-letter name is the exception, for a
 * convention people expect (`-o FILE`); it is spelled -X VALUE, never -XVALUE, because a
 * longer word starting with one '-' is an argument: the API's random IDs (base64url) may
 * start with '-', and `vrcli quarantine show -mTPo58ljS-X7-jeHDxjTA` must work.
 * Options may come before or after positional arguments unless the caller asks to stop
 * at the first positional (the global options stop at the command name). Pure apart from
 * args_print_options(), which writes to the FILE it is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* spec_find - index of the option named NAME (NAMELEN bytes) in SPEC, or -1 */
static int spec_find(const struct args_opt *spec, const char *name, size_t namelen)
{
	for (int i = 0; spec[i].name; i++)
		if (strlen(spec[i].name) == namelen && memcmp(spec[i].name, name, namelen) == 0)
			return i;
	return -1;
}

/* args_parse - parse ARGV against SPEC into *a; on ARGS_ERROR ERR says why */
enum args_status args_parse(struct args *a, const struct args_opt *spec, int argc,
			    char **argv, bool stop_at_pos, char *err, size_t errlen)
{
	return args_parse_n(a, spec, argc, argv, stop_at_pos, ARGS_MAX_POS, err, errlen);
}

/* record - the value of option K: the last one for args_get(), every one in a->seq */
static bool record(struct args *a, int k, const char *val, char *err, size_t errlen)
{
	if (a->nseq == ARGS_MAX_VALUES) {
		snprintf(err, errlen, "too many options");
		return false;
	}
	a->seq[a->nseq].opt = k;
	a->seq[a->nseq].val = val;
	a->nseq++;
	a->val[k] = val;
	return true;
}

/* args_parse_n - args_parse(), accepting up to MAX_POS (<= ARGS_POS_CAP) positionals */
enum args_status args_parse_n(struct args *a, const struct args_opt *spec, int argc,
			      char **argv, bool stop_at_pos, int max_pos, char *err,
			      size_t errlen)
{
	bool only_pos = false;

	if (max_pos < 0 || max_pos > ARGS_POS_CAP)
		abort(); /* a caller asking for more than struct args holds is our bug */
	memset(a, 0, sizeof(*a));
	a->spec = spec;
	for (int k = 0; spec[k].name; k++)
		if (k >= ARGS_MAX_OPTS)
			abort(); /* a spec longer than struct args can hold is our bug */
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i];

		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (stop_at_pos) {
				a->rest = argv + i;
				a->nrest = argc - i;
				return ARGS_OK;
			}
			if (a->npos == max_pos) {
				snprintf(err, errlen, "too many arguments");
				return ARGS_ERROR;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return ARGS_HELP;
		if (arg[1] != '-' && arg[2] != '\0') {
			/* -abc is an argument: the API's random IDs may start with '-' */
			if (stop_at_pos) {
				a->rest = argv + i;
				a->nrest = argc - i;
				return ARGS_OK;
			}
			if (a->npos == max_pos) {
				snprintf(err, errlen, "too many arguments");
				return ARGS_ERROR;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (arg[1] != '-') {
			int k = spec_find(spec, arg + 1, 1);

			if (k < 0) {
				snprintf(err, errlen, "unknown option '%s'", arg);
				return ARGS_ERROR;
			}
			if (spec[k].metavar == NULL) {
				if (!record(a, k, "", err, errlen))
					return ARGS_ERROR;
			} else if (i + 1 < argc) {
				if (!record(a, k, argv[++i], err, errlen))
					return ARGS_ERROR;
			} else {
				snprintf(err, errlen, "option '-%s' needs a value (-%s %s)",
					 spec[k].name, spec[k].name, spec[k].metavar);
				return ARGS_ERROR;
			}
			continue;
		}

		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
		int k = namelen > 1 ? spec_find(spec, name, namelen) : -1;

		if (k < 0) {
			snprintf(err, errlen, "unknown option '--%.*s'", (int)namelen, name);
			return ARGS_ERROR;
		}
		if (spec[k].metavar == NULL) {
			if (eq) {
				snprintf(err, errlen, "option '--%s' takes no value", spec[k].name);
				return ARGS_ERROR;
			}
			if (!record(a, k, "", err, errlen))
				return ARGS_ERROR;
		} else if (eq) {
			if (!record(a, k, eq + 1, err, errlen))
				return ARGS_ERROR;
		} else if (i + 1 < argc) {
			if (!record(a, k, argv[++i], err, errlen))
				return ARGS_ERROR;
		} else {
			snprintf(err, errlen, "option '--%s' needs a value (--%s %s)", spec[k].name,
				 spec[k].name, spec[k].metavar);
			return ARGS_ERROR;
		}
	}
	if (stop_at_pos) {
		a->rest = argv + argc;
		a->nrest = 0;
	}
	return ARGS_OK;
}

/* spec_index - index of NAME in the spec of *a; a name missing from it is our bug */
static int spec_index(const struct args *a, const char *name)
{
	int k = spec_find(a->spec, name, strlen(name));

	if (k < 0) {
		fprintf(stderr, "vrcli: bug: option '--%s' is not in the spec\n", name);
		abort();
	}
	return k;
}

/* args_get - the value of option NAME, or NULL; NAME must be in the spec */
const char *args_get(const struct args *a, const char *name)
{
	return a->val[spec_index(a, name)];
}

/* args_has - whether option NAME was given; NAME must be in the spec */
bool args_has(const struct args *a, const char *name)
{
	return a->val[spec_index(a, name)] != NULL;
}

/* args_count - how many times option NAME was given (for repeatable options) */
int args_count(const struct args *a, const char *name)
{
	int k = spec_index(a, name), n = 0;

	for (int i = 0; i < a->nseq; i++)
		n += a->seq[i].opt == k;
	return n;
}

/* args_nth - the value of the Nth (from 0) occurrence of option NAME, or NULL */
const char *args_nth(const struct args *a, const char *name, int n)
{
	int k = spec_index(a, name);

	for (int i = 0; i < a->nseq; i++)
		if (a->seq[i].opt == k && n-- == 0)
			return a->seq[i].val;
	return NULL;
}

/* spelling - "--NAME METAVAR" (or "--NAME") of option O into BUF; returns its length */
static int spelling(const struct args_opt *o, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s%s%s", o->name[1] ? "--" : "-", o->name,
			o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

/* args_print_options - the spec, then -h/--help, as an indented, aligned help block */
void args_print_options(const struct args_opt *spec, FILE *f)
{
	static const char help[] = "-h, --help";
	int width = (int)sizeof(help) - 1;
	char buf[96];

	for (int i = 0; spec[i].name; i++) {
		int n = spelling(&spec[i], buf, sizeof(buf));

		if (n > width)
			width = n;
	}
	for (int i = 0; spec[i].name; i++) {
		spelling(&spec[i], buf, sizeof(buf));
		fprintf(f, "  %-*s  %s\n", width, buf, spec[i].help);
	}
	fprintf(f, "  %-*s  %s\n", width, help, "show this help");
}
