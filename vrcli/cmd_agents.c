/*
 * cmd_agents.c - `vrcli agents` (GET /api/v1/agents) and `vrcli agents remove NAME`
 * (DELETE /api/v1/agents/{name}: forget a decommissioned agent, which would otherwise
 * turn "lost" and make /readyz fail).
 *
 * Owns the agents table: name, state (ok, behind, error, lost: the server decides),
 * applied/current configuration version, postfix, last heartbeat, last error. The exit
 * code is the request's: an agent in trouble is shown, not turned into a failure
 * (`vrcli health` is the command whose exit code follows readiness).
 */
#include <stdio.h>
#include <stdlib.h>

#include "kv.h"
#include "table.h"
#include "vrcli.h"

/* version_text - "APPLIED/CURRENT" of agent G; free() it */
static char *version_text(const json_t *g)
{
	char *applied = kv_text(json_object_get(g, "applied_version"));
	char *current = kv_text(json_object_get(g, "current_version"));
	char *s;

	if (asprintf(&s, "%s/%s", applied ? applied : "?", current ? current : "?") < 0)
		abort();
	free(applied);
	free(current);
	return s;
}

/* cmd_agents - `vrcli agents` */
enum vrcli_exit cmd_agents(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	const json_t *items, *g;
	enum vrcli_exit rc = vrcli_list(v, "/api/v1/agents", &r, &items);
	size_t i;

	(void)a;
	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(items);
	} else if (rc == VRCLI_EXIT_OK && json_array_size(items) == 0) {
		puts("No agents.");
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t = table_new(6, (const char *[]){"NAME", "STATE",
								"APPLIED/CURRENT", "POSTFIX",
								"LAST SEEN", "LAST ERROR"});

		json_array_foreach(items, i, g) {
			char *version = version_text(g);

			table_add(t, (const char *[]){vrcli_jstr(g, "name"), vrcli_jstr(g, "state"),
						      version, vrcli_jstr(g, "postfix"),
						      vrcli_jstr(g, "last_seen"),
						      vrcli_jstr(g, "last_error")});
			free(version);
		}
		table_print(t, stdout);
		table_free(t);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_agents_remove - `vrcli agents remove NAME`: DELETE /api/v1/agents/{name} */
enum vrcli_exit cmd_agents_remove(struct vrcli *v, const struct args *a)
{
	return vrcli_remove(v, "/api/v1/agents", a->pos[0], "agent");
}
