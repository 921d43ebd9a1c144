/* snapshot.h - the data plane's configuration as one JSON document, versioned.
 *
 * Every change of mail policy (policy row, domains, networks) is committed together with
 * a new configuration version whose snapshot is what agents apply (GET
 * /api/v1/agent/snapshot). snapshot_commit() must run inside the transaction that made
 * the change, so that a version always describes exactly one committed state.
 */
#ifndef VR_SNAPSHOT_H
#define VR_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

/* snapshot_build - the snapshot of the database's current policy, as version `version`
 * (a new reference the caller owns); NULL when the policy cannot be read */
json_t *snapshot_build(struct db *db, int64_t version, int64_t now);
/* snapshot_commit - build and store the next version; *version receives it */
enum vr_err snapshot_commit(struct db *db, const char *actor, const char *reason,
			    int64_t now, int64_t *version);

struct req;

/* A change of what the data plane runs (policy, domains, networks, lists, preferences). */
struct config_change {
	struct req *r;                                 /* who, from where (audit) */
	enum vr_err (*apply)(struct db *db, void *arg); /* the change itself */
	void *arg;
	const char *action, *target;                   /* audit action and target */
	json_t *before, *after;                        /* borrowed, may be NULL */
	int64_t version;                               /* out: the new version */
};

/* config_change - apply, store a new version and audit, in one transaction; then wake
 * the agents' long polls. apply's errors come back unchanged. */
enum vr_err config_change(struct db *db, struct config_change *c);

#endif
