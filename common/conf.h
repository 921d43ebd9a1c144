/* conf.h - configuration as one schema table: name, type, default, range, help, target.
 *
 * A program declares `static const struct vr_conf_item items[]` whose offsets point into
 * its own config struct, then vr_conf_load() applies, in increasing precedence: the
 * defaults, a file of "name = value" lines, the environment (PREFIX + NAME in upper case,
 * '-' as '_'), and "--name=value" / "--name value" flags. Every value is checked against
 * its type and range; the error names the item and where it came from. Strings are
 * malloc'd and owned by the config; vr_conf_free() releases them. Read-only after start.
 */
#ifndef VR_CONF_H
#define VR_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum vr_conf_type { VR_CONF_STR, VR_CONF_INT, VR_CONF_BOOL };

struct vr_conf_item {
	const char *name; /* "max-body"; environment VR_APID_MAX_BODY; flag --max-body */
	enum vr_conf_type type;
	const char *def;  /* default, as text; NULL for an empty string */
	int64_t min, max; /* range of ints */
	size_t offset;    /* char * / int64_t / int (bool) in the config struct */
	const char *help;
	int secret;       /* never printed back (passwords) */
};

struct vr_conf_schema {
	const char *program;    /* "apid" */
	const char *env_prefix; /* "VR_APID_" */
	const struct vr_conf_item *items;
	size_t n;
};

/* vr_conf_load - fill cfg from defaults, file (flag --config or env PREFIX CONFIG), env and
 * argv. Non-option arguments are an error. Returns 0, 1 when --help was printed to out,
 * or -1 with a message in err. */
int vr_conf_load(const struct vr_conf_schema *s, void *cfg, int argc, char **argv, FILE *out,
		 char *err, size_t errsz);
/* vr_conf_set - set one item from text; 0 or -1 with a message in err */
int vr_conf_set(const struct vr_conf_schema *s, void *cfg, const char *name, const char *value,
		const char *origin, char *err, size_t errsz);
/* vr_conf_usage - print --help: every item with its default and help */
void vr_conf_usage(const struct vr_conf_schema *s, FILE *out);
/* vr_conf_free - free the strings owned by cfg */
void vr_conf_free(const struct vr_conf_schema *s, void *cfg);

#endif
