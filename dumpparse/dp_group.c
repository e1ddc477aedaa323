/*
 * Grouping: the files a caller opens together (a command line) become
 * dumps.  Most files are a dump each; the files of one split kdump dump
 * (makedumpfile --split) are one dump, opened through the given file with
 * the lowest frames, so that `dedup-analyze dumps/...` counts it once.  The
 * grouping only reads headers; it never fails on a file it cannot read
 * (dp_group_open reports that file's error).
 */
#include "kdump_int.h"

#include <stdio.h>
#include <stdlib.h>

struct member {
	const char *path;          /* borrowed from the caller */
	bool split;                /* a file of a split dump */
	struct kdump_split_id id;
	size_t reader;             /* the member that opens this one's dump (itself for DUMP) */
	char note[600];
};

struct dp_group {
	size_t n;
	struct member *m;
};

void dp_group_free(struct dp_group *g)
{
	if (!g)
		return;
	free(g->m);
	free(g);
}

int dp_group_new(const char *const *paths, size_t n, struct dp_group **out, struct dp_error *err)
{
	struct dp_group *g = calloc(1, sizeof *g);
	*out = NULL;
	if (!g || !(g->m = calloc(n ? n : 1, sizeof *g->m))) {
		dp_group_free(g);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	g->n = n;
	for (size_t i = 0; i < n; i++) {
		struct member *m = &g->m[i];
		m->path = paths[i];
		m->reader = i;
		m->split = paths[i] && strcmp(paths[i], "-") != 0 && kdump_split_identify(paths[i], &m->id);
	}
	/* every file of a split dump is read by the given file of that dump
	 * with the lowest frames (the first given of equals) */
	for (size_t i = 0; i < n; i++) {
		struct member *m = &g->m[i];
		if (!m->split)
			continue;
		for (size_t j = 0; j < n; j++) {
			const struct member *o = &g->m[j];
			char why[300];
			if (o->split && !kdump_split_differs(&m->id, &o->id, why, sizeof why) &&
			    (o->id.start_pfn < g->m[m->reader].id.start_pfn ||
			     (o->id.start_pfn == g->m[m->reader].id.start_pfn && j < m->reader)))
				m->reader = j;
		}
		if (m->reader != i)
			snprintf(m->note, sizeof m->note, "part %llu..%llu of a split dump, read with %s",
				 (unsigned long long)m->id.start_pfn, (unsigned long long)m->id.end_pfn,
				 g->m[m->reader].path);
	}
	*out = g;
	return DP_OK;
}

size_t dp_group_count(const struct dp_group *g) { return g->n; }

enum dp_role dp_group_role(const struct dp_group *g, size_t i)
{
	return i < g->n && g->m[i].reader != i ? DP_ROLE_PART : DP_ROLE_DUMP;
}

size_t dp_group_reader(const struct dp_group *g, size_t i) { return i < g->n ? g->m[i].reader : i; }

const char *dp_group_note(const struct dp_group *g, size_t i)
{
	return i < g->n && g->m[i].reader != i ? g->m[i].note : NULL;
}

int dp_group_open(const struct dp_group *g, size_t i, const struct dp_options *opt, struct dp_dump **out,
		  struct dp_error *err)
{
	*out = NULL;
	if (i >= g->n || g->m[i].reader != i)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "%s is read with %s, not opened on its own",
			       i < g->n ? g->m[i].path : "?", i < g->n ? g->m[g->m[i].reader].path : "?");
	/* the other files, in a list of this call's own: several threads may
	 * open the group's dumps at once */
	size_t np = 0;
	for (size_t j = 0; j < g->n; j++)
		np += j != i && g->m[j].reader == i;
	const char **parts = malloc((np ? np : 1) * sizeof *parts); /* non-NULL: opened as a group member */
	if (!parts)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	np = 0;
	for (size_t j = 0; j < g->n; j++)
		if (j != i && g->m[j].reader == i)
			parts[np++] = g->m[j].path;
	int rc = dp_open_parts(g->m[i].path, opt, parts, np, out, err);
	free(parts);
	return rc;
}
