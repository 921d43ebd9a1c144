/* lists.h - allow/block list patterns and the sender addresses they are matched against.
 *
 * Three pattern forms (filter contract), stored lower case:
 *   "user@domain"  that exact address
 *   "*@domain"     any address at exactly that domain
 *   "domain"       that domain and all its subdomains ("bank.test" matches x@bank.test and
 *                  x@mail.bank.test, never x@notbank.test)
 * A struct pattern_set is a sorted, duplicate-free array of patterns: matching an address
 * looks up its few candidate patterns (the address, "*@domain", the domain and each parent
 * domain) by binary search, so a list of 100,000 entries costs a handful of comparisons.
 *
 * Ownership: a pattern_set owns its strings (pattern_set_free). Pure: no I/O; a sealed set
 * is read-only and may be shared between threads.
 */
#ifndef VR_AGENT_LISTS_H
#define VR_AGENT_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#define LIST_ADDR_MAX 320 /* 64 local part + '@' + 253 domain + slack */

struct pattern_set {
	char **v; /* lower case, sorted by strcmp, unique once sealed */
	size_t n;
	size_t cap;
};

/* lists_check_pattern - NULL when pat is a valid pattern (any case), else a short reason */
const char *lists_check_pattern(const char *pat);
/* lists_norm_addr - lower-case addr into out, dropping surrounding <> and a trailing dot of
 * the domain; false when it is not "local@domain" (the null sender "<>" included) */
bool lists_norm_addr(const char *addr, char *out, size_t outsz);
/* lists_pattern_matches - true when the address matches the pattern (both any case) */
bool lists_pattern_matches(const char *pat, const char *addr);

/* pattern_set_add - add a copy of pat, lower-cased (unsorted until pattern_set_seal) */
void pattern_set_add(struct pattern_set *s, const char *pat);
/* pattern_set_seal - sort and drop duplicates; call once after the last add */
void pattern_set_seal(struct pattern_set *s);
/* pattern_set_match - the pattern of a sealed set that addr matches (borrowed from the set),
 * or NULL; addr in any case, NULL or not an address never matches */
const char *pattern_set_match(const struct pattern_set *s, const char *addr);
/* pattern_set_contains - true when the sealed set holds exactly this (lower-case) string */
bool pattern_set_contains(const struct pattern_set *s, const char *str);
/* pattern_set_free - release the set's strings and reset it */
void pattern_set_free(struct pattern_set *s);

#endif
