/* scanmsg - run vr-agent's filter engine on one message file and print what it found as
 * JSON: clamd, rspamd, the MIME inventory, the attachment policy findings, the newsletter
 * classification and (with --rcpt) the per-recipient verdict.
 *
 *   scanmsg [--clamd /sock|host:port] [--rspamd URL] [--stream-max BYTES] [--timeout MS]
 *           [--ip IP] [--helo NAME] [--from ADDR] [--rcpt ADDR]... [--outbound]
 *           [--policy FILE] MESSAGE-FILE
 *
 * A scanner that is not given is "skipped" (and counts as clean / score 0 for the verdict).
 * --policy is a JSON file holding the snapshot's "filter" section (default: its defaults).
 * Exit status: 0 when the JSON was printed (scanner errors are in it), 1 when the file or
 * the policy cannot be read, 2 on usage errors. Used by tests/integration/test_scanners.py.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "antipub.h"
#include "clamd.h"
#include "mime_scan.h"
#include "rspamd.h"
#include "verdict.h"

#define MAX_RCPTS 64

struct args {
	const char *clamd, *rspamd, *ip, *helo, *from, *policy, *file;
	const char *rcpts[MAX_RCPTS];
	size_t n_rcpts;
	size_t stream_max;
	int timeout_ms;
	bool outbound;
};

/* usage - print the synopsis; returns 2 */
static int usage(void)
{
	fprintf(stderr, "usage: scanmsg [--clamd ADDR] [--rspamd URL] [--stream-max BYTES] "
			"[--timeout MS] [--ip IP] [--helo NAME] [--from ADDR] [--rcpt ADDR]... "
			"[--outbound] [--policy FILE] MESSAGE-FILE\n");
	return 2;
}

/* parse_args - fill a from argv; 0 or the exit status */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"clamd", required_argument, NULL, 'c'},
	    {"rspamd", required_argument, NULL, 'r'},
	    {"stream-max", required_argument, NULL, 'm'},
	    {"timeout", required_argument, NULL, 't'},
	    {"ip", required_argument, NULL, 'i'},
	    {"helo", required_argument, NULL, 'h'},
	    {"from", required_argument, NULL, 'f'},
	    {"rcpt", required_argument, NULL, 'R'},
	    {"outbound", no_argument, NULL, 'o'},
	    {"policy", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->clamd = optarg;
			break;
		case 'r':
			a->rspamd = optarg;
			break;
		case 'm':
			a->stream_max = strtoul(optarg, NULL, 10);
			break;
		case 't':
			a->timeout_ms = atoi(optarg);
			break;
		case 'i':
			a->ip = optarg;
			break;
		case 'h':
			a->helo = optarg;
			break;
		case 'f':
			a->from = optarg;
			break;
		case 'o':
			a->outbound = true;
			break;
		case 'p':
			a->policy = optarg;
			break;
		case 'R':
			if (a->n_rcpts == MAX_RCPTS)
				return usage();
			a->rcpts[a->n_rcpts++] = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	a->file = argv[optind];
	return 0;
}

/* jstr - a JSON string, or null for NULL (and for text that is not UTF-8) */
static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

/* clamd_json - scan with clamd (or say it was skipped) */
static json_t *clamd_json(const struct args *a, int fd, struct clamd_result *cr)
{
	static const char *const names[] = {"clean", "infected", "error"};
	struct clamd_opts o = {
	    .address = a->clamd, .stream_max = a->stream_max, .timeout_ms = a->timeout_ms};

	memset(cr, 0, sizeof(*cr));
	if (a->clamd == NULL)
		return json_pack("{s:s}", "status", "skipped");
	clamd_scan_fd(&o, fd, cr);
	return json_pack("{s:s, s:o}", "status", names[cr->status], "text", jstr(cr->text));
}

/* rspamd_json - scan with rspamd (or say it was skipped) */
static json_t *rspamd_json(const struct args *a, int fd, struct rspamd_result *rr)
{
	struct rspamd_opts o = {.url = a->rspamd, .timeout_ms = a->timeout_ms};
	struct rspamd_request req = {.ip = a->ip,
				     .helo = a->helo,
				     .from = a->from,
				     .rcpts = a->rcpts,
				     .n_rcpts = a->n_rcpts,
				     .queue_id = "SCANMSG"};
	struct rspamd_client *c;
	json_t *syms;

	memset(rr, 0, sizeof(*rr));
	if (a->rspamd == NULL) {
		rr->ok = true;
		return json_pack("{s:s}", "status", "skipped");
	}
	if ((c = rspamd_client_new(&o)) == NULL) {
		snprintf(rr->error, sizeof(rr->error), "cannot create a libcurl handle");
		return json_pack("{s:b, s:s}", "ok", 0, "error", rr->error);
	}
	rspamd_check_fd(c, &req, fd, rr);
	rspamd_client_free(c);
	if (!rr->ok)
		return json_pack("{s:b, s:o}", "ok", 0, "error", jstr(rr->error));
	syms = json_object();
	for (size_t i = 0; i < rr->n_symbols; i++)
		json_object_set_new(syms, rr->symbols[i].name, json_real(rr->symbols[i].score));
	return json_pack("{s:b, s:f, s:f, s:s, s:o, s:o}", "ok", 1, "score", rr->score,
			 "required_score", rr->required_score, "action", rr->action, "symbols",
			 syms, "auth_results", jstr(rr->auth_results));
}

/* mime_json - the inventory */
static json_t *mime_json(const struct mime_report *r)
{
	json_t *parts = json_array();

	for (size_t i = 0; i < r->n_parts; i++) {
		const struct mime_part_info *p = &r->parts[i];
		json_t *o = json_pack("{s:o, s:s, s:o, s:i, s:I}", "filename", jstr(p->filename),
				      "content_type", p->content_type, "sniffed", jstr(p->sniffed),
				      "depth", p->depth, "size", (json_int_t)p->size);

		if (p->is_archive) {
			json_t *ents = json_array();

			for (size_t k = 0; k < p->archive.n; k++)
				json_array_append_new(
				    ents, json_pack("{s:o, s:b}", "name",
						    jstr(p->archive.entries[k].name), "encrypted",
						    p->archive.entries[k].encrypted));
			json_object_set_new(o, "archive",
					    json_pack("{s:o, s:b, s:b, s:b}", "entries", ents,
						      "truncated", p->archive.truncated, "broken",
						      p->archive.broken, "more", p->archive.more));
		}
		json_array_append_new(parts, o);
	}
	return json_pack("{s:o, s:o, s:o, s:b, s:b, s:o}", "subject", jstr(r->subject), "from",
			 jstr(r->from_addr), "message_id", jstr(r->message_id), "parse_failed",
			 r->parse_failed, "depth_exceeded", r->depth_exceeded, "parts", parts);
}

/* findings_json - the attachment policy's findings */
static json_t *findings_json(const struct attach_findings *f)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(
		    arr, json_pack("{s:s, s:o, s:o}", "reason", attach_reason_str(f->v[i].reason),
				   "name", jstr(f->v[i].name), "detail", jstr(f->v[i].detail)));
	return json_pack("{s:I, s:o}", "total", (json_int_t)f->total, "findings", arr);
}

/* load_policy - the filter section from a file, or the defaults; 0 or -1 */
static int load_policy(const char *path, struct filter_policy *p)
{
	char err[256];
	json_error_t je;
	json_t *j = NULL;
	enum vr_err e;

	if (path != NULL && (j = json_load_file(path, 0, &je)) == NULL) {
		fprintf(stderr, "scanmsg: %s: %s\n", path, je.text);
		return -1;
	}
	e = filter_policy_parse(j, p, err, sizeof(err));
	json_decref(j);
	if (e != VR_OK) {
		fprintf(stderr, "scanmsg: policy: %s\n", err);
		filter_policy_free(p);
		return -1;
	}
	return 0;
}

/* verdict_json - the per-recipient decision */
static json_t *verdict_json(const struct args *a, const struct filter_policy *p,
			    const struct clamd_result *cr, const struct rspamd_result *rr,
			    const struct mime_report *mr, const struct antipub_result *ap,
			    const struct attach_findings *f)
{
	struct verdict_rcpt out[MAX_RCPTS];
	struct verdict_summary sum;
	struct verdict_input in = {
	    .direction = a->outbound ? FD_OUTBOUND : FD_INBOUND,
	    .env_from = a->from ? a->from : "",
	    .hdr_from = mr->from_addr,
	    .scan = {.av_ok = cr->status != CLAMD_ERROR,
		     .av_error = cr->text,
		     .virus = cr->status == CLAMD_INFECTED ? cr->text : NULL,
		     .spam_ok = rr->ok,
		     .spam_error = rr->error,
		     .spam_score = rr->score,
		     .newsletter = ap->is_newsletter,
		     .attach = f},
	    .rcpts = a->rcpts,
	    .n_rcpts = a->n_rcpts,
	};
	json_t *arr = json_array();

	verdict_decide(p, &in, out, &sum);
	for (size_t i = 0; i < a->n_rcpts; i++)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:s, s:o, s:o}", "rcpt", a->rcpts[i],
						"action", filter_action_str(out[i].action),
						"category", filter_category_str(out[i].category),
						"reason", jstr(out[i].reason), "subject_prefix",
						jstr(out[i].subject_prefix)));
	return json_pack("{s:s, s:o}", "summary", filter_action_str(sum.action), "recipients", arr);
}

int main(int argc, char **argv)
{
	struct args a;
	struct filter_policy policy;
	struct clamd_result cr;
	struct rspamd_result rr;
	struct mime_report mr;
	struct attach_findings f;
	struct antipub_result ap;
	json_t *out;
	int fd, rc = parse_args(argc, argv, &a);

	if (rc != 0)
		return rc;
	if ((fd = open(a.file, O_RDONLY | O_CLOEXEC)) < 0) {
		perror(a.file);
		return 1;
	}
	if (load_policy(a.policy, &policy) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mime_scan_init();
	out = json_object();
	json_object_set_new(out, "clamd", clamd_json(&a, fd, &cr));
	json_object_set_new(out, "rspamd", rspamd_json(&a, fd, &rr));
	if (mime_scan_fd(fd, &mr) != VR_OK) {
		perror(a.file);
		rc = 1;
	}
	json_object_set_new(out, "mime", mime_json(&mr));
	mime_attach_check(&mr, &policy.attach, &f);
	json_object_set_new(out, "attachments", findings_json(&f));
	antipub_classify(mr.headers, mr.n_headers, &rr, &ap);
	json_object_set_new(out, "antipub",
			    json_pack("{s:b, s:o, s:i, s:s, s:b}", "is_newsletter",
				      ap.is_newsletter, "signals", jstr(ap.signal_text), "groups",
				      ap.groups, "unsubscribe", ap.unsubscribe, "one_click",
				      ap.one_click));
	if (a.n_rcpts > 0)
		json_object_set_new(out, "verdict",
				    verdict_json(&a, &policy, &cr, &rr, &mr, &ap, &f));
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	mime_report_free(&mr);
	rspamd_result_free(&rr);
	filter_policy_free(&policy);
	close(fd);
	curl_global_cleanup();
	return rc;
}
