/*
 * reqbody: owns reading request bodies (model, output limit, images) and
 * the worst-case estimate built on them, rewriting a request's model, and
 * the two verdicts on reply bodies the policy needs before the agent sees
 * a byte. Nothing here keeps state.
 */
#include "reqbody.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sse.h"
#include "util.h"

/* Size of base64 image payloads in item (left out of the text estimate)
 * and how many images they are. */
static void
reqbody_images(const cJSON *item, int64_t *bytes, int64_t *n)
{
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		if (strncmp(item->valuestring, "data:image/", 11) == 0) {
			*bytes += (int64_t)strlen(item->valuestring);
			(*n)++;
		}
		return;
	}
	if (cJSON_IsObject(item)) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
		const cJSON *media = cJSON_GetObjectItemCaseSensitive(item, "media_type");
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(item, "data");
		if (cJSON_IsString(type) && strcmp(type->valuestring, "base64") == 0 &&
		    cJSON_IsString(media) && strncmp(media->valuestring, "image/", 6) == 0 &&
		    cJSON_IsString(data)) {
			*bytes += (int64_t)strlen(data->valuestring);
			(*n)++;
			return;
		}
	}
	for (const cJSON *c = item->child; c != NULL; c = c->next)
		reqbody_images(c, bytes, n);
}

static int64_t
reqbody_max_tokens(const cJSON *root)
{
	static const char *const keys[] = { "max_tokens", "max_completion_tokens",
		"max_output_tokens" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
		if (cJSON_IsNumber(m) && m->valuedouble >= 0 && m->valuedouble < 1e9)
			return (int64_t)ceil(m->valuedouble);
	}
	return -1;
}

int
reqbody_read(const char *body, size_t len, struct reqbody *out)
{
	memset(out, 0, sizeof *out);
	out->len = body != NULL ? len : 0;
	out->max_tokens = -1;
	cJSON *root = out->len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -1;
	}
	out->object = 1;
	reqbody_images(root, &out->image_bytes, &out->images);
	out->max_tokens = reqbody_max_tokens(root);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsString(m) && m->valuestring != NULL)
		snprintf(out->model, sizeof out->model, "%s", m->valuestring);
	cJSON_Delete(root);
	return 0;
}

void
reqbody_worst_case(const pricing_t *pr, const char *model, const struct reqbody *rb,
    int64_t *micros, int64_t *tokens)
{
	int64_t out = rb->max_tokens >= 0 ? rb->max_tokens : REQBODY_DEFAULT_MAX_TOKENS;
	/* ~4 bytes a token in practice; 3 stays on the safe side for code and JSON */
	int64_t in = ((int64_t)rb->len - rb->image_bytes + 2) / 3 + rb->images * REQBODY_IMAGE_TOKENS;
	if (model == NULL)
		model = rb->model;
	*tokens = in + out;
	*micros = pr != NULL ? pricing_worst_case(pr, model, in, out) : 0;
}

char *
reqbody_rewrite_model(const char *body, size_t len, const char *model, size_t *out_len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON *m = cJSON_CreateString(model);
	if (cJSON_GetObjectItemCaseSensitive(root, "model") != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(root, "model", m);
	else
		cJSON_AddItemToObject(root, "model", m);
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (s == NULL)
		fatal("out of memory (cJSON)");
	char *res = xstrdup(s);
	cJSON_free(s);
	*out_len = strlen(res);
	return res;
}

static int
reqbody_contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return 1;
	return 0;
}

int
reqbody_is_spend_limit(const char *body, size_t len)
{
	static const char *const words[] = { "usage limit", "spend limit", "spending limit",
		"insufficient_quota", "exceeded your current quota", "billing", "credit balance",
		"spend_limit", "org_spend_cap" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(words); i++)
		if (reqbody_contains_ci(body, len, words[i]))
			return 1;
	return 0;
}

static void
reqbody_overloaded_event(void *user, const struct sse_event *ev)
{
	int *res = user;
	*res = reqbody_contains_ci(ev->name, strlen(ev->name), "overloaded_error") ||
	    reqbody_contains_ci(ev->data, ev->len, "overloaded_error");
}

int
reqbody_first_event_overloaded(const char *buf, size_t len)
{
	int res = 0;
	return sse_first(buf, len, reqbody_overloaded_event, &res) ? res : -1;
}
