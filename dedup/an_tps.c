/* TPS salting what-if: non-zero pages saved with full inter-VM sharing,
 * inside salt groups, and inside each VM only (docs/analyses.md). */
#include "analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_GROUPS 1024

struct tps {
	/* settings */
	const char *salt_file; /* NULL: every dump its own group */
	/* results */
	uint64_t nonzero, zero;
	uint64_t full_saved, salted_saved, intra_saved;
	uint64_t full_distinct, salted_distinct, intra_distinct;
	size_t ngroups;
};

static const char *tps_option(void *st, size_t i, const char *arg)
{
	struct tps *t = st;
	if (i == 1) /* --salt-groups=FILE */
		t->salt_file = arg;
	return NULL;
}

/* Number of the group called g in names[0..*n), added when new; -1 when
 * there are MAX_GROUPS already. */
static long group_index(char (*names)[64], size_t *n, const char *g)
{
	size_t i = 0;
	while (i < *n && strcmp(names[i], g) != 0)
		i++;
	if (i == *n) {
		if (*n == MAX_GROUPS)
			return -1;
		snprintf(names[(*n)++], sizeof names[0], "%s", g);
	}
	return (long)i;
}

/* Every input that line's DUMP names (the path as given, its file name, or
 * another path to the same file) goes to group gi. */
static void assign_group(const char *d, size_t gi, const char *const *names, size_t n, size_t *group)
{
	char *rd = realpath(d, NULL);
	for (size_t i = 0; i < n; i++) {
		char *rn = rd ? realpath(names[i], NULL) : NULL;
		if (strcmp(names[i], d) == 0 || strcmp(cm_base_name(names[i]), d) == 0 || (rn && strcmp(rn, rd) == 0))
			group[i] = gi;
		free(rn);
	}
	free(rd);
}

/* The salt groups file: lines "DUMP GROUP", '#' comments.  Without a file
 * every dump is its own group.  0, or -1 with a message in err. */
static int read_salt_groups(const char *file, const char *const *names, size_t n, size_t *group,
			    size_t *ngroups, char *err, size_t errlen)
{
	if (!file) {
		for (size_t i = 0; i < n; i++)
			group[i] = i;
		*ngroups = n;
		return 0;
	}
	FILE *f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	char gname[MAX_GROUPS][64];
	char line[4096];
	size_t ng = 0, lineno = 0;
	for (size_t i = 0; i < n; i++)
		group[i] = SIZE_MAX;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char d[2048], g[64];
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == 0)
			continue;
		if (sscanf(p, "%2047s %63s", d, g) != 2) {
			snprintf(err, errlen, "%s: line %zu: expected 'DUMP GROUP'", file, lineno);
			rc = -1;
			break;
		}
		long gi = group_index(gname, &ng, g);
		if (gi < 0) {
			snprintf(err, errlen, "%s: more than %d groups", file, MAX_GROUPS);
			rc = -1;
			break;
		}
		assign_group(d, (size_t)gi, names, n, group);
	}
	fclose(f);
	for (size_t i = 0; i < n && !rc; i++)
		if (group[i] == SIZE_MAX) {
			snprintf(err, errlen, "%s: no salt group for %s", file, names[i]);
			rc = -1;
		}
	*ngroups = ng;
	return rc;
}

/* distinct contents inside each group, summed */
static int salted_distinct(const struct dd_engine *e, const size_t *group, size_t ngroups, uint64_t *out)
{
	size_t nd = dd_engine_ndumps(e);
	*out = 0;
	for (size_t g = 0; g < ngroups; g++) {
		uint32_t *u = NULL;
		uint64_t nu = 0;
		for (size_t i = 0; i < nd; i++) {
			if (group[i] != g)
				continue;
			const struct dd_dump_data *dd = dd_engine_dump(e, i);
			uint64_t n2;
			uint32_t *m = dd_ids_union(u, nu, dd->ids, dd->nids, &n2);
			free(u);
			if (!m)
				return -1;
			u = m;
			nu = n2;
		}
		*out += nu;
		free(u);
	}
	return 0;
}

static int tps_compute(void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	struct tps *t = st;
	size_t *group = calloc(in->n ? in->n : 1, sizeof *group), ngroups = 0;
	if (!group || read_salt_groups(t->salt_file, in->names, in->n, group, &ngroups, err, errlen)) {
		free(group);
		return -1;
	}
	struct dd_totals tot;
	char why[8];
	dd_engine_totals(in->e, &tot, why, sizeof why);
	t->nonzero = tot.nonzero_pages;
	t->zero = tot.zero_pages;
	t->full_distinct = tot.distinct_pages;
	t->intra_distinct = tot.sum_distinct;
	t->ngroups = ngroups;
	int rc = salted_distinct(in->e, group, ngroups, &t->salted_distinct);
	free(group);
	t->full_saved = t->nonzero - t->full_distinct;
	t->salted_saved = t->nonzero - t->salted_distinct;
	t->intra_saved = t->nonzero - t->intra_distinct;
	return rc;
}

static void tps_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct tps *t = st;
	const uint32_t ps = in->page_size;
	fprintf(f, "\nTPS what-if (non-zero pages; zero pages, %.1f MiB, are shared in every mode):\n",
		cm_mib(t->zero * ps));
	fprintf(f, "  %-34s %10s %12s %12s\n", "mode", "saved MiB", "saved pages", "memory MiB");
	fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", "full inter-VM sharing", cm_mib(t->full_saved * ps),
		(unsigned long long)t->full_saved, cm_mib(t->full_distinct * ps));
	char label[64];
	snprintf(label, sizeof label, "inside %zu salt group%s", t->ngroups, t->ngroups == 1 ? "" : "s");
	fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", label, cm_mib(t->salted_saved * ps),
		(unsigned long long)t->salted_saved, cm_mib(t->salted_distinct * ps));
	fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", "intra-VM only (salting default)",
		cm_mib(t->intra_saved * ps), (unsigned long long)t->intra_saved, cm_mib(t->intra_distinct * ps));
}

static void tps_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	(void)in;
	const struct tps *t = st;
	fprintf(f,
		",\n  \"tps\": {\"nonzero_pages\": %llu, \"zero_pages\": %llu, \"salt_groups\": %zu, "
		"\"full_saved_pages\": %llu, \"salted_saved_pages\": %llu, \"intra_saved_pages\": %llu, "
		"\"full_distinct_pages\": %llu, \"salted_distinct_pages\": %llu, \"intra_distinct_pages\": %llu}",
		(unsigned long long)t->nonzero, (unsigned long long)t->zero, t->ngroups,
		(unsigned long long)t->full_saved, (unsigned long long)t->salted_saved,
		(unsigned long long)t->intra_saved, (unsigned long long)t->full_distinct,
		(unsigned long long)t->salted_distinct, (unsigned long long)t->intra_distinct);
}

static void tps_csv_row(FILE *f, const char *mode, uint64_t saved, uint64_t distinct, uint64_t ps)
{
	fprintf(f, "tps,%s,%llu,%llu,%llu,%llu\n", mode, (unsigned long long)saved,
		(unsigned long long)(saved * ps), (unsigned long long)distinct, (unsigned long long)(distinct * ps));
}

static void tps_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct tps *t = st;
	fprintf(f, "\nanalysis,mode,saved_pages,saved_bytes,distinct_pages,memory_bytes\n");
	tps_csv_row(f, "full", t->full_saved, t->full_distinct, in->page_size);
	tps_csv_row(f, "salted", t->salted_saved, t->salted_distinct, in->page_size);
	tps_csv_row(f, "intra", t->intra_saved, t->intra_distinct, in->page_size);
}

static const struct dd_an_option tps_opts[] = {
	{ "tps", DD_AN_NO_ARG }, { "salt-groups", DD_AN_ARG }, { NULL, 0 },
};

const struct dd_analysis dd_an_tps = {
	.name = "tps", .opts = tps_opts, .size = sizeof(struct tps),
	.flags = DD_AN_IN_ALL, .collect = DD_COLLECT_IDS,
	.option = tps_option, .compute = tps_compute, .text = tps_text, .json = tps_json, .csv = tps_csv,
	.help = "      --tps             TPS what-if: full inter-VM, salt groups, intra-VM only\n"
		"      --salt-groups=FILE  lines 'DUMP GROUP' (path or file name); implies --tps\n",
};
