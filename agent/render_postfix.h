/* render_postfix.h - snapshot + local paths -> the text of the private Postfix's files.
 *
 * Pure: render_postfix() reads a validated struct snapshot and the node's local settings
 * and produces, in memory, main.cf, master.cf and the lookup tables they name:
 *
 *   relay_domains      hash   the domains the inbound listener relays for
 *   transport          hash   domain -> smtp:[internal host]:port
 *   verify_recipients  hash   domain -> reject_unverified_recipient (only when a domain
 *                             verifies; the inbound listener's check_recipient_access)
 *   mynetworks         cidr   the internal networks: mynetworks of the outbound listener only
 *
 * Tables are named through $config_directory, so that the same text checks in a staging
 * directory and runs in the live one. The address-verification cache is
 * btree:$data_directory/verify_cache (file DATA_DIR/verify_cache.db): deleting that file
 * and reloading Postfix flushes it (postfix_apply.c does so when apid's flush_generation
 * changes). Files are listed in install order (main.cf last). The texts carry neither the
 * snapshot's version nor its time: snapshots that differ only in what Postfix does not read
 * (the filter section: lists, preferences, thresholds) render the same bytes, which is how
 * postfix_apply.c knows it has nothing to reload.
 * Tests: tests/unit/test_render_postfix.c against tests/unit/golden/postfix/<case>/.
 *
 * Ownership: a struct pf_config owns its texts; pf_config_free() releases them.
 */
#ifndef VR_AGENT_RENDER_POSTFIX_H
#define VR_AGENT_RENDER_POSTFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "snapshot.h"

/* {daemon_name} of the filtered listeners (milter_macro_daemon_name): the milter reads
 * the direction from it */
#define PF_MILTER_DAEMON_INBOUND  "vrgate-inbound"
#define PF_MILTER_DAEMON_OUTBOUND "vrgate-outbound"

/* The node's own settings: where this instance lives (not part of apid's policy). */
struct pf_local {
	const char *queue_dir;     /* queue_directory */
	const char *data_dir;      /* data_directory (verify cache) */
	const char *maillog_file;  /* maillog_file; its directory becomes maillog_file_prefixes */
	const char *milter_socket; /* unix socket of the filter; NULL or "" renders no milter */
	bool dns;                  /* allow DNS (MX lookups in mode mx, client name lookups) */
};

enum pf_kind {
	PF_CONF, /* main.cf, master.cf: installed as they are */
	PF_HASH, /* a hash: table: postmap builds NAME.db beside it */
	PF_CIDR, /* a cidr: table: read as text, no postmap */
};

struct pf_file {
	const char *name; /* file name inside config_directory (static string) */
	enum pf_kind kind;
	char *text;
	size_t len;
};

#define PF_MAX_FILES 8

struct pf_config {
	struct pf_file files[PF_MAX_FILES];
	size_t n;
};

/* Every file name render_postfix() can produce (NULL-terminated), so that the installer
 * can remove the ones a new snapshot no longer needs. */
extern const char *const pf_managed_files[];

/* render_postfix - render every file for s and local into out (zeroed by the call);
 * VR_OK, or VR_E_INVALID_FIELD with err naming the local setting that cannot be used */
enum vr_err render_postfix(const struct snapshot *s, const struct pf_local *local,
			   struct pf_config *out, char *err, size_t errsz);
/* pf_config_free - release the texts of c */
void pf_config_free(struct pf_config *c);
/* pf_config_find - the file called name, or NULL; borrowed from c */
const struct pf_file *pf_config_find(const struct pf_config *c, const char *name);
/* pf_service_name - master.cf's name of a listener: "127.0.0.1:25" or "[::1]:25" */
void pf_service_name(const struct snap_listener *l, char *buf, size_t n);

#endif
