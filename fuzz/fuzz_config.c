/*
 * fuzz_config: configuration files through config_load (jsoncheck, the
 * pane, upstream, notify, worktree and team keys) and, when the file has
 * "prices", pricing_load, as tokmux starts. Checks: a load either succeeds
 * with every figure in its documented range or fails with one line naming
 * the file; config_free leaves nothing behind (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzzfile.h"
#include "pricing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_config_check(const struct config *c)
{
	if (c->npanes < 0 || c->npanes > CONFIG_MAX_PANES || c->port < 0 || c->port > 65535 ||
	    c->prefix_key < 1 || c->prefix_key > 31 || c->scrollback_lines < 0 ||
	    !(c->warn_at >= 0 && c->warn_at <= 1) ||
	    c->nworktree_setup < 0 || c->nworktree_setup > CONFIG_MAX_SETUP)
		abort();
	for (int i = 0; i < c->npanes; i++) {
		const struct config_pane *p = &c->panes[i];

		if (p->nfallback < 0 || p->nfallback > CONFIG_MAX_FALLBACK ||
		    p->ceiling_micros < -1 || p->ceiling_tokens < -1 ||
		    !(p->downgrade_at >= 0 && p->downgrade_at <= 1))
			abort();
		for (int k = 0; k < p->nfallback; k++)
			if (p->fallback[k] == NULL)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char *err = NULL;
	const char *path = fuzzfile_write("config.json", data, size);

	if (path == NULL)
		return 0;
	config_init(&c);
	if (config_load(&c, path, &err) == 0) {
		if (err != NULL)
			abort();
		fz_config_check(&c);
		if (c.prices != NULL) {
			pricing_t *p = pricing_new();
			char *perr = NULL;

			(void)pricing_load(p, c.prices, &perr);
			free(perr);
			pricing_free(p);
		}
	} else if (err == NULL || strncmp(err, path, strlen(path)) != 0 ||
	    strchr(err, '\n') != NULL) {
		abort();
	}
	free(err);
	config_free(&c);
	fuzzfile_remove();
	return 0;
}
