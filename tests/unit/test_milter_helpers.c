/* test_milter_helpers.c - the milter's parts that need no libmilter: agent/msgbuf.c (the
 * message copy, memory then an anonymous file), agent/outbox.c (tracking reports waiting for
 * apid) and agent/milter_meta.c (facts, quarantine metadata, idempotency keys, tracking
 * reports). Linked against agent_milter_core (agent/CMakeLists.txt).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm.h"
#include "milter_meta.h"
#include "msgbuf.h"
#include "outbox.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* make_dir - a fresh private directory under TMPDIR (or /tmp) into buf */
static void make_dir(char *buf, size_t n)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, n, "%s/vr-msgbuf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(buf));
}

/* dir_entries - names in dir other than . and .. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* fd_bytes - the whole content of fd, read with pread from 0 (malloc'd, len bytes) */
static char *fd_bytes(int fd, size_t len)
{
	char *b = malloc(len + 1);
	size_t got = 0;

	assert_non_null(b);
	while (got < len) {
		ssize_t r = pread(fd, b + got, len - got, (off_t)got);

		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(pread(fd, b, 1, (off_t)len), 0); /* nothing beyond */
	return b;
}

/* ---- msgbuf ------------------------------------------------------------------------- */

/* msgbuf_memory - small messages stay in memory, NUL-terminated */
static void msgbuf_memory(void **state)
{
	struct msgbuf m;

	(void)state;
	msgbuf_init(&m, "/nonexistent", 64, 0);
	assert_string_equal(msgbuf_data(&m), ""); /* empty, not NULL */
	assert_int_equal(msgbuf_fd(&m), -1);
	assert_int_equal(msgbuf_append(&m, "From: a\r\n", 9), MSGBUF_OK);
	assert_int_equal(msgbuf_append(&m, "", 0), MSGBUF_OK);
	assert_int_equal(msgbuf_append(&m, "\r\nbody", 6), MSGBUF_OK);
	assert_int_equal(m.len, 15);
	assert_string_equal(msgbuf_data(&m), "From: a\r\n\r\nbody");
	/* exactly mem_max still fits in memory (the spool directory is never touched) */
	{
		char fill[64 - 15];

		memset(fill, 'x', sizeof(fill));
		assert_int_equal(msgbuf_append(&m, fill, sizeof(fill)), MSGBUF_OK);
	}
	assert_int_equal(m.len, 64);
	assert_non_null(msgbuf_data(&m));
	msgbuf_free(&m);
	assert_int_equal(m.len, 0);
	assert_string_equal(msgbuf_data(&m), "");
}

/* msgbuf_spill - past mem_max everything moves to a file without a name, in order */
static void msgbuf_spill(void **state)
{
	char dir[256], *got, *want;
	struct msgbuf m;
	size_t total = 0;

	(void)state;
	make_dir(dir, sizeof(dir));
	want = malloc(10000);
	assert_non_null(want);
	for (size_t i = 0; i < 10000; i++)
		want[i] = (char)(i * 7 + (i >> 8)); /* NUL bytes included */
	msgbuf_init(&m, dir, 1000, 0);
	for (size_t chunk = 1; total < 10000; chunk = chunk * 3 + 1) {
		size_t n = total + chunk > 10000 ? 10000 - total : chunk;

		assert_int_equal(msgbuf_append(&m, want + total, n), MSGBUF_OK);
		total += n;
		if (total <= 1000)
			assert_int_equal(msgbuf_fd(&m), -1);
	}
	assert_int_equal(m.len, 10000);
	assert_null(msgbuf_data(&m));
	assert_true(msgbuf_fd(&m) >= 0);
	got = fd_bytes(msgbuf_fd(&m), 10000);
	assert_memory_equal(got, want, 10000);
	/* the spill file has no name, not even while it is open */
	assert_int_equal(dir_entries(dir), 0);
	msgbuf_free(&m);
	assert_int_equal(msgbuf_fd(&m), -1);

	/* the buffer can be used again */
	msgbuf_init(&m, dir, 1000, 0);
	assert_int_equal(msgbuf_append(&m, "again", 5), MSGBUF_OK);
	assert_string_equal(msgbuf_data(&m), "again");
	msgbuf_free(&m);
	free(got);
	free(want);
	assert_int_equal(rmdir(dir), 0);
}

/* msgbuf_cap - an append that would pass max is refused whole, in memory and in the file */
static void msgbuf_cap(void **state)
{
	char dir[256], big[300];
	struct msgbuf m;

	(void)state;
	make_dir(dir, sizeof(dir));
	memset(big, 'b', sizeof(big));
	msgbuf_init(&m, dir, 100, 250);
	assert_int_equal(msgbuf_append(&m, big, 90), MSGBUF_OK);
	assert_int_equal(msgbuf_append(&m, big, 161), MSGBUF_TOO_BIG);
	assert_int_equal(m.len, 90);
	assert_int_equal(msgbuf_fd(&m), -1); /* a refused append does not spill */
	assert_int_equal(msgbuf_append(&m, big, 160), MSGBUF_OK); /* exactly max: spilled */
	assert_int_equal(m.len, 250);
	assert_true(msgbuf_fd(&m) >= 0);
	assert_int_equal(msgbuf_append(&m, big, 1), MSGBUF_TOO_BIG);
	assert_int_equal(msgbuf_append(&m, big, 0), MSGBUF_OK);
	/* n larger than max itself (no overflow in the check) */
	assert_int_equal(msgbuf_append(&m, big, (size_t)-1), MSGBUF_TOO_BIG);
	assert_int_equal(m.len, 250);
	msgbuf_free(&m);
	assert_int_equal(rmdir(dir), 0);
}

/* msgbuf_io_error - a spool directory that cannot take the file: MSGBUF_IO, remembered */
static void msgbuf_io_error(void **state)
{
	struct msgbuf m;

	(void)state;
	msgbuf_init(&m, "/nonexistent/vr-spool", 8, 0);
	assert_int_equal(msgbuf_append(&m, "12345678", 8), MSGBUF_OK);
	assert_int_equal(msgbuf_append(&m, "9", 1), MSGBUF_IO);
	assert_int_equal(m.err, ENOENT);
	assert_int_equal(m.len, 8);
	assert_int_equal(msgbuf_append(&m, "", 0), MSGBUF_IO); /* later appends fail too */
	assert_string_equal(msgbuf_data(&m), "12345678");      /* the memory part is kept */
	msgbuf_free(&m);
	assert_int_equal(m.err, 0);
}

/* ---- outbox ------------------------------------------------------------------------- */

/* text - a malloc'd "r<i>" padded to len bytes (at least the number) */
static char *text(int i, size_t len)
{
	char num[32], *t;
	int n = snprintf(num, sizeof(num), "r%d", i);

	if (len < (size_t)n)
		len = (size_t)n;
	t = malloc(len + 1);
	assert_non_null(t);
	memset(t, '.', len);
	memcpy(t, num, (size_t)n);
	t[len] = '\0';
	return t;
}

/* take_num - take the head and return its number (-1 when empty) */
static int take_num(struct outbox *o)
{
	char *t = outbox_take(o);
	int i;

	if (t == NULL)
		return -1;
	assert_int_equal(sscanf(t, "r%d", &i), 1);
	free(t);
	return i;
}

/* outbox_order - first in, first out; push_front puts a failed retry back at the head */
static void outbox_order(void **state)
{
	struct outbox *o = outbox_new();

	(void)state;
	assert_null(outbox_take(o));
	assert_int_equal(outbox_count(o), 0);
	for (int i = 1; i <= 3; i++)
		outbox_push(o, text(i, 0));
	assert_int_equal(outbox_count(o), 3);
	assert_int_equal(take_num(o), 1);
	outbox_push_front(o, text(1, 0));
	outbox_push(o, text(4, 0));
	assert_int_equal(take_num(o), 1);
	assert_int_equal(take_num(o), 2);
	assert_int_equal(take_num(o), 3);
	assert_int_equal(take_num(o), 4);
	assert_int_equal(take_num(o), -1);
	assert_int_equal(outbox_dropped(o), 0);
	/* texts left in it are freed with it (LeakSanitizer checks) */
	outbox_push(o, text(5, 0));
	outbox_push_front(o, text(6, 0));
	outbox_free(o);
	outbox_free(NULL);
}

/* outbox_bounds - past OUTBOX_MAX reports or OUTBOX_MAX_BYTES the oldest go; a retry put
 * back into a full outbox is what is dropped */
static void outbox_bounds(void **state)
{
	struct outbox *o = outbox_new();
	size_t big = OUTBOX_MAX_BYTES / 4;

	(void)state;
	for (int i = 0; i < OUTBOX_MAX + 5; i++)
		outbox_push(o, text(i, 0));
	assert_int_equal(outbox_count(o), OUTBOX_MAX);
	assert_int_equal(outbox_dropped(o), 5);
	outbox_push_front(o, text(-1, 0)); /* full: dropped itself */
	assert_int_equal(outbox_dropped(o), 6);
	assert_int_equal(take_num(o), 5); /* the five oldest went */
	/* the ring wraps around correctly */
	for (int i = 0; i < OUTBOX_MAX - 1; i++)
		assert_int_equal(take_num(o), 6 + i);
	assert_int_equal(take_num(o), -1);

	/* bytes: four quarter-size texts fill it; a fifth pushes the oldest out */
	for (int i = 0; i < 4; i++)
		outbox_push(o, text(i, big - 8));
	assert_int_equal(outbox_count(o), 4);
	outbox_push(o, text(4, big));
	assert_int_equal(outbox_count(o), 4);
	assert_int_equal(outbox_dropped(o), 7);
	assert_int_equal(take_num(o), 1);
	/* a text larger than the whole budget is still kept alone (the newest wins) */
	outbox_push(o, text(9, OUTBOX_MAX_BYTES + 1));
	assert_int_equal(outbox_count(o), 1);
	assert_int_equal(take_num(o), 9);
	outbox_free(o);
}

struct pusher {
	struct outbox *o;
	int base;
};

/* push_many - a thread's 200 reports */
static void *push_many(void *arg)
{
	struct pusher *p = arg;

	for (int i = 0; i < 200; i++)
		outbox_push(p->o, text(p->base + i, 16));
	return NULL;
}

/* outbox_threads - concurrent pushes lose nothing and duplicate nothing */
static void outbox_threads(void **state)
{
	struct outbox *o = outbox_new();
	struct pusher p[4];
	pthread_t t[4];
	unsigned char seen[800] = {0};
	int i;

	(void)state;
	for (int k = 0; k < 4; k++) {
		p[k] = (struct pusher){o, k * 200};
		assert_int_equal(pthread_create(&t[k], NULL, push_many, &p[k]), 0);
	}
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	assert_int_equal(outbox_count(o), 800);
	while ((i = take_num(o)) >= 0) {
		assert_true(i < 800);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
	}
	for (int k = 0; k < 800; k++)
		assert_int_equal(seen[k], 1);
	outbox_free(o);
}

/* ---- milter_meta -------------------------------------------------------------------- */

/* clean - meta_clean_text compared with want, freed */
static void clean(const char *in, size_t max, const char *want)
{
	char *got = meta_clean_text(in, max);

	assert_string_equal(got, want);
	free(got);
}

/* clean_text_cases - invalid UTF-8 and control characters become '?', cut on a character */
static void clean_text_cases(void **state)
{
	char *a;

	(void)state;
	assert_null(meta_clean_text(NULL, 10));
	clean("", 10, "");
	clean("Réunion", 100, "Réunion");
	clean("tab\there\r\nnul\x7f", 100, "tab?here??nul?");
	clean("\xff\xfe ok", 100, "?? ok");
	clean("\xc0\x80", 100, "??");		/* overlong NUL */
	clean("\xe0\x80\xaf", 100, "???");	/* overlong '/' */
	clean("\xed\xa0\x80", 100, "???");	/* a UTF-16 surrogate */
	clean("\xf4\x90\x80\x80", 100, "????"); /* past U+10FFFF */
	clean("\xe2\x82", 100, "??");		/* cut sequence */
	clean("\xf0\x9f\x93\xa7 mail", 100, "\xf0\x9f\x93\xa7 mail");
	clean("ééé", 5, "éé"); /* never half a character */
	clean("ééé", 6, "ééé");
	clean("abcdef", 3, "abc");
	clean("ab\x01", 2, "ab");

	a = meta_clean_addr("<Alice Smith@corp.test>");
	assert_string_equal(a, "_Alice_Smith@corp.test_");
	free(a);
	a = meta_clean_addr("a/b\xff@x.test");
	assert_string_equal(a, "a_b_@x.test");
	free(a);
	a = meta_clean_addr("élodie@corp.test");
	assert_string_equal(a, "élodie@corp.test");
	free(a);
	a = meta_clean_addr(NULL);
	assert_string_equal(a, "");
	free(a);
}

/* sample - a source with everything filled in */
static struct meta_source sample(struct rspamd_result *rr, struct rspamd_symbol *syms)
{
	memset(rr, 0, sizeof(*rr));
	rr->ok = true;
	rr->score = 15.5;
	syms[0] = (struct rspamd_symbol){.name = "GTUBE", .score = 15};
	syms[1] = (struct rspamd_symbol){.name = "MIME_\x01ODD", .score = 0};
	rr->symbols = syms;
	rr->n_symbols = 2;
	return (struct meta_source){
	    .queue_id = "Q1ABC",
	    .received_at = 1795827723, /* 2026-11-28T01:02:03Z */
	    .sender = "jean@example.org",
	    .helo = "client.example.org",
	    .client_ip = "192.0.2.7",
	    .from = "jean@example.org",
	    .subject = "Réunion \xff",
	    .message_id = "m1@example.org",
	    .virus = NULL,
	    .rspamd = rr,
	    .size = 1234,
	};
}

/* facts_cases - what is kept, cleaned, wrapped, clamped or left out */
static void facts_cases(void **state)
{
	struct rspamd_symbol syms[2], many[150];
	struct rspamd_result rr;
	struct meta_source src = sample(&rr, syms);
	struct meta_facts f;
	char *long_id, *long_from;
	json_t *j;

	(void)state;
	meta_facts_make(&src, &f);
	assert_string_equal(f.queue_id, "Q1ABC");
	assert_string_equal(f.received_at, "2026-11-28T01:02:03Z");
	assert_string_equal(f.message_id, "<m1@example.org>");
	assert_string_equal(f.subject, "Réunion ?");
	assert_null(f.virus);
	assert_string_equal(f.content, ""); /* no content hash given */
	assert_true(f.has_score);
	assert_true(f.score == 15.5);
	j = meta_facts_json(&f, FD_INBOUND);
	assert_string_equal(json_string_value(json_object_get(j, "direction")), "inbound");
	assert_string_equal(json_string_value(json_object_get(j, "client_ip")), "192.0.2.7");
	assert_string_equal(json_string_value(json_object_get(j, "helo")), "client.example.org");
	assert_string_equal(json_string_value(json_object_get(j, "sender")), "jean@example.org");
	assert_int_equal(json_array_size(json_object_get(j, "symbols")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "symbols"), 1)),
			    "MIME_?ODD");
	assert_null(json_object_get(j, "virus"));
	json_decref(j);
	meta_facts_free(&f);

	/* unknown client, no HELO, no scores, a virus, a null sender, ids too long to carry */
	long_id = malloc(1000);
	long_from = malloc(400);
	assert_non_null(long_id);
	assert_non_null(long_from);
	memset(long_id, 'i', 999);
	long_id[999] = '\0';
	memset(long_from, 'f', 399);
	long_from[399] = '\0';
	src.client_ip = "unknown";
	src.helo = "";
	src.sender = "";
	src.virus = "Eicar-Signature";
	src.message_id = long_id;
	src.from = long_from;
	rr.ok = false;
	meta_facts_make(&src, &f);
	assert_null(f.client_ip);
	assert_null(f.helo);
	assert_null(f.message_id);
	assert_null(f.from);
	assert_string_equal(f.sender, "");
	assert_string_equal(f.virus, "Eicar-Signature");
	assert_false(f.has_score);
	j = meta_facts_json(&f, FD_OUTBOUND);
	assert_string_equal(json_string_value(json_object_get(j, "direction")), "outbound");
	assert_null(json_object_get(j, "score"));
	assert_null(json_object_get(j, "client_ip"));
	assert_null(json_object_get(j, "message_id"));
	assert_int_equal(json_array_size(json_object_get(j, "symbols")), 0);
	json_decref(j);
	meta_facts_free(&f);
	free(long_id);
	free(long_from);

	/* the content hash, in hex */
	{
		unsigned char h[32];

		for (int i = 0; i < 32; i++)
			h[i] = (unsigned char)(i * 8 + 1);
		src = sample(&rr, syms);
		src.content = h;
		meta_facts_make(&src, &f);
		assert_string_equal(f.content, "0109111921293139414951596169717981899199a1a9b1b9c1"
					       "c9d1d9e1e9f1f9");
		meta_facts_free(&f);
	}

	/* scores are clamped, symbols capped */
	src = sample(&rr, syms);
	for (size_t i = 0; i < 150; i++)
		many[i] = (struct rspamd_symbol){.name = "SYM", .score = 1};
	rr.symbols = many;
	rr.n_symbols = 150;
	rr.score = 1e9;
	meta_facts_make(&src, &f);
	assert_true(f.score == 10000);
	assert_int_equal(json_array_size(f.symbols), META_SYMBOLS_MAX);
	meta_facts_free(&f);
	rr.score = -1e9;
	meta_facts_make(&src, &f);
	assert_true(f.score == -10000);
	meta_facts_free(&f);
}

/* A message's content hash: SHA-256 of "From: a\r\n\r\nbody\r\n". */
#define CONTENT "00690ad2b9eb274bc2439fb51cc6d9c4817c16beb81d0e73da9bfb67e08cf734"

/* key_of - the key for one set of inputs */
static void key_of(const char *agent, const char *qid, const char *sender, const char *mid,
		   const char *content, enum filter_category cat, const char *const *addrs,
		   size_t n, char out[META_KEY_SIZE])
{
	struct meta_facts f = {0};

	snprintf(f.queue_id, sizeof(f.queue_id), "%s", qid);
	snprintf(f.content, sizeof(f.content), "%s", content);
	f.sender = (char *)sender;
	f.message_id = (char *)mid;
	meta_quarantine_key(agent, &f, cat, addrs, n, out);
}

/* key_cases - a known vector; every input but the queue id changes the key */
static void key_cases(void **state)
{
	const char *two[] = {"bob@corp.test", "alice@corp.test"};
	const char *swapped[] = {"alice@corp.test", "bob@corp.test"};
	const char *joined[] = {"bob@corp.testalice@corp.test"};
	const char *j = "jean@example.org", *m1 = "<m1@example.org>";
	char k[META_KEY_SIZE], o[META_KEY_SIZE];

	(void)state;
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, two, 2, k);
	/* hashlib.sha256(b"stack-agent\0jean@example.org\0<m1@example.org>\0" + CONTENT +
	 *                b"\0spam\0bob@corp.test\0alice@corp.test\0") */
	assert_string_equal(k,
			    "vr2-79ced1153d720a0395f63f8f46300c5ef5663810f90d4ac9ddfff07d7fb5719e");
	assert_int_equal(strlen(k), META_KEY_SIZE - 1);
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, two, 2, o);
	assert_string_equal(k, o); /* a repeated request: the same key */
	/* the sender's retry has another queue id, and must find the copy already held */
	key_of("stack-agent", "Q2XYZ", j, m1, CONTENT, FC_SPAM, two, 2, o);
	assert_string_equal(k, o);

	key_of("other-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, two, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", "", m1, CONTENT, FC_SPAM, two, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, "<m2@example.org>", CONTENT, FC_SPAM, two, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, NULL, CONTENT, FC_SPAM, two, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, m1, "", FC_SPAM, two, 2, o);
	assert_string_not_equal(k, o); /* another content: another message */
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_VIRUS, two, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, two, 1, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, swapped, 2, o);
	assert_string_not_equal(k, o);
	key_of("stack-agent", "Q1ABC", j, m1, CONTENT, FC_SPAM, joined, 1, o);
	assert_string_not_equal(k, o); /* the NULs keep the strings apart */
}

/* group_cases - recipients split per category, each request under the header budget */
static void group_cases(void **state)
{
	enum { N = 400 };
	struct verdict_rcpt out[N];
	char *caddr[N];
	size_t idx[N], from, n, covered = 0, last = 0;
	bool first = true;

	(void)state;
	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < 5; i++) {
		caddr[i] = meta_clean_addr("a@corp.test");
		out[i].action = FA_QUARANTINE;
		out[i].category = FC_SPAM;
	}
	out[1].action = FA_DELIVER;
	out[3].category = FC_VIRUS;
	from = 0;
	n = meta_next_group(out, caddr, 5, FC_SPAM, &from, idx);
	assert_int_equal(n, 3);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 4);
	assert_int_equal(meta_next_group(out, caddr, 5, FC_SPAM, &from, idx), 0);
	from = 0;
	assert_int_equal(meta_next_group(out, caddr, 5, FC_VIRUS, &from, idx), 1);
	assert_int_equal(idx[0], 3);
	from = 0;
	assert_int_equal(meta_next_group(out, caddr, 5, FC_NEWSLETTER, &from, idx), 0);
	for (size_t i = 0; i < 5; i++)
		free(caddr[i]);

	/* 400 recipients of 200 bytes: several requests, each under budget, all covered once,
	 * in order */
	for (size_t i = 0; i < N; i++) {
		char a[201];

		memset(a, 'x', 200);
		snprintf(a + 180, 21, "%05zu@corp.test", i);
		caddr[i] = meta_clean_addr(a);
		out[i].action = FA_QUARANTINE;
		out[i].category = FC_SPAM;
	}
	from = 0;
	while ((n = meta_next_group(out, caddr, N, FC_SPAM, &from, idx)) > 0) {
		size_t bytes = 0;

		for (size_t k = 0; k < n; k++) {
			bytes += strlen(caddr[idx[k]]) + 3;
			assert_true(first || idx[k] > last);
			last = idx[k];
			first = false;
		}
		assert_true(bytes <= META_QUARANTINE_MAX / 2);
		covered += n;
	}
	assert_int_equal(covered, N);
	assert_int_equal(last, N - 1);
	for (size_t i = 0; i < N; i++)
		free(caddr[i]);

	/* one address longer than the budget still goes, alone */
	{
		char *huge = malloc(META_QUARANTINE_MAX);

		assert_non_null(huge);
		memset(huge, 'h', META_QUARANTINE_MAX - 1);
		huge[META_QUARANTINE_MAX - 1] = '\0';
		caddr[0] = huge;
		caddr[1] = "b@corp.test";
		from = 0;
		assert_int_equal(meta_next_group(out, caddr, 2, FC_SPAM, &from, idx), 1);
		assert_int_equal(meta_next_group(out, caddr, 2, FC_SPAM, &from, idx), 1);
		assert_int_equal(idx[0], 1);
		assert_int_equal(meta_next_group(out, caddr, 2, FC_SPAM, &from, idx), 0);
		free(huge);
	}
}

/* quarantine_json_cases - the metadata apid receives */
static void quarantine_json_cases(void **state)
{
	struct rspamd_symbol syms[2];
	struct rspamd_result rr;
	struct meta_source src = sample(&rr, syms);
	struct antipub_result ap = {.is_newsletter = true, .one_click = true};
	const char *addrs[] = {"bob@corp.test", "alice@corp.test"};
	char key[META_KEY_SIZE], *text;
	struct meta_facts f;
	json_error_t je;
	json_t *j;

	(void)state;
	snprintf(ap.unsubscribe, sizeof(ap.unsubscribe), "https://shop.example.com/u?x=1");
	src.virus = "Eicar-Signature";
	meta_facts_make(&src, &f);
	meta_quarantine_key("stack-agent", &f, FC_SPAM, addrs, 2, key);

	text = meta_quarantine_json("stack-agent", &f, FD_INBOUND, FC_SPAM, &ap, addrs, 2);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_null(strchr(text, '\n')); /* compact: it travels in one header */
	assert_string_equal(json_string_value(json_object_get(j, "key")), key);
	assert_string_equal(json_string_value(json_object_get(j, "category")), "spam");
	assert_null(json_object_get(j, "virus"));	/* only for the virus copy */
	assert_null(json_object_get(j, "unsubscribe")); /* only for newsletters */
	assert_int_equal(json_array_size(json_object_get(j, "recipients")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "recipients"), 1)),
			    "alice@corp.test");
	assert_string_equal(json_string_value(json_object_get(j, "message_id")),
			    "<m1@example.org>");
	assert_true(json_real_value(json_object_get(j, "score")) == 15.5);
	json_decref(j);
	free(text);

	text = meta_quarantine_json("stack-agent", &f, FD_INBOUND, FC_VIRUS, &ap, addrs, 1);
	j = json_loads(text, 0, &je);
	assert_string_equal(json_string_value(json_object_get(j, "virus")), "Eicar-Signature");
	assert_string_not_equal(json_string_value(json_object_get(j, "key")), key);
	json_decref(j);
	free(text);

	text = meta_quarantine_json("stack-agent", &f, FD_INBOUND, FC_NEWSLETTER, &ap, addrs, 1);
	j = json_loads(text, 0, &je);
	assert_string_equal(json_string_value(json_object_get(j, "unsubscribe")),
			    "https://shop.example.com/u?x=1");
	assert_true(json_is_true(json_object_get(j, "one_click")));
	json_decref(j);
	free(text);

	text = meta_quarantine_json("stack-agent", &f, FD_INBOUND, FC_NEWSLETTER, NULL, addrs, 1);
	assert_null(strstr(text, "unsubscribe"));
	free(text);
	meta_facts_free(&f);
}

/* report_json_cases - the tracking report, as decided and as deferred */
static void report_json_cases(void **state)
{
	struct rspamd_symbol syms[2];
	struct rspamd_result rr;
	struct meta_source src = sample(&rr, syms);
	struct verdict_rcpt out[2] = {
	    {.action = FA_QUARANTINE, .category = FC_SPAM, .reason = "score 15.5 \x01"},
	    {.action = FA_DELIVER, .category = FC_CLEAN, .reason = "clean"},
	};
	char *caddr[2] = {"bob@corp.test", "alice@corp.test"};
	char qids[2][META_QID_SIZE] = {"q-123", ""};
	struct meta_facts f;
	json_error_t je;
	json_t *j, *r;
	char *text;

	(void)state;
	meta_facts_make(&src, &f);
	text = meta_report_json("stack-agent", &f, FD_INBOUND, caddr, out, qids, 2, NULL, NULL);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "agent")), "stack-agent");
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 1234);
	r = json_object_get(j, "recipients");
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "action")),
			    "quarantine");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "reason")),
			    "score 15.5 ?");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(r, 0), "quarantine_id")), "q-123");
	assert_null(json_object_get(json_array_get(r, 1), "quarantine_id"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "category")),
			    "clean");
	json_decref(j);
	free(text);

	/* deferred as a whole: every action is the override; a tempfail keeps its reason */
	out[1].action = FA_TEMPFAIL;
	snprintf(out[1].reason, sizeof(out[1].reason), "rspamd: connection refused");
	text = meta_report_json("stack-agent", &f, FD_INBOUND, caddr, out, NULL, 2, "tempfail",
				"message deferred");
	j = json_loads(text, 0, &je);
	r = json_object_get(j, "recipients");
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(r, i), "action")), "tempfail");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "reason")),
			    "message deferred");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "reason")),
			    "rspamd: connection refused");
	assert_null(json_object_get(json_array_get(r, 0), "quarantine_id"));
	json_decref(j);
	free(text);
	meta_facts_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(msgbuf_memory),	 cmocka_unit_test(msgbuf_spill),
	    cmocka_unit_test(msgbuf_cap),	 cmocka_unit_test(msgbuf_io_error),
	    cmocka_unit_test(outbox_order),	 cmocka_unit_test(outbox_bounds),
	    cmocka_unit_test(outbox_threads),	 cmocka_unit_test(clean_text_cases),
	    cmocka_unit_test(facts_cases),	 cmocka_unit_test(key_cases),
	    cmocka_unit_test(group_cases),	 cmocka_unit_test(quarantine_json_cases),
	    cmocka_unit_test(report_json_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
