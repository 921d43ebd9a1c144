/* lists.c - list patterns, address normalisation and sorted pattern sets (see lists.h).
 *
 * pattern_set_match() and lists_pattern_matches() must agree; tests/unit/test_lists.c runs
 * both over the same table.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "log.h"
#include "netaddr.h"

/* local_char_ok - a byte allowed in a pattern's local part (no space, control, '@', <>) */
static bool local_char_ok(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("@<>,;()[]\\\"", c) == NULL;
}

/* lists_check_pattern - validate one of the three pattern forms */
const char *lists_check_pattern(const char *pat)
{
	const char *at;
	size_t i;

	if (pat == NULL || *pat == '\0')
		return "is empty";
	at = strchr(pat, '@');
	if (at == NULL)
		return vr_check_domain(pat);
	if (strchr(at + 1, '@') != NULL)
		return "has more than one '@'";
	if (at == pat)
		return "has an empty local part";
	if ((size_t)(at - pat) > 64)
		return "has a local part longer than 64 characters";
	if (!(at - pat == 1 && pat[0] == '*')) {
		for (i = 0; pat + i < at; i++)
			if (!local_char_ok((unsigned char)pat[i]) || pat[i] == '*')
				return "has a local part with a forbidden character (only "
				       "'*@domain' "
				       "may use '*')";
	}
	if (vr_check_domain(at + 1) != NULL)
		return "has an invalid domain";
	return NULL;
}

/* lists_norm_addr - lower case, no <>, no trailing dot; must be local@domain */
bool lists_norm_addr(const char *addr, char *out, size_t outsz)
{
	size_t len, i;
	const char *at;

	if (addr == NULL || outsz == 0)
		return false;
	while (*addr == ' ' || *addr == '\t')
		addr++;
	len = strlen(addr);
	while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
		len--;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	if (len > 0 && addr[len - 1] == '.')
		len--;
	if (len == 0 || len >= outsz || len > LIST_ADDR_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (addr[i] == '\0' || (unsigned char)addr[i] < 0x20)
			return false;
		out[i] = (char)tolower((unsigned char)addr[i]);
	}
	out[len] = '\0';
	at = strrchr(out, '@');
	return at != NULL && at != out && at[1] != '\0' && at[1] != '.';
}

/* domain_within - true when dom is d or a subdomain of d */
static bool domain_within(const char *dom, const char *d)
{
	size_t ld = strlen(dom), l = strlen(d);

	if (ld == l)
		return strcmp(dom, d) == 0;
	return ld > l && dom[ld - l - 1] == '.' && strcmp(dom + ld - l, d) == 0;
}

/* lists_pattern_matches - the reference matcher (one pattern, one address) */
bool lists_pattern_matches(const char *pat, const char *addr)
{
	char a[LIST_ADDR_MAX + 1], p[LIST_ADDR_MAX + 1];
	const char *dom;
	size_t i;

	if (pat == NULL || strlen(pat) > LIST_ADDR_MAX || !lists_norm_addr(addr, a, sizeof(a)))
		return false;
	for (i = 0; pat[i]; i++)
		p[i] = (char)tolower((unsigned char)pat[i]);
	p[i] = '\0';
	dom = strrchr(a, '@') + 1;
	if (strncmp(p, "*@", 2) == 0)
		return strcmp(dom, p + 2) == 0;
	if (strchr(p, '@') != NULL)
		return strcmp(a, p) == 0;
	return domain_within(dom, p);
}

/* pattern_set_add - append a lower-cased copy */
void pattern_set_add(struct pattern_set *s, const char *pat)
{
	char *c;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		VR_CHECK_ALLOC(s->v);
	}
	c = strdup(pat);
	VR_CHECK_ALLOC(c);
	for (char *q = c; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	s->v[s->n++] = c;
}

/* cmp_str - qsort comparator over char * */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* pattern_set_seal - sort and deduplicate */
void pattern_set_seal(struct pattern_set *s)
{
	size_t i, j = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[j]) == 0)
			free(s->v[i]);
		else
			s->v[++j] = s->v[i];
	}
	s->n = j + 1;
}

/* find - the set's own copy of key, or NULL */
static const char *find(const struct pattern_set *s, const char *key)
{
	char *const *hit;

	if (s == NULL || s->n == 0)
		return NULL;
	hit = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_str);
	return hit ? *hit : NULL;
}

/* pattern_set_contains - exact membership */
bool pattern_set_contains(const struct pattern_set *s, const char *str)
{
	return str != NULL && find(s, str) != NULL;
}

/* pattern_set_match - try the address, "*@domain", then the domain and its parents */
const char *pattern_set_match(const struct pattern_set *s, const char *addr)
{
	char a[LIST_ADDR_MAX + 1], key[LIST_ADDR_MAX + 3];
	const char *dom, *hit;

	if (s == NULL || s->n == 0 || !lists_norm_addr(addr, a, sizeof(a)))
		return NULL;
	if ((hit = find(s, a)) != NULL)
		return hit;
	dom = strrchr(a, '@') + 1;
	key[0] = '*';
	key[1] = '@';
	strcpy(key + 2, dom);
	if ((hit = find(s, key)) != NULL)
		return hit;
	for (const char *d = dom; d != NULL; d = strchr(d, '.')) {
		if (*d == '.')
			d++;
		if (*d == '\0')
			break;
		if ((hit = find(s, d)) != NULL)
			return hit;
	}
	return NULL;
}

/* pattern_set_free - release everything */
void pattern_set_free(struct pattern_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
