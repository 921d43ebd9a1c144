/*
 * view.c - JSON of the mail routes (messages, stats, quarantine) to tables for people.
 *
 * Entry points: see view.h. Values go through kv_text() (numbers, yes/no, lists) and the
 * table scrubs control characters, so a hostile subject cannot drive the terminal. A
 * missing or null value shows as "-"; nothing here fails on a reply missing members.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "text.h"
#include "view.h"

/* str - the string member KEY of O, or NULL */
static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* memstream - an open_memstream() that aborts on failure */
static FILE *memstream(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f == NULL)
		abort();
	return f;
}

/* close_memstream - close F, opened on *BUF; its text (or NULL when empty) */
static char *close_memstream(FILE *f, char **buf)
{
	if (fclose(f) != 0)
		abort();
	if ((*buf)[0] == '\0') {
		free(*buf);
		return NULL;
	}
	return *buf;
}

/* view_counts - {"spam": 3, "virus": 1} as "spam 3, virus 1"; NULL when empty */
char *view_counts(const json_t *o)
{
	const char *key;
	const json_t *n;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	bool first = true;

	if (!json_is_object(o) || json_object_size(o) == 0)
		return NULL;
	f = memstream(&buf, &len);
	json_object_foreach((json_t *)o, key, n) {
		char *t = kv_text(n);

		fprintf(f, "%s%s %s", first ? "" : ", ", key, t ? t : "-");
		free(t);
		first = false;
	}
	return close_memstream(f, &buf);
}

/* outcome_text - "ACTION (CATEGORY)[: REASON][, quarantine ID]" of recipient R */
static char *outcome_text(const json_t *r)
{
	const char *reason = str(r, "reason"), *qid = str(r, "quarantine_id");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = memstream(&buf, &len);

	fprintf(f, "%s (%s)", str(r, "action") ? str(r, "action") : "-",
		str(r, "category") ? str(r, "category") : "-");
	if (reason && *reason)
		fprintf(f, ": %s", reason);
	if (qid && *qid)
		fprintf(f, ", quarantine %s", qid);
	return close_memstream(f, &buf);
}

/* view_messages - ITEMS (Message objects) as the TIME/DIRECTION/SENDER/SUBJECT table */
struct table *view_messages(const json_t *items)
{
	struct table *t = table_new(4, (const char *[]){"TIME", "DIRECTION", "SENDER/RECIPIENT",
						       "SUBJECT/ACTION (CATEGORY)"});
	const json_t *m, *r;
	size_t i, k;

	json_array_foreach(items, i, m) {
		const char *sender = str(m, "sender");

		/* the null sender of bounces is <>, as in a mail log */
		table_add(t, (const char *[]){str(m, "received_at"), str(m, "direction"),
					      sender && !*sender ? "<>" : sender,
					      str(m, "subject")});
		json_array_foreach(json_object_get(m, "recipients"), k, r) {
			char *outcome = outcome_text(r);

			table_add(t, (const char *[]){table_blank, table_blank, str(r, "address"),
						      outcome});
			free(outcome);
		}
	}
	return t;
}

/* view_stats - a Stats object as "key:" rows */
struct table *view_stats(const json_t *stats)
{
	static const struct {
		const char *label, *member;
	} rows[] = {
		{"since:", "since"},
		{"until:", "until"},
		{"messages:", "messages_by_direction"},
		{"actions:", "by_action"},
		{"categories:", "by_category"},
	};
	struct table *t = table_new(2, NULL);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const json_t *v = json_object_get(stats, rows[i].member);
		char *text = json_is_object(v) ? view_counts(v) : kv_text(v);

		table_add(t, (const char *[]){rows[i].label,
					      text ? text : json_is_object(v) ? "none" : NULL});
		free(text);
	}
	return t;
}

/* view_quarantine - ITEMS (QItem objects), one row each */
struct table *view_quarantine(const json_t *items)
{
	struct table *t = table_new(8, (const char *[]){"ID", "RECEIVED", "CATEGORY", "STATUS",
							"SCORE", "RECIPIENT", "SENDER", "SUBJECT"});
	const json_t *q;
	size_t i;

	json_array_foreach(items, i, q) {
		char *score = kv_text(json_object_get(q, "score"));

		table_add(t, (const char *[]){str(q, "id"), str(q, "received_at"),
					      str(q, "category"), str(q, "status"), score,
					      str(q, "recipient"), str(q, "sender"),
					      str(q, "subject")});
		free(score);
	}
	return t;
}

/* recipients_text - [{"address","status"}] as "a@x (held), b@x (released)" */
static char *recipients_text(const json_t *rcpts)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = memstream(&buf, &len);
	const json_t *r;

	json_array_foreach(rcpts, i, r)
		fprintf(f, "%s%s (%s)", i ? ", " : "", str(r, "address") ? str(r, "address") : "-",
			str(r, "status") ? str(r, "status") : "-");
	return close_memstream(f, &buf);
}

/* unsubscribe_text - {"target","one_click"} as "TARGET[ (one-click)]", NULL without one */
static char *unsubscribe_text(const json_t *u)
{
	const char *target = str(u, "target");
	char *s;

	if (target == NULL || !*target)
		return NULL;
	if (asprintf(&s, "%s%s", target,
		     json_is_true(json_object_get(u, "one_click")) ? " (one-click)" : "") < 0)
		abort();
	return s;
}

/* attachment_text - "NAME (TYPE, N bytes, DISPOSITION)" of attachment A */
static char *attachment_text(const json_t *a)
{
	char *size = kv_text(json_object_get(a, "size")), *s;
	const char *name = str(a, "filename"), *disp = str(a, "disposition");

	if (asprintf(&s, "%s (%s, %s bytes%s%s)", name && *name ? name : "(no name)",
		     str(a, "content_type") ? str(a, "content_type") : "?", size ? size : "?",
		     disp && *disp ? ", " : "", disp && *disp ? disp : "") < 0)
		abort();
	free(size);
	return s;
}

/* add_row - a "LABEL:" row of T with TEXT (taken: freed here) */
static void add_row(struct table *t, const char *label, char *text)
{
	char *l;

	if (asprintf(&l, "%s:", label) < 0)
		abort();
	table_add(t, (const char *[]){l, text});
	free(l);
	free(text);
}

/* add_headers - the non-empty members of the headers object H as "header.NAME:" rows */
static void add_headers(struct table *t, const json_t *h)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(h)) {
		add_row(t, "headers", NULL);
		return;
	}
	json_object_foreach((json_t *)h, key, v) {
		char *label, *text = kv_text(v);

		if (text == NULL || !*text) {
			free(text);
			continue;
		}
		if (asprintf(&label, "header.%s", key) < 0)
			abort();
		add_row(t, label, text);
		free(label);
	}
}

/* view_quarantine_detail - one held message as "key:" rows */
struct table *view_quarantine_detail(const json_t *d)
{
	struct table *t = table_new(2, NULL);
	const char *key;
	const json_t *v, *a;
	size_t i;

	json_object_foreach((json_t *)d, key, v) {
		if (strcmp(key, "recipients") == 0) {
			add_row(t, key, recipients_text(v));
		} else if (strcmp(key, "unsubscribe") == 0) {
			add_row(t, key, unsubscribe_text(v));
		} else if (strcmp(key, "headers") == 0) {
			add_headers(t, v);
		} else if (strcmp(key, "attachments") == 0) {
			if (json_array_size(v) == 0)
				add_row(t, key, NULL);
			json_array_foreach(v, i, a)
				add_row(t, "attachment", attachment_text(a));
		} else {
			add_row(t, key, kv_text(v));
		}
	}
	return t;
}

/* view_recipients - [{"address","status"}] as a RECIPIENT/STATUS table */
struct table *view_recipients(const json_t *recipients)
{
	struct table *t = table_new(2, (const char *[]){"RECIPIENT", "STATUS"});
	const json_t *r;
	size_t i;

	json_array_foreach(recipients, i, r)
		table_add(t, (const char *[]){str(r, "address"), str(r, "status")});
	return t;
}

/* view_unsubscribed - the outcome of a one-click unsubscribe in one line */
char *view_unsubscribed(const json_t *reply)
{
	char *line, *status;

	if (!json_is_object(reply))
		return NULL;
	status = kv_text(json_object_get(reply, "http_status"));
	if (asprintf(&line, "Unsubscribed from %s: %s answered HTTP %s.",
		     str(reply, "id") ? str(reply, "id") : "-",
		     str(reply, "target") ? str(reply, "target") : "the sender",
		     status ? status : "-") < 0)
		abort();
	free(status);
	return text_scrub(line);
}

/* view_bulk - the results of a bulk action as an ID/STATUS/CODE/DETAIL table */
struct table *view_bulk(const json_t *results)
{
	struct table *t = table_new(4, (const char *[]){"ID", "STATUS", "CODE", "DETAIL"});
	const json_t *r;
	size_t i;

	json_array_foreach(results, i, r) {
		char *status = kv_text(json_object_get(r, "status"));

		table_add(t, (const char *[]){str(r, "id"), status, str(r, "code"),
					      str(r, "detail")});
		free(status);
	}
	return t;
}
