/*
 * config.h - vrcli's settings file and where each setting comes from.
 *
 * Owns: the file ~/.config/vrcli/config (or $XDG_CONFIG_HOME/vrcli/config): its path,
 * its `key = value` syntax, loading it, and saving it atomically with mode 0600 in a
 * directory of mode 0700; and the precedence rule flag > environment > file, including
 * that a token from the file is only sent to the URL it was stored with.
 *
 * Ownership: struct config owns copies of its keys and values (config_free() releases
 * them); config_get() returns a string borrowed until the next config_set() of that key
 * or config_free(). config_path() and config_render() return malloc'd strings the caller
 * frees with free(). struct config_choice borrows from the sources it was resolved from.
 */
#ifndef VRCLI_CONFIG_H
#define VRCLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "errmap.h"

struct config_entry {
	char *key;
	char *value;
};

/* The file's settings in file order; unknown keys are kept and written back. */
struct config {
	struct config_entry *e;
	size_t n;
	bool loose_mode; /* set by config_load: group or others may read the file */
};

/* One setting as the three places may give it; NULL or "" means not given there. */
struct config_sources {
	const char *flag;
	const char *env;
	const char *file;
};

/* The effective URL and token, and where each came from ("--url", "VRCLI_URL", ...). */
struct config_choice {
	const char *url, *url_from;
	const char *token, *token_from;
	bool file_token_withheld; /* the file had a token, but for another URL */
};

/* config_path - the config file for XDG_CONFIG_HOME and HOME (either may be NULL) */
char *config_path(const char *xdg_config_home, const char *home);

/* config_parse - add the settings in TEXT to *cfg; on error *bad_line is the line number */
enum vrcli_exit config_parse(struct config *cfg, const char *text, int *bad_line);

/* config_load - read PATH into *cfg; a missing file is an empty config */
enum vrcli_exit config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* config_get - the value of KEY, or NULL */
const char *config_get(const struct config *cfg, const char *key);

/* config_set - set KEY to VALUE, or remove KEY when VALUE is NULL */
enum vrcli_exit config_set(struct config *cfg, const char *key, const char *value);

/* config_render - the file's text for *cfg */
char *config_render(const struct config *cfg);

/* config_save - write *cfg to PATH atomically (temp, fsync, rename), mode 0600 */
enum vrcli_exit config_save(const struct config *cfg, const char *path, char *err,
			    size_t errlen);

/* config_free - release what *cfg holds and empty it */
void config_free(struct config *cfg);

/* config_same_url - whether two base URLs are the same, ignoring trailing slashes */
bool config_same_url(const char *a, const char *b);

/* config_resolve - apply flag > environment > file to URL and TOKEN */
void config_resolve(struct config_choice *c, const struct config_sources *url,
		    const struct config_sources *token);

#endif
