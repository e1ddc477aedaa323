/* The analysis run of dedup-analyze: hash every input into one engine,
 * write fingerprints, compute the analyses asked for and print the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "common.h"

struct run {
	const struct cli_opts *o;
	struct cli_inputs *s;
	struct dd_engine *e;
	struct dd_row *rows;
	const char **names; /* rows[i].path */
	size_t nrows;
	int status;
};

static void progress(const struct dd_progress *p, void *arg)
{
	(void)arg;
	double rate = p->elapsed > 0 ? (double)p->done_bytes / p->elapsed : 0;
	double eta = rate > 0 && p->total_bytes > p->done_bytes ? (double)(p->total_bytes - p->done_bytes) / rate : 0;
	fprintf(stderr, "\r\033[K[%zu/%zu] %.30s: %.0f/%.0f MiB  %.0f MiB/s  %.0f pages/s  ETA %.0f s",
		p->dump_index + 1, p->ndumps, cm_base_name(p->path), p->done_bytes / 1048576.0,
		p->total_bytes / 1048576.0, rate / 1048576.0, rate / 4096.0, eta);
	fflush(stderr);
}

/* --save-fp: DIR/NAME.fp of row k; a name given twice is numbered */
static void save_fp(struct run *r, size_t k)
{
	char out[4096];
	const char *bn = cm_base_name(r->rows[k].path);
	if (strcmp(bn, "-") == 0)
		bn = "stdin";
	snprintf(out, sizeof out, "%s/%s.fp", r->o->save_fp, bn);
	for (size_t j = 0; j < k; j++)
		if (strcmp(cm_base_name(r->rows[j].path), bn) == 0) {
			snprintf(out, sizeof out, "%s/%s.%zu.fp", r->o->save_fp, bn, k);
			break;
		}
	struct dp_error err;
	if (dd_fp_write(r->e, k, out, &err)) {
		cli_output_fail(r->s, out, &err); /* printed, and listed in the report */
		r->status = 1;
	}
}

/* Hash every input that opened; each becomes a row. */
static void add_inputs(struct run *r)
{
	for (size_t i = 0; i < r->s->n; i++) {
		struct cli_input *in = &r->s->in[i];
		if (in->kind != CLI_IN_DUMP && in->kind != CLI_IN_FP)
			continue;
		struct dd_row *row = &r->rows[r->nrows];
		struct dp_error err;
		int rc;
		row->path = in->path;
		if (in->kind == CLI_IN_FP) {
			row->format = "fingerprint";
			if (r->o->ram_only && !r->o->quiet)
				fprintf(stderr, PROG ": %s: a fingerprint does not record device memory: its numbers "
						"are those of the run that wrote it\n", in->path);
			rc = dd_engine_add_fp(r->e, &in->fp, &row->st, &err);
		} else {
			row->format = dp_get_info(in->dump)->format;
			rc = dd_engine_add_dump(r->e, in->dump, &row->st, &err);
		}
		if (r->o->progress)
			fprintf(stderr, "\r\033[K");
		if (rc) {
			cli_input_fail(r->s, in->path, &err);
			continue;
		}
		r->names[r->nrows] = row->path;
		if (r->o->save_fp)
			save_fp(r, r->nrows);
		r->nrows++;
	}
}

/* The analysis whose output is the whole report (DD_AN_ALONE), when asked
 * for: the only one computed.  Its row, else dd_nanalyses. */
static size_t alone_row(const struct cli_opts *o)
{
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && (dd_analyses[a]->flags & DD_AN_ALONE))
			return a;
	return dd_nanalyses;
}

/* Is analysis a computed in this run? */
static bool runs(const struct cli_opts *o, size_t a)
{
	size_t alone = alone_row(o);
	return o->an[a] && (alone == dd_nanalyses || a == alone);
}

/* Every input that opened, shown to the analyses before any page is hashed.
 * -1 go on, else the exit status. */
static int prepare(const struct cli_inputs *s, const struct cli_opts *o)
{
	struct dd_an_source *src = calloc(s->n ? s->n : 1, sizeof *src);
	if (!src) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->in[i].kind == CLI_IN_DUMP || s->in[i].kind == CLI_IN_FP)
			src[n++] = (struct dd_an_source){ s->in[i].path,
							  s->in[i].kind == CLI_IN_FP ? s->in[i].fp.path : NULL };
	int rc = -1;
	for (size_t a = 0; a < dd_nanalyses && rc < 0; a++) {
		char err[1024] = "";
		if (runs(o, a) && dd_analyses[a]->prepare && dd_analyses[a]->prepare(o->an[a], src, n, err, sizeof err)) {
			if (*err)
				rc = cm_usage_error(PROG, "%s", err);
			else {
				fprintf(stderr, PROG ": out of memory\n");
				rc = 1;
			}
		}
	}
	free(src);
	return rc;
}

/* Compute every analysis asked for; done[a] says which succeeded.  The one
 * whose output is the whole report (DD_AN_ALONE), when asked for, is the
 * only one computed; its row is returned, else dd_nanalyses. */
static size_t compute(struct run *r, const struct dd_an_input *in, bool *done)
{
	size_t alone = alone_row(r->o);
	for (size_t a = 0; a < dd_nanalyses; a++) {
		if (!runs(r->o, a))
			continue;
		char err[1024] = "";
		if (dd_an_compute(dd_analyses[a], r->o->an[a], in, err, sizeof err)) {
			if (*err)
				fprintf(stderr, PROG ": %s\n", err);
			r->status = 1;
		} else
			done[a] = true;
	}
	return alone;
}

/* one analysis' output in the format asked for */
static void print_analysis(const struct run *r, size_t a, const struct dd_an_input *in)
{
	const struct dd_analysis *an = dd_analyses[a];
	if (r->o->out == CLI_JSON)
		an->json(stdout, r->o->an[a], in);
	else if (r->o->out == CLI_CSV)
		an->csv(stdout, r->o->an[a], in);
	else
		an->text(stdout, r->o->an[a], in);
}

/* Table I and the analyses; or the one analysis that is the whole report */
static void report(struct run *r, const struct dd_totals *t)
{
	struct dd_an_input in = { r->e, r->names, r->nrows, t->page_size, t, r->rows };
	bool *done = calloc(dd_nanalyses, sizeof *done);
	if (!done) {
		fprintf(stderr, PROG ": out of memory\n");
		r->status = 1;
		return;
	}
	size_t alone = compute(r, &in, done);
	if (alone < dd_nanalyses) {
		if (done[alone])
			print_analysis(r, alone, &in);
	} else {
		struct dd_report rep = { dd_hash_name(r->o->hash), t, r->rows, r->nrows, r->s->failed, r->s->nfailed,
					 r->o->ram_only };
		if (r->o->out == CLI_JSON)
			dd_report_json_open(stdout, &rep);
		else if (r->o->out == CLI_CSV)
			dd_report_csv(stdout, &rep);
		else
			dd_report_text(stdout, &rep);
		for (size_t a = 0; a < dd_nanalyses; a++)
			if (done[a])
				print_analysis(r, a, &in);
		if (r->o->out == CLI_JSON)
			dd_report_json_close(stdout);
	}
	free(done);
}

static void print_stats(const struct run *r, double t0)
{
	double secs = cm_now() - t0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->nrows; i++)
		bytes += r->rows[i].st.bytes_read;
	const struct dd_table *t = dd_engine_table(r->e);
	uint64_t d = dd_table_size(t), tb = dd_table_bytes(t);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char hb[80];
	fprintf(stderr,
		PROG ": stats: %zu dump%s, %.1f MiB read in %.3f s (%.0f MiB/s); content table %llu bytes for "
		"%llu contents (%.1f bytes each); peak RSS %ld KiB; %s\n",
		r->nrows, r->nrows == 1 ? "" : "s", bytes / 1048576.0, secs, secs > 0 ? bytes / 1048576.0 / secs : 0, (unsigned long long)tb,
		(unsigned long long)d, d ? (double)tb / (double)d : 0.0, ru.ru_maxrss,
		dd_hash_describe(dd_engine_hash(r->e), dd_engine_sha1(r->e), hb, sizeof hb));
}

/* what the engine must keep for the analyses and fingerprints asked for */
static unsigned collect_flags(const struct cli_opts *o)
{
	unsigned c = o->save_fp ? DD_COLLECT_IDS | DD_COLLECT_PAGES | DD_COLLECT_CLASS : 0;
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a])
			c |= dd_analyses[a]->collect;
	return c;
}

int cli_analyze(struct cli_inputs *s, const struct cli_opts *o)
{
	struct run r = { .o = o, .s = s };
	for (size_t i = 0; i < s->n; i++)
		cli_input_open(s, i, o);
	int rc = cli_check_page_size(o, s->page_size ? s->page_size : 4096);
	if (rc < 0)
		rc = prepare(s, o);
	if (rc >= 0)
		return rc;
	double t0 = cm_now();
	r.e = dd_engine_new(o->jobs, o->hash, s->page_size ? s->page_size : 4096);
	r.rows = calloc(s->n, sizeof *r.rows);
	r.names = calloc(s->n, sizeof *r.names);
	if (!r.e || !r.rows || !r.names) {
		fprintf(stderr, PROG ": out of memory\n");
		dd_engine_free(r.e);
		free(r.rows);
		free(r.names);
		return 1;
	}
	dd_engine_set_sha1(r.e, o->sha1);
	dd_engine_collect(r.e, collect_flags(o));
	dd_engine_set_ram_only(r.e, o->ram_only);
	if (o->progress)
		dd_engine_set_progress(r.e, progress, NULL, s->n);
	add_inputs(&r);
	if (s->nfailed)
		r.status = 1; /* each failure was reported */
	struct dd_totals t;
	char why[256];
	if (dd_engine_totals(r.e, &t, why, sizeof why)) {
		fprintf(stderr, PROG ": internal error, results withheld: %s\n", why);
		r.status = 1;
	} else if (r.nrows == 0) {
		r.status = 1; /* each failure was reported above */
	} else
		report(&r, &t);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the report: %s\n", strerror(errno));
		r.status = 1;
	}
	if (o->stats)
		print_stats(&r, t0);
	dd_engine_free(r.e);
	free(r.rows);
	free(r.names);
	return r.status;
}
