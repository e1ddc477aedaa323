/* The report of a distributed run: every rank's rows and failures, Table I
 * from the rows and the slices' counts, each analysis' part() on every
 * slice added up and merged on rank 0, which prints what dedup-analyze
 * prints.  The report is written only after every rank has contributed to
 * it: a rank that dies before leaves the run without a report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fleet.h"

int fl_rows_gather(const struct fl_ctx *c, const struct cli_run *r, struct fl_rows *rows)
{
	memset(rows, 0, sizeof *rows);
	struct fl_buf b = { 0 };
	for (size_t k = 0; k < r->nrows; k++) {
		fl_put_u64(&b, c->mine[r->row_input[k]]);
		fl_put(&b, &r->rows[k].st, sizeof r->rows[k].st);
		fl_put_str(&b, r->rows[k].format);
	}
	size_t *off = NULL;
	int fail = b.oom || fl_allgather(b.b, b.n, &rows->packed, &off);
	free(b.b);
	struct dd_row *by_input = calloc(c->n ? c->n : 1, sizeof *by_input);
	fail = fl_max(fail || !by_input);
	if (!fail) {
		/* by input first (a row's path marks it), then the rows in order */
		struct fl_rd rd = { rows->packed, rows->packed + off[c->size] };
		uint64_t g;
		while (!fail && rd.p < rd.end) {
			struct dd_dump_stats st;
			const char *format;
			if (!fl_get_u64(&rd, &g) || g >= c->n || !fl_get(&rd, &st, sizeof st) ||
			    !(format = fl_get_str(&rd)))
				fail = 1;
			else
				by_input[g] = (struct dd_row){ c->in[g].name, format, st };
		}
		rows->rows = calloc(c->n ? c->n : 1, sizeof *rows->rows);
		rows->names = calloc(c->n ? c->n : 1, sizeof *rows->names);
		rows->gidx = calloc(c->n ? c->n : 1, sizeof *rows->gidx);
		fail |= !rows->rows || !rows->names || !rows->gidx;
		for (size_t i = 0; !fail && i < c->n; i++)
			if (by_input[i].path) {
				rows->gidx[rows->n] = i;
				rows->names[rows->n] = by_input[i].path;
				rows->rows[rows->n++] = by_input[i];
			}
	}
	free(by_input);
	free(off);
	return fl_max(fail) ? -1 : 0;
}

void fl_rows_free(struct fl_rows *rows)
{
	free(rows->rows);
	free(rows->names);
	free(rows->gidx);
	free(rows->packed);
	memset(rows, 0, sizeof *rows);
}

/* ---- failures, in dedup-analyze's order: every input that did not open,
 * then every input that could not be hashed (or its fingerprint written),
 * each in the run's order ---- */

struct failure {
	uint64_t phase, gidx, seq;
	const char *path, *msg;
};

static int by_when(const void *x, const void *y)
{
	const struct failure *a = x, *b = y;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->gidx != b->gidx)
		return a->gidx < b->gidx ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct fails {
	char *packed;
	struct failure *f;
	struct dd_failed *out;
	size_t n;
};

static int fails_gather(const struct fl_ctx *c, const struct cli_run *r, struct fails *fs)
{
	const struct cli_inputs *s = r->s;
	struct fl_buf b = { 0 };
	for (size_t i = 0; i < s->nfailed; i++) {
		fl_put_u64(&b, i < c->nopen_failed ? 0 : 1);
		fl_put_u64(&b, c->mine[s->failed_in[i]]);
		fl_put_u64(&b, i);
		fl_put_str(&b, s->names[i] ? s->names[i] : ""); /* a fingerprint written: its path */
		fl_put_str(&b, s->msgs[i]);
	}
	size_t *off = NULL;
	int fail = b.oom || fl_gather0(b.b, b.n, &fs->packed, &off);
	free(b.b);
	if (fl_max(fail))
		return -1;
	fail = 0;
	if (c->rank == 0) {
		size_t cap = 0;
		struct fl_rd rd = { fs->packed, fs->packed + off[c->size] };
		while (!fail && rd.p < rd.end) {
			struct failure f;
			if (fs->n == cap) {
				cap = cap ? 2 * cap : 16;
				struct failure *nf = realloc(fs->f, cap * sizeof *nf);
				if (!nf) {
					fail = 1;
					break;
				}
				fs->f = nf;
			}
			if (!fl_get_u64(&rd, &f.phase) || !fl_get_u64(&rd, &f.gidx) || f.gidx >= c->n ||
			    !fl_get_u64(&rd, &f.seq) || !(f.path = fl_get_str(&rd)) || !(f.msg = fl_get_str(&rd)))
				fail = 1;
			else {
				if (!*f.path)
					f.path = c->in[f.gidx].name;
				fs->f[fs->n++] = f;
			}
		}
		if (fs->n)
			qsort(fs->f, fs->n, sizeof *fs->f, by_when);
		fs->out = calloc(fs->n ? fs->n : 1, sizeof *fs->out);
		fail |= !fs->out;
		for (size_t i = 0; !fail && i < fs->n; i++)
			fs->out[i] = (struct dd_failed){ fs->f[i].path, fs->f[i].msg };
	}
	free(off);
	return fl_max(fail) ? -1 : 0;
}

static void fails_free(struct fails *fs)
{
	free(fs->packed);
	free(fs->f);
	free(fs->out);
}

/* ---- analyses ---- */

/* part() of analysis a on this rank's slice, added up on rank 0 and merged
 * there.  0, or -1 (said on stderr by the rank that failed). */
static int run_analysis(const struct fl_ctx *c, size_t a, const struct dd_an_input *slice,
			const struct dd_an_input *all)
{
	const struct dd_analysis *an = dd_analyses[a];
	void *st = c->o->an[a];
	size_t ns = an->nsum ? an->nsum(st, all->n) : 0;
	uint64_t *sum = calloc(ns ? ns : 1, sizeof *sum), *total = calloc(ns ? ns : 1, sizeof *total);
	void *rec = NULL;
	size_t nrec = 0;
	char err[1024] = "";
	int fail = !sum || !total || an->part(st, slice, sum, &rec, &nrec, err, sizeof err);
	if (fail)
		fprintf(stderr, PROG ": rank %d: %s\n", c->rank, *err ? err : "out of memory");
	if (fl_max(fail)) {
		free(sum);
		free(total);
		free(rec);
		return -1;
	}
	/* the counters in blocks (MPI counts are int) */
	for (size_t at = 0; at < ns; at += 1u << 24) {
		int n = (int)(ns - at < (1u << 24) ? ns - at : (1u << 24));
		MPI_Reduce(sum + at, total + at, n, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
	}
	char *recs = NULL;
	size_t *off = NULL;
	fail = fl_gather0(rec, nrec * an->rec_size, &recs, &off);
	if (!fail && c->rank == 0) {
		size_t n = an->rec_size ? off[c->size] / an->rec_size : 0;
		*err = 0;
		if (an->merge(st, all, total, recs, n, err, sizeof err)) {
			fprintf(stderr, PROG ": %s\n", *err ? err : "out of memory");
			fail = 1;
		}
	}
	free(sum);
	free(total);
	free(rec);
	free(recs);
	free(off);
	return fl_max(fail) ? -1 : 0;
}

/* The report into a buffer on rank 0 (NULL elsewhere, or when there is
 * none); the run's status. */
/* The analyses without part(), on rank 0 from every dump (fl_whole.c) */
static int run_whole(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows,
		     const size_t *row_of, struct dd_an_input *in, bool *done)
{
	unsigned collect = 0;
	bool any = false;
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (cli_runs(c->o, a) && !dd_analyses[a]->part) {
			collect |= dd_analyses[a]->collect;
			any = true;
		}
	struct dd_engine *whole;
	if (!any)
		return 0;
	if (fl_whole(c, r, rows, row_of, collect, &whole))
		return 1;
	int status = 0;
	in->e = whole;
	for (size_t a = 0; c->rank == 0 && a < dd_nanalyses; a++)
		if (cli_runs(c->o, a) && !dd_analyses[a]->part) {
			char err[1024] = "";
			if (dd_an_compute(dd_analyses[a], c->o->an[a], in, err, sizeof err)) {
				if (*err)
					fprintf(stderr, PROG ": %s\n", err);
				status = 1;
			} else
				done[a] = true;
		}
	in->e = NULL;
	dd_engine_free(whole);
	return status;
}

static int build(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows, const size_t *row_of,
		 const struct fails *fs, const struct dd_engine *slice, char **text, size_t *len, int status)
{
	/* Table I: the rows' sums, the slices' counts */
	uint64_t copies, pairs, distinct = fl_sum_u64(dd_table_size(dd_engine_table(slice)));
	dd_table_counts(dd_engine_table(slice), &copies, &pairs);
	copies = fl_sum_u64(copies);
	pairs = fl_sum_u64(pairs);
	struct dd_totals t;
	memset(&t, 0, sizeof t);
	t.page_size = dd_engine_page_size(slice);
	for (size_t i = 0; i < rows->n; i++)
		dd_totals_add(&t, &rows->rows[i].st);
	char why[256];
	int bad = dd_totals_finish(&t, distinct, copies, pairs, why, sizeof why);
	if (bad || rows->n == 0) {
		if (bad && c->rank == 0)
			fprintf(stderr, PROG ": internal error, results withheld: %s\n", why);
		return 1; /* no rows: each failure was reported */
	}
	bool *done = calloc(dd_nanalyses, sizeof *done);
	if (fl_max(!done)) {
		free(done);
		return 1;
	}
	struct dd_totals st;
	dd_engine_totals(slice, &st, why, sizeof why);
	struct dd_an_input in_slice = { slice, rows->names, rows->n, t.page_size, &st, NULL };
	struct dd_an_input in_all = { NULL, rows->names, rows->n, t.page_size, &t, rows->rows };
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (cli_runs(c->o, a) && dd_analyses[a]->part) {
			done[a] = run_analysis(c, a, &in_slice, &in_all) == 0;
			if (!done[a])
				status = 1;
		}
	if (run_whole(c, r, rows, row_of, &in_all, done))
		status = 1;
	if (c->rank == 0) {
		FILE *f = open_memstream(text, len);
		if (f) {
			struct dd_report rep = { dd_hash_name(c->o->hash), &t, rows->rows, rows->n, fs->out, fs->n,
						 c->o->ram_only };
			cli_report_print(f, c->o, &rep, &in_all, done);
			if (fclose(f) != 0) {
				free(*text);
				*text = NULL;
			}
		}
		if (!*text) {
			fprintf(stderr, PROG ": out of memory for the report\n");
			status = 1;
		}
	}
	free(done);
	return status;
}

int fl_report(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows, const size_t *row_of,
	      const struct dd_engine *slice, int status)
{
	struct fails fs = { 0 };
	char *text = NULL;
	size_t len = 0;
	if (fails_gather(c, r, &fs)) {
		if (c->rank == 0)
			fprintf(stderr, PROG ": out of memory gathering the failures\n");
		status = 1;
	} else
		status = build(c, r, rows, row_of, &fs, slice, &text, &len, status);
	/* every rank is still here: the report is complete */
	status = fl_max(status);
	if (text) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, PROG ": writing the report: %s\n", strerror(errno));
			status = 1;
		}
	}
	free(text);
	fails_free(&fs);
	return status;
}
