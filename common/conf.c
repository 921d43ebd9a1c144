/* conf.c - schema-driven configuration loading (see conf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "conf.h"
#include "log.h"

/* lookup - the item called name, or NULL */
static const struct vr_conf_item *lookup(const struct vr_conf_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].name, name) == 0)
			return &s->items[i];
	return NULL;
}

/* set_item - store text into the item's slot after checking type and range */
static int set_item(const struct vr_conf_item *it, void *cfg, const char *value,
		    const char *origin, char *err, size_t errsz)
{
	char *slot = (char *)cfg + it->offset;

	switch (it->type) {
	case VR_CONF_STR: {
		char **p = (char **)slot;

		free(*p);
		*p = strdup(value ? value : "");
		VR_CHECK_ALLOC(*p);
		return 0;
	}
	case VR_CONF_INT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < it->min || v > it->max) {
			snprintf(err, errsz, "%s: %s must be an integer from %lld to %lld, not '%s'",
				 origin, it->name, (long long)it->min, (long long)it->max, value);
			return -1;
		}
		*(int64_t *)slot = v;
		return 0;
	}
	case VR_CONF_BOOL:
		if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") ||
		    !strcmp(value, "on")) {
			*(int *)slot = 1;
		} else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") ||
			   !strcmp(value, "off")) {
			*(int *)slot = 0;
		} else {
			snprintf(err, errsz, "%s: %s must be true or false, not '%s'", origin,
				 it->name, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* vr_conf_set - set one item by name */
int vr_conf_set(const struct vr_conf_schema *s, void *cfg, const char *name, const char *value,
		const char *origin, char *err, size_t errsz)
{
	const struct vr_conf_item *it = lookup(s, name);

	if (it == NULL) {
		snprintf(err, errsz, "%s: unknown setting '%s' (see %s --help)", origin, name,
			 s->program);
		return -1;
	}
	return set_item(it, cfg, value, origin, err, errsz);
}

/* trim - strip leading and trailing blanks in place */
static char *trim(char *p)
{
	char *e;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return p;
}

/* load_file - apply "name = value" lines; '#' starts a comment line */
static int load_file(const struct vr_conf_schema *s, void *cfg, const char *path, char *err,
		     size_t errsz)
{
	char *text = vr_read_file(path, 1 << 20, NULL), *line, *save = NULL;
	char origin[512];
	int lineno = 0, rc = 0;

	if (text == NULL) {
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *name;

		lineno++;
		name = trim(line);
		if (*name == '\0' || *name == '#')
			continue;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		eq = strchr(name, '=');
		if (eq == NULL) {
			snprintf(err, errsz, "%s: expected 'name = value'", origin);
			rc = -1;
			break;
		}
		*eq = '\0';
		if (vr_conf_set(s, cfg, trim(name), trim(eq + 1), origin, err, errsz) < 0) {
			rc = -1;
			break;
		}
	}
	free(text);
	return rc;
}

/* env_name - PREFIX + NAME upper-cased with '-' as '_' */
static void env_name(const struct vr_conf_schema *s, const char *name, char *out, size_t n)
{
	size_t i = (size_t)snprintf(out, n, "%s", s->env_prefix);

	for (; *name && i + 1 < n; name++)
		out[i++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	out[i] = '\0';
}

/* vr_conf_usage - print every item with its default and help */
void vr_conf_usage(const struct vr_conf_schema *s, FILE *out)
{
	char env[128];

	fprintf(out, "usage: %s [--config FILE] [--NAME=VALUE ...]\n\n", s->program);
	fprintf(out, "Settings come from defaults, then the config file (name = value), then the\n"
		     "environment, then flags. Each setting:\n\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct vr_conf_item *it = &s->items[i];

		env_name(s, it->name, env, sizeof(env));
		fprintf(out, "  --%-22s %s\n  %-24s env %s", it->name, it->help, "", env);
		if (it->def && *it->def)
			fprintf(out, ", default %s", it->secret ? "(hidden)" : it->def);
		if (it->type == VR_CONF_INT)
			fprintf(out, ", %lld..%lld", (long long)it->min, (long long)it->max);
		fputc('\n', out);
	}
	fprintf(out, "  --%-22s %s\n", "config", "read settings from this file");
	fprintf(out, "  --%-22s %s\n", "help", "print this help");
}

/* vr_conf_load - defaults, file, environment, flags */
int vr_conf_load(const struct vr_conf_schema *s, void *cfg, int argc, char **argv, FILE *out,
		 char *err, size_t errsz)
{
	const char *file = NULL;
	char env[128];

	for (size_t i = 0; i < s->n; i++)
		if (set_item(&s->items[i], cfg, s->items[i].def ? s->items[i].def : "",
			     "default", err, errsz) < 0)
			return -1;
	/* the file named by flag wins over the one named by the environment */
	env_name(s, "config", env, sizeof(env));
	file = getenv(env);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			vr_conf_usage(s, out);
			return 1;
		}
		if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
	}
	if (file && *file && load_file(s, cfg, file, err, errsz) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const char *v;

		env_name(s, s->items[i].name, env, sizeof(env));
		v = getenv(env);
		if (v && set_item(&s->items[i], cfg, v, env, err, errsz) < 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		char name[128];
		const char *arg = argv[i], *value, *eq;

		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errsz, "unexpected argument '%s' (see %s --help)", arg,
				 s->program);
			return -1;
		}
		arg += 2;
		eq = strchr(arg, '=');
		if (!strcmp(arg, "config") || !strncmp(arg, "config=", 7)) {
			if (!eq)
				i++;
			continue;
		}
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
			value = eq + 1;
		} else {
			const struct vr_conf_item *it = lookup(s, arg);

			snprintf(name, sizeof(name), "%s", arg);
			if (it && it->type == VR_CONF_BOOL) {
				value = "true";
			} else if (i + 1 < argc) {
				value = argv[++i];
			} else {
				snprintf(err, errsz, "--%s needs a value", arg);
				return -1;
			}
		}
		if (vr_conf_set(s, cfg, name, value, "command line", err, errsz) < 0)
			return -1;
	}
	return 0;
}

/* vr_conf_free - free the strings owned by cfg */
void vr_conf_free(const struct vr_conf_schema *s, void *cfg)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->items[i].type == VR_CONF_STR) {
			char **p = (char **)((char *)cfg + s->items[i].offset);

			free(*p);
			*p = NULL;
		}
	}
}
