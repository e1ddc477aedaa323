/* TPS salting what-if: non-zero pages saved with full inter-VM sharing,
 * inside salt groups, and inside each VM only (docs/analyses.md). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#include "salt.h"

struct tps {
	/* settings */
	const char *salt_file; /* NULL: every dump its own group */
	struct dd_salt salt;   /* read when the option is given */
	char msg[600];         /* a usage message about the file */
	/* the group (index into salt.groups) of every input, from prepare */
	const char **src_path;
	size_t *src_group, nsrc;
	/* results */
	uint64_t nonzero, zero;
	uint64_t full_saved, salted_saved, intra_saved;
	uint64_t full_distinct, salted_distinct, intra_distinct;
	size_t ngroups; /* groups holding at least one analysed dump */
};

/* msg as a usage message whose %s is the file: every other '%' doubled */
static const char *tps_usage(struct tps *t, const char *msg)
{
	size_t w = 0;
	w += (size_t)snprintf(t->msg, sizeof t->msg, "%%s: ");
	for (const char *p = msg; *p && w + 3 < sizeof t->msg; p++) {
		if (*p == '%')
			t->msg[w++] = '%';
		t->msg[w++] = *p;
	}
	t->msg[w] = 0;
	return t->msg;
}

static const char *tps_option(void *st, size_t i, const char *arg)
{
	struct tps *t = st;
	if (i != 1) /* --salt-groups=FILE: read and checked now, before any dump is read */
		return NULL;
	char err[sizeof t->msg - 8];
	dd_salt_free(&t->salt);
	t->salt_file = arg;
	return dd_salt_read(arg, &t->salt, err, sizeof err) ? tps_usage(t, err) : NULL;
}

/* One input that no line or two lines name: the message in err. */
static void unmatched(const struct tps *t, const struct dd_an_source *s, int found, size_t a, size_t b, char *err,
		      size_t errlen)
{
	char what[300];
	if (s->origin)
		snprintf(what, sizeof what, "%.100s (a fingerprint of %.150s)", s->path, s->origin);
	else
		snprintf(what, sizeof what, "%.250s", s->path);
	if (found == 0)
		snprintf(err, errlen, "%.300s: no line names %s (every dump needs a salt group)", t->salt_file, what);
	else
		snprintf(err, errlen, "%.300s: lines %zu and %zu both name %s", t->salt_file, t->salt.lines[a].lineno,
			 t->salt.lines[b].lineno, what);
}

/* Every input's group, before any page is hashed: each needs exactly one
 * line of the salt file. */
static int tps_prepare(void *st, const struct dd_an_source *src, size_t n, char *err, size_t errlen)
{
	struct tps *t = st;
	if (!t->salt_file)
		return 0;
	free(t->src_path);
	free(t->src_group);
	t->src_path = calloc(n ? n : 1, sizeof *t->src_path);
	t->src_group = calloc(n ? n : 1, sizeof *t->src_group);
	t->nsrc = 0;
	if (!t->src_path || !t->src_group)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t a = 0, b = 0;
		int found = dd_salt_match(&t->salt, src[i].path, src[i].origin, &a, &b);
		if (found != 1) {
			unmatched(t, &src[i], found, a, b, err, errlen);
			return -1;
		}
		t->src_path[i] = src[i].path;
		t->src_group[i] = t->salt.lines[a].group;
	}
	t->nsrc = n;
	return 0;
}

/* The group of every analysed dump, numbered 0.. in order of appearance
 * among the dumps (groups of the file that hold none are left out). */
static int assign_groups(struct tps *t, const struct dd_an_input *in, size_t *group, char *err, size_t errlen)
{
	size_t *dense = malloc((t->salt.ngroups ? t->salt.ngroups : 1) * sizeof *dense);
	if (!dense)
		return -1;
	for (size_t g = 0; g < t->salt.ngroups; g++)
		dense[g] = SIZE_MAX;
	t->ngroups = 0;
	int rc = 0;
	for (size_t i = 0; i < in->n && !rc; i++) {
		size_t k = 0;
		while (k < t->nsrc && strcmp(t->src_path[k], in->names[i]) != 0)
			k++;
		if (k == t->nsrc) {
			snprintf(err, errlen, "%.300s: no salt group for %.300s", t->salt_file, in->names[i]);
			rc = -1;
			break;
		}
		size_t g = t->src_group[k];
		if (dense[g] == SIZE_MAX)
			dense[g] = t->ngroups++;
		group[i] = dense[g];
	}
	free(dense);
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

/* every dump's group (t->ngroups set): malloc'ed, NULL on failure */
static size_t *tps_groups(struct tps *t, const struct dd_an_input *in, char *err, size_t errlen)
{
	size_t *group = calloc(in->n ? in->n : 1, sizeof *group);
	if (!group)
		return NULL;
	if (!t->salt_file) {
		for (size_t i = 0; i < in->n; i++)
			group[i] = i;
		t->ngroups = in->n;
	} else if (assign_groups(t, in, group, err, errlen)) {
		free(group);
		return NULL;
	}
	return group;
}

static size_t tps_nsum(const void *st, size_t n)
{
	(void)st;
	(void)n;
	return 1;
}

/* the distinct contents of the table (a slice) inside each group */
static int tps_part(void *st, const struct dd_an_input *in, uint64_t *sum, void **rec, size_t *nrec, char *err,
		    size_t errlen)
{
	(void)rec;
	(void)nrec;
	size_t *group = tps_groups(st, in, err, errlen);
	if (!group)
		return -1;
	uint64_t v;
	int rc = salted_distinct(in->e, group, ((struct tps *)st)->ngroups, &v);
	sum[0] += v;
	free(group);
	return rc;
}

static int tps_merge(void *st, const struct dd_an_input *in, const uint64_t *sum, const void *rec, size_t nrec,
		     char *err, size_t errlen)
{
	(void)rec;
	(void)nrec;
	struct tps *t = st;
	size_t *group = tps_groups(t, in, err, errlen);
	if (!group)
		return -1;
	free(group);
	const struct dd_totals *tot = in->totals;
	t->nonzero = tot->nonzero_pages;
	t->zero = tot->zero_pages;
	t->full_distinct = tot->distinct_pages;
	t->intra_distinct = tot->sum_distinct;
	t->salted_distinct = sum[0];
	t->full_saved = t->nonzero - t->full_distinct;
	t->salted_saved = t->nonzero - t->salted_distinct;
	t->intra_saved = t->nonzero - t->intra_distinct;
	return 0;
}

static void tps_free(void *st)
{
	struct tps *t = st;
	dd_salt_free(&t->salt);
	free(t->src_path);
	free(t->src_group);
	t->src_path = NULL;
	t->src_group = NULL;
	t->nsrc = 0;
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

static void tps_csv_row(FILE *f, const char *mode, uint64_t saved, uint64_t distinct, uint64_t ps, size_t groups)
{
	fprintf(f, "tps,%s,%llu,%llu,%llu,%llu,%zu\n", mode, (unsigned long long)saved,
		(unsigned long long)(saved * ps), (unsigned long long)distinct, (unsigned long long)(distinct * ps),
		groups);
}

static void tps_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct tps *t = st;
	fprintf(f, "\nanalysis,mode,saved_pages,saved_bytes,distinct_pages,memory_bytes,groups\n");
	tps_csv_row(f, "full", t->full_saved, t->full_distinct, in->page_size, 1);
	tps_csv_row(f, "salted", t->salted_saved, t->salted_distinct, in->page_size, t->ngroups);
	tps_csv_row(f, "intra", t->intra_saved, t->intra_distinct, in->page_size, in->n);
}

static const struct dd_an_option tps_opts[] = {
	{ "tps", DD_AN_NO_ARG }, { "salt-groups", DD_AN_ARG }, { NULL, 0 },
};

const struct dd_analysis dd_an_tps = {
	.name = "tps", .opts = tps_opts, .size = sizeof(struct tps),
	.flags = DD_AN_IN_ALL, .collect = DD_COLLECT_IDS,
	.option = tps_option, .prepare = tps_prepare, .nsum = tps_nsum, .part = tps_part, .merge = tps_merge,
	.text = tps_text, .json = tps_json,
	.csv = tps_csv, .free = tps_free,
	.help = "      --tps             TPS what-if: full inter-VM, salt groups, intra-VM only\n"
		"      --salt-groups=FILE  lines 'DUMP GROUP' (path or file name; \"quoted\" when it\n"
		"                        holds blanks), one per dump; implies --tps\n",
};
