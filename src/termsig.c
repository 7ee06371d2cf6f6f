/*
 * termsig: the program's signals to its terminal (termsig.h): OSC 7501
 * status reports and their query, notifications (OSC 9, 777, 99), OSC 9;4
 * progress and the bell, each kept as the latest of its kind. Formats:
 *   OSC 7501 ; ?                       query: answered "OSC 7501 ; ? ST"
 *   OSC 7501 ; state=S:app=A:kind=K:id=I:progress=N:title=B64:msg=B64
 *   OSC 9 ; text                       iTerm2 notification
 *   OSC 9 ; 4 ; st ; pr                ConEmu progress (other OSC 9 ; N ConEmu
 *                                      commands are not notifications)
 *   OSC 777 ; notify ; title ; body    rxvt/ghostty/WezTerm notification
 *   OSC 99 ; i=ID:p=P:e=1:d=0 ; data   kitty notification, in chunks; p=? asks
 *                                      what the terminal supports
 */
#include "termsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TERMSIG_OSC99_MAX 1024     /* title or body bytes gathered */

/* A kitty notification being gathered from its chunks. */
struct termsig_kitty {
	char id[48];
	char title[TERMSIG_OSC99_MAX];
	char body[TERMSIG_OSC99_MAX];
	int active;
};

struct termsig {
	termsig_reply_fn reply;
	void *user;
	struct termsig_view v;
	struct termsig_kitty kitty;
};

termsig_t *
termsig_new(termsig_reply_fn reply, void *user)
{
	termsig_t *t = xcalloc(1, sizeof *t);
	t->reply = reply;
	t->user = user;
	t->v.status.progress = -1;
	return t;
}

void
termsig_free(termsig_t *t)
{
	free(t);
}

void
termsig_reset(termsig_t *t)
{
	unsigned serial = t->v.serial;
	memset(&t->v, 0, sizeof t->v);
	memset(&t->kitty, 0, sizeof t->kitty);
	t->v.status.progress = -1;
	t->v.serial = serial + 1;
}

const struct termsig_view *
termsig_view(const termsig_t *t)
{
	return &t->v;
}

const char *
termsig_state_name(int state)
{
	static const char *const names[] = { "", "idle", "working", "blocked", "done", "error" };
	return state >= 0 && state < (int)UTIL_ARRAY_LEN(names) ? names[state] : "";
}

static void
termsig_answer(termsig_t *t, const char *s)
{
	if (t->reply != NULL)
		t->reply(s, strlen(s), t->user);
}

/* ---- text ---- */

static int
termsig_b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
termsig_base64(const char *s, size_t len, char *out, size_t max)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (max == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = termsig_b64_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= max)
				return -1;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	return (int)n;
}

size_t
termsig_clean(const char *s, size_t len, char *out, size_t max)
{
	size_t n = 0, i = 0;
	int space = 1;      /* no leading space */
	if (max == 0)
		return 0;
	while (i < len && n + 1 < max) {
		uint32_t cp;
		char tmp[5] = { 0 };
		size_t k = UTIL_MIN(len - i, 4);
		memcpy(tmp, s + i, k);
		int w = util_utf8_decode(tmp, &cp);
		if (w <= 0 || (size_t)w > k) {
			i++;            /* an invalid byte: dropped */
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == ' ') {
			if (!space && n + 1 < max)
				out[n++] = ' ';
			space = 1;
		} else {
			if (n + (size_t)w >= max)
				break;
			memcpy(out + n, s + i, (size_t)w);
			n += (size_t)w;
			space = 0;
		}
		i += (size_t)w;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n;
}

/* Base64 field value v (vlen bytes) decoded and cleaned into out. */
static void
termsig_b64_field(const char *v, size_t vlen, char *out, size_t max)
{
	char raw[TERMSIG_TEXT_MAX * 4];
	int n = termsig_base64(v, vlen, raw, sizeof raw);
	if (n < 0)
		termsig_clean(v, vlen, out, max);    /* not base64: shown as sent */
	else
		termsig_clean(raw, (size_t)n, out, max);
}

/* ---- OSC 7501 ---- */

static int
termsig_parse_state(const char *v, size_t n)
{
	static const char *const names[] = { "", "idle", "working", "blocked", "done", "error" };
	for (size_t i = 1; i < UTIL_ARRAY_LEN(names); i++)
		if (strlen(names[i]) == n && memcmp(v, names[i], n) == 0)
			return (int)i;
	return n == 5 && memcmp(v, "clear", 5) == 0 ? TERMSIG_NONE : -1;
}

/* One report's fields. */
struct termsig_report {
	int state;               /* -1: none given */
	char id[48], kind[24], app[32];
	char title[64], msg[TERMSIG_TEXT_MAX];
	int progress;
};

static void
termsig_report_field(struct termsig_report *r, const char *f, size_t n)
{
	const char *eq = memchr(f, '=', n);
	if (eq == NULL)
		return;
	size_t k = (size_t)(eq - f), vl = n - k - 1;
	const char *v = eq + 1;
	if (k == 5 && memcmp(f, "state", 5) == 0)
		r->state = termsig_parse_state(v, vl);
	else if (k == 2 && memcmp(f, "id", 2) == 0)
		termsig_clean(v, vl, r->id, sizeof r->id);
	else if (k == 4 && memcmp(f, "kind", 4) == 0)
		termsig_clean(v, vl, r->kind, sizeof r->kind);
	else if (k == 3 && memcmp(f, "app", 3) == 0)
		termsig_clean(v, vl, r->app, sizeof r->app);
	else if (k == 5 && memcmp(f, "title", 5) == 0)
		termsig_b64_field(v, vl, r->title, sizeof r->title);
	else if (k == 3 && memcmp(f, "msg", 3) == 0)
		termsig_b64_field(v, vl, r->msg, sizeof r->msg);
	else if (k == 8 && memcmp(f, "progress", 8) == 0 && vl > 0 && vl < 4) {
		char num[4] = { 0 };
		memcpy(num, v, vl);
		int p = atoi(num);
		r->progress = p >= 0 && p <= 100 ? p : -1;
	}
}

/* A subagent's report: its slot (the least recent one makes room). */
static void
termsig_sub_report(termsig_t *t, const struct termsig_report *r, int64_t now)
{
	struct termsig_sub *slot = NULL;
	for (int i = 0; i < TERMSIG_SUBS; i++) {
		struct termsig_sub *s = &t->v.sub[i];
		if (strcmp(s->id, r->id) == 0) {
			slot = s;
			break;
		}
		if (slot == NULL || (slot->id[0] != '\0' && (s->id[0] == '\0' || s->at_ms < slot->at_ms)))
			slot = s;
	}
	if (r->state == TERMSIG_NONE) {      /* clear: the subagent finished */
		if (strcmp(slot->id, r->id) == 0)
			memset(slot, 0, sizeof *slot);
		return;
	}
	if (strcmp(slot->id, r->id) != 0) {
		memset(slot, 0, sizeof *slot);
		snprintf(slot->id, sizeof slot->id, "%s", r->id);
	}
	slot->state = r->state;
	if (r->title[0] != '\0')
		snprintf(slot->title, sizeof slot->title, "%s", r->title);
	slot->at_ms = now;
}

static void
termsig_7501(termsig_t *t, const char *d, size_t n, int64_t now)
{
	if (n > 0 && d[0] == '?') {
		termsig_answer(t, "\033]7501;?\033\\");
		return;
	}
	struct termsig_report r = { .state = -1, .progress = -1 };
	for (size_t i = 0; i < n;) {
		const char *colon = memchr(d + i, ':', n - i);
		size_t f = colon != NULL ? (size_t)(colon - (d + i)) : n - i;
		termsig_report_field(&r, d + i, f);
		i += f + 1;
	}
	if (r.state < 0)
		return;
	t->v.reporter = 1;
	if (r.id[0] != '\0') {
		termsig_sub_report(t, &r, now);
		return;
	}
	struct termsig_status *s = &t->v.status;
	if (r.state == TERMSIG_WORKING && s->state != TERMSIG_WORKING)
		t->v.working++;
	s->state = r.state;
	snprintf(s->kind, sizeof s->kind, "%s", r.state == TERMSIG_BLOCKED ? r.kind : "");
	if (r.app[0] != '\0')
		snprintf(s->app, sizeof s->app, "%s", r.app);
	snprintf(s->msg, sizeof s->msg, "%s", r.msg);
	s->progress = r.progress;
	s->at_ms = now;
	if (r.state == TERMSIG_NONE)       /* clear (the program exits) */
		memset(t->v.sub, 0, sizeof t->v.sub);
}

/* ---- notifications ---- */

static void
termsig_notify(termsig_t *t, int source, const char *title, const char *body, int64_t now)
{
	struct termsig_notify *nt = &t->v.notify;
	char text[2 * TERMSIG_OSC99_MAX + 4];
	snprintf(text, sizeof text, "%s%s%s", title, title[0] && body[0] ? ": " : "", body);
	nt->source = source;
	termsig_clean(text, strlen(text), nt->text, sizeof nt->text);
	nt->at_ms = now;
	nt->count++;
}

void
termsig_bell(termsig_t *t, int64_t now_ms)
{
	termsig_notify(t, TERMSIG_BEL, "", "", now_ms);
	t->v.serial++;
}

/* OSC 9: a notification, ConEmu's progress (9;4;st;pr), or another ConEmu
 * command (9;N or 9;N;..., N from 1 to 12), which is none of ours. */
static int
termsig_osc9(termsig_t *t, const char *d, size_t n, int64_t now)
{
	size_t digits = 0;
	while (digits < n && digits < 3 && d[digits] >= '0' && d[digits] <= '9')
		digits++;
	int num = digits > 0 && digits < 3 && (digits == n || d[digits] == ';') ? atoi(d) : 0;
	if (num == 4) {
		int st = 0, pr = 0;
		char buf[16] = { 0 };
		memcpy(buf, d, UTIL_MIN(n, sizeof buf - 1));
		if (sscanf(buf, "4;%d;%d", &st, &pr) < 1 || st < 0 || st > 4)
			return 0;
		t->v.progress = (struct termsig_progress){ st, pr < 0 ? 0 : pr > 100 ? 100 : pr, now };
		return 1;
	}
	if (num >= 1 && num <= 12)
		return 0;
	char text[TERMSIG_TEXT_MAX];
	termsig_clean(d, n, text, sizeof text);
	termsig_notify(t, TERMSIG_OSC9, "", text, now);
	return 1;
}

/* OSC 777 ; notify ; title ; body (other 777 commands are not ours). */
static int
termsig_osc777(termsig_t *t, const char *d, size_t n, int64_t now)
{
	if (n < 7 || memcmp(d, "notify;", 7) != 0)
		return 0;
	d += 7;
	n -= 7;
	const char *semi = memchr(d, ';', n);
	size_t tl = semi != NULL ? (size_t)(semi - d) : n;
	char title[TERMSIG_TEXT_MAX], body[TERMSIG_TEXT_MAX] = "";
	termsig_clean(d, tl, title, sizeof title);
	if (semi != NULL)
		termsig_clean(semi + 1, n - tl - 1, body, sizeof body);
	termsig_notify(t, TERMSIG_OSC777, title, body, now);
	return 1;
}

/* kitty's metadata "k=v:k=v": the value of key k (a single letter). */
static void
termsig_meta(const char *m, size_t n, char k, char *out, size_t max)
{
	out[0] = '\0';
	for (size_t i = 0; i < n;) {
		const char *colon = memchr(m + i, ':', n - i);
		size_t f = colon != NULL ? (size_t)(colon - (m + i)) : n - i;
		if (f >= 2 && m[i] == k && m[i + 1] == '=') {
			size_t vl = UTIL_MIN(f - 2, max - 1);
			memcpy(out, m + i + 2, vl);
			out[vl] = '\0';
		}
		i += f + 1;
	}
}

/* The answer to "p=?": what this terminal does with notifications. The id
 * is echoed only when it is made of kitty's id characters. */
static void
termsig_osc99_query(termsig_t *t, const char *id)
{
	char ans[160];
	if (strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+.") !=
	    strlen(id))
		id = "";
	snprintf(ans, sizeof ans, "\033]99;i=%s:p=?;a=focus:o=always,unfocused,invisible:"
	    "u=0,1,2:p=title,body,?\033\\", id);
	termsig_answer(t, ans);
}

static void
termsig_append(char *dst, size_t max, const char *src, size_t n)
{
	size_t at = strlen(dst);
	n = UTIL_MIN(n, max - 1 - at);
	memcpy(dst + at, src, n);
	dst[at + n] = '\0';
}

/* OSC 99: a chunk of a kitty notification (title or body; d=0 says more
 * follow), or a query. */
static int
termsig_osc99(termsig_t *t, const char *d, size_t n, int64_t now)
{
	const char *semi = memchr(d, ';', n);
	size_t ml = semi != NULL ? (size_t)(semi - d) : n;
	const char *payload = semi != NULL ? semi + 1 : "";
	size_t pl = semi != NULL ? n - ml - 1 : 0;
	char id[48], p[16], e[4], done[4];
	termsig_meta(d, ml, 'i', id, sizeof id);
	termsig_meta(d, ml, 'p', p, sizeof p);
	termsig_meta(d, ml, 'e', e, sizeof e);
	termsig_meta(d, ml, 'd', done, sizeof done);
	if (strcmp(p, "?") == 0) {
		termsig_osc99_query(t, id);
		return 1;
	}
	if (p[0] != '\0' && strcmp(p, "title") != 0 && strcmp(p, "body") != 0)
		return 1;       /* close, alive, icon, buttons: nothing to show */
	struct termsig_kitty *k = &t->kitty;
	if (!k->active || strcmp(k->id, id) != 0) {
		memset(k, 0, sizeof *k);
		snprintf(k->id, sizeof k->id, "%s", id);
		k->active = 1;
	}
	char raw[TERMSIG_OSC99_MAX];
	int rl = strcmp(e, "1") == 0 ? termsig_base64(payload, pl, raw, sizeof raw) : -1;
	const char *text = rl >= 0 ? raw : payload;
	size_t tl = rl >= 0 ? (size_t)rl : pl;
	if (strcmp(p, "body") == 0)
		termsig_append(k->body, sizeof k->body, text, tl);
	else
		termsig_append(k->title, sizeof k->title, text, tl);
	if (strcmp(done, "0") != 0) {
		termsig_notify(t, TERMSIG_OSC99, k->title, k->body, now);
		k->active = 0;
	}
	return 1;
}

int
termsig_osc(termsig_t *t, const char *cmd, size_t len, int64_t now_ms)
{
	size_t digits = 0;
	while (digits < len && digits < 6 && cmd[digits] >= '0' && cmd[digits] <= '9')
		digits++;
	if (digits == 0 || digits >= len || cmd[digits] != ';')
		return 0;
	char num[8] = { 0 };
	memcpy(num, cmd, digits);
	const char *d = cmd + digits + 1;
	size_t n = len - digits - 1;
	int ours = 0;
	switch (atoi(num)) {
	case 7501:
		termsig_7501(t, d, n, now_ms);
		ours = 1;
		break;
	case 9: ours = termsig_osc9(t, d, n, now_ms); break;
	case 777: ours = termsig_osc777(t, d, n, now_ms); break;
	case 99: ours = termsig_osc99(t, d, n, now_ms); break;
	default: break;
	}
	if (ours)
		t->v.serial++;
	return ours;
}
