/*
 * config.c - load, edit and atomically save ~/.config/vrcli/config; setting precedence.
 *
 * Entry points: see config.h. The syntax is one `key = value` per line; blank lines and
 * lines starting with '#' are ignored; the value is everything after the first '=',
 * trimmed, taken literally (no quoting). Saving rewrites the whole file in the manner of
 * Postfix's edit_file.c: a temporary file in the same directory, fsync, rename, fsync of
 * the directory; comments are not kept. Not thread-safe; vrcli is single-threaded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_MAX_SIZE (64 * 1024)

/* xstrdup - strdup that aborts on out-of-memory */
static char *xstrdup(const char *s)
{
	char *t = strdup(s);

	if (t == NULL)
		abort();
	return t;
}

/* config_path - the config file for XDG_CONFIG_HOME and HOME (either may be NULL) */
char *config_path(const char *xdg_config_home, const char *home)
{
	char *path;
	int n;

	/* the XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored */
	if (xdg_config_home && xdg_config_home[0] == '/')
		n = asprintf(&path, "%s/vrcli/config", xdg_config_home);
	else if (home && home[0] != '\0')
		n = asprintf(&path, "%s/.config/vrcli/config", home);
	else
		return NULL;
	if (n < 0)
		abort();
	return path;
}

/* trim - strip ASCII blanks around [*s, *e) */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

/* config_parse - add the settings in TEXT to *cfg; on error *bad_line is the line number */
enum vrcli_exit config_parse(struct config *cfg, const char *text, int *bad_line)
{
	int lineno = 0;

	for (const char *line = text; *line; ) {
		const char *end = strchrnul(line, '\n');
		const char *next = *end ? end + 1 : end;
		const char *ks = line, *ke, *vs, *ve = end;
		const char *eq;

		lineno++;
		trim(&ks, &ve);
		if (ks == ve || *ks == '#') {
			line = next;
			continue;
		}
		eq = memchr(ks, '=', (size_t)(ve - ks));
		if (eq == NULL || eq == ks) {
			*bad_line = lineno;
			return VRCLI_EXIT_OTHER;
		}
		ke = eq;
		vs = eq + 1;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ks == ke) {
			*bad_line = lineno;
			return VRCLI_EXIT_OTHER;
		}

		char *key = strndup(ks, (size_t)(ke - ks));
		char *value = strndup(vs, (size_t)(ve - vs));

		if (key == NULL || value == NULL)
			abort();
		config_set(cfg, key, value);
		free(key);
		free(value);
		line = next;
	}
	return VRCLI_EXIT_OK;
}

/* config_load - read PATH into *cfg; a missing file is an empty config */
enum vrcli_exit config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t got;
	int fd, bad_line = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return VRCLI_EXIT_OK;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return VRCLI_EXIT_OTHER;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_SIZE) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
			 CONFIG_MAX_SIZE);
		close(fd);
		return VRCLI_EXIT_OTHER;
	}
	cfg->loose_mode = (st.st_mode & 077) != 0;
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL)
		abort();
	got = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (got < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		free(text);
		return VRCLI_EXIT_OTHER;
	}
	text[got] = '\0';
	if (strlen(text) != (size_t)got || config_parse(cfg, text, &bad_line) != VRCLI_EXIT_OK) {
		if (bad_line > 0)
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, bad_line);
		else
			snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return VRCLI_EXIT_OTHER;
	}
	free(text);
	return VRCLI_EXIT_OK;
}

/* config_get - the value of KEY, or NULL */
const char *config_get(const struct config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->e[i].key, key) == 0)
			return cfg->e[i].value;
	return NULL;
}

/* printable - whether S can be written on one line of the file as is */
static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* config_set - set KEY to VALUE, or remove KEY when VALUE is NULL */
enum vrcli_exit config_set(struct config *cfg, const char *key, const char *value)
{
	size_t i;

	if (key[0] == '\0' || !printable(key) || strchr(key, '=') || strchr(key, '#') ||
	    (value && !printable(value)))
		return VRCLI_EXIT_OTHER;
	for (i = 0; i < cfg->n; i++)
		if (strcmp(cfg->e[i].key, key) == 0)
			break;
	if (value == NULL) {
		if (i < cfg->n) {
			free(cfg->e[i].key);
			free(cfg->e[i].value);
			memmove(&cfg->e[i], &cfg->e[i + 1], (cfg->n - i - 1) * sizeof(cfg->e[0]));
			cfg->n--;
		}
		return VRCLI_EXIT_OK;
	}
	if (i < cfg->n) {
		char *copy = xstrdup(value); /* before the free: VALUE may be the old one */

		free(cfg->e[i].value);
		cfg->e[i].value = copy;
		return VRCLI_EXIT_OK;
	}
	cfg->e = realloc(cfg->e, (cfg->n + 1) * sizeof(cfg->e[0]));
	if (cfg->e == NULL)
		abort();
	cfg->e[cfg->n].key = xstrdup(key);
	cfg->e[cfg->n].value = xstrdup(value);
	cfg->n++;
	return VRCLI_EXIT_OK;
}

/* config_render - the file's text for *cfg */
char *config_render(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	fputs("# vrcli settings, rewritten by 'vrcli login' and 'vrcli logout'\n", f);
	for (size_t i = 0; i < cfg->n; i++)
		fprintf(f, "%s = %s\n", cfg->e[i].key, cfg->e[i].value);
	if (fclose(f) != 0)
		abort();
	return text;
}

/* make_dirs - create the missing directories of DIR with mode 0700 */
static int make_dirs(char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	char *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = '\0';
		int rc = make_dirs(dir);

		*slash = '/';
		if (rc != 0)
			return rc;
	}
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* write_all - write LEN bytes of BUF to FD */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* config_save - write *cfg to PATH atomically (temp, fsync, rename), mode 0600 */
enum vrcli_exit config_save(const struct config *cfg, const char *path, char *err,
			    size_t errlen)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	char *tmp = NULL, *text = NULL;
	const char *step, *what;
	int fd = -1, dfd;

	if (slash == NULL || slash == dir) {
		snprintf(err, errlen, "%s: not an absolute file path", path);
		free(dir);
		return VRCLI_EXIT_OTHER;
	}
	*slash = '\0';
	step = "cannot create directory";
	what = dir;
	/* the directory is vrcli's own: tighten it even if it existed */
	if (make_dirs(dir) != 0 || chmod(dir, 0700) != 0)
		goto fail;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		abort();
	step = "cannot write";
	what = path;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) != 0)
		goto fail;
	text = config_render(cfg);
	if (write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(text);
	free(dir);
	return VRCLI_EXIT_OK;
fail:
	snprintf(err, errlen, "%s %s: %s", step, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(text);
	free(dir);
	return VRCLI_EXIT_OTHER;
}

/* config_free - release what *cfg holds and empty it */
void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->e[i].key);
		free(cfg->e[i].value);
	}
	free(cfg->e);
	memset(cfg, 0, sizeof(*cfg));
}

/* given - whether a source holds a value */
static bool given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* config_same_url - whether two base URLs are the same, ignoring trailing slashes */
bool config_same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* config_resolve - apply flag > environment > file to URL and TOKEN */
void config_resolve(struct config_choice *c, const struct config_sources *url,
		    const struct config_sources *token)
{
	memset(c, 0, sizeof(*c));
	if (given(url->flag))
		c->url = url->flag, c->url_from = "--url";
	else if (given(url->env))
		c->url = url->env, c->url_from = "VRCLI_URL";
	else if (given(url->file))
		c->url = url->file, c->url_from = "the config file";

	if (given(token->flag)) {
		c->token = token->flag, c->token_from = "--token";
	} else if (given(token->env)) {
		c->token = token->env, c->token_from = "VRCLI_TOKEN";
	} else if (given(token->file)) {
		/* a stored credential goes only to the server that issued it */
		if (!given(url->file) || (c->url && config_same_url(c->url, url->file)))
			c->token = token->file, c->token_from = "the config file";
		else
			c->file_token_withheld = true;
	}
}
