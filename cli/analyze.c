/* The analysis run of dedup-analyze: hash every input into one engine,
 * write fingerprints, compute the analyses asked for and print the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "common.h"

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
static void save_fp(struct cli_run *r, size_t k)
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
void cli_run_hash(struct cli_run *r)
{
	for (size_t i = 0; i < r->s->n; i++) {
		struct cli_input *in = &r->s->in[i];
		r->s->current = i;
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
		r->row_input[r->nrows] = i;
		if (r->o->save_fp)
			save_fp(r, r->nrows);
		r->nrows++;
	}
}

size_t cli_alone_row(const struct cli_opts *o)
{
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && (dd_analyses[a]->flags & DD_AN_ALONE))
			return a;
	return dd_nanalyses;
}

bool cli_runs(const struct cli_opts *o, size_t a)
{
	size_t alone = cli_alone_row(o);
	return o->an[a] && (alone == dd_nanalyses || a == alone);
}

int cli_prepare(const struct cli_opts *o, const struct dd_an_source *src, size_t n, char *msg, size_t len)
{
	for (size_t a = 0; a < dd_nanalyses; a++) {
		*msg = 0;
		if (cli_runs(o, a) && dd_analyses[a]->prepare && dd_analyses[a]->prepare(o->an[a], src, n, msg, len))
			return *msg ? 2 : 1;
	}
	return -1;
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
	char err[1024];
	int rc = cli_prepare(o, src, n, err, sizeof err);
	if (rc == 2)
		cm_usage_error(PROG, "%s", err);
	else if (rc == 1)
		fprintf(stderr, PROG ": out of memory\n");
	free(src);
	return rc;
}

/* Compute every analysis asked for; done[a] says which succeeded.  The one
 * whose output is the whole report (DD_AN_ALONE), when asked for, is the
 * only one computed. */
static void compute(struct cli_run *r, const struct dd_an_input *in, bool *done)
{
	for (size_t a = 0; a < dd_nanalyses; a++) {
		if (!cli_runs(r->o, a))
			continue;
		char err[1024] = "";
		if (dd_an_compute(dd_analyses[a], r->o->an[a], in, err, sizeof err)) {
			if (*err)
				fprintf(stderr, PROG ": %s\n", err);
			r->status = 1;
		} else
			done[a] = true;
	}
}

/* one analysis' output in the format asked for */
static void print_analysis(FILE *f, const struct cli_opts *o, size_t a, const struct dd_an_input *in)
{
	const struct dd_analysis *an = dd_analyses[a];
	if (o->out == CLI_JSON)
		an->json(f, o->an[a], in);
	else if (o->out == CLI_CSV)
		an->csv(f, o->an[a], in);
	else
		an->text(f, o->an[a], in);
}

void cli_report_print(FILE *f, const struct cli_opts *o, const struct dd_report *rep, const struct dd_an_input *in,
		      const bool *done)
{
	size_t alone = cli_alone_row(o);
	if (alone < dd_nanalyses) {
		if (done[alone])
			print_analysis(f, o, alone, in);
		return;
	}
	if (o->out == CLI_JSON)
		dd_report_json_open(f, rep);
	else if (o->out == CLI_CSV)
		dd_report_csv(f, rep);
	else
		dd_report_text(f, rep);
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (done[a])
			print_analysis(f, o, a, in);
	if (o->out == CLI_JSON)
		dd_report_json_close(f);
}

/* Table I and the analyses; or the one analysis that is the whole report */
static void report(struct cli_run *r, const struct dd_totals *t)
{
	struct dd_an_input in = { r->e, r->names, r->nrows, t->page_size, t, r->rows };
	bool *done = calloc(dd_nanalyses, sizeof *done);
	if (!done) {
		fprintf(stderr, PROG ": out of memory\n");
		r->status = 1;
		return;
	}
	compute(r, &in, done);
	struct dd_report rep = { dd_hash_name(r->o->hash), t, r->rows, r->nrows, r->s->failed, r->s->nfailed,
				 r->o->ram_only };
	cli_report_print(stdout, r->o, &rep, &in, done);
	free(done);
}

void cli_print_stats(const struct cli_run *r, double t0)
{
	double secs = cm_now() - t0;
	uint64_t bytes = 0, direct = 0;
	for (size_t i = 0; i < r->nrows; i++) {
		bytes += r->rows[i].st.bytes_read;
		direct += r->rows[i].st.direct_bytes;
	}
	const struct dd_table *t = dd_engine_table(r->e);
	uint64_t d = dd_table_size(t), tb = dd_table_bytes(t);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char hb[80], db[80] = "";
	if (direct)
		snprintf(db, sizeof db, ", %.1f MiB of the file%s around the page cache", direct / 1048576.0,
			 r->nrows == 1 ? "" : "s");
	fprintf(stderr,
		PROG ": stats: %zu dump%s, %.1f MiB read in %.3f s (%.0f MiB/s%s); content table %llu bytes for "
		"%llu contents (%.1f bytes each); peak RSS %ld KiB; %s\n",
		r->nrows, r->nrows == 1 ? "" : "s", bytes / 1048576.0, secs, secs > 0 ? bytes / 1048576.0 / secs : 0, db,
		(unsigned long long)tb,
		(unsigned long long)d, d ? (double)tb / (double)d : 0.0, ru.ru_maxrss,
		dd_hash_describe(dd_engine_hash(r->e), dd_engine_sha1(r->e), hb, sizeof hb));
}

unsigned cli_collect_flags(const struct cli_opts *o)
{
	unsigned c = o->save_fp ? DD_COLLECT_IDS | DD_COLLECT_PAGES | DD_COLLECT_CLASS : 0;
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a])
			c |= dd_analyses[a]->collect;
	return c;
}

int cli_run_new(struct cli_run *r, struct cli_inputs *s, const struct cli_opts *o, uint32_t page_size,
		unsigned collect)
{
	memset(r, 0, sizeof *r);
	r->o = o;
	r->s = s;
	r->e = dd_engine_new(o->jobs, o->hash, page_size);
	r->rows = calloc(s->n ? s->n : 1, sizeof *r->rows);
	r->names = calloc(s->n ? s->n : 1, sizeof *r->names);
	r->row_input = calloc(s->n ? s->n : 1, sizeof *r->row_input);
	if (!r->e || !r->rows || !r->names || !r->row_input) {
		fprintf(stderr, PROG ": out of memory\n");
		cli_run_free(r);
		return 1;
	}
	dd_engine_set_sha1(r->e, o->sha1);
	dd_engine_collect(r->e, collect);
	dd_engine_set_ram_only(r->e, o->ram_only);
	if (o->progress)
		dd_engine_set_progress(r->e, progress, NULL, s->n);
	return 0;
}

void cli_run_free(struct cli_run *r)
{
	dd_engine_free(r->e);
	free(r->rows);
	free(r->names);
	free(r->row_input);
	memset(r, 0, sizeof *r);
}

int cli_analyze(struct cli_inputs *s, const struct cli_opts *o)
{
	struct cli_run r;
	cli_inputs_open_all(s, o);
	int rc = cli_check_page_size(o, s->page_size ? s->page_size : 4096);
	if (rc < 0)
		rc = prepare(s, o);
	if (rc >= 0)
		return rc;
	double t0 = cm_now();
	if (cli_run_new(&r, s, o, s->page_size ? s->page_size : 4096, cli_collect_flags(o)))
		return 1;
	cli_run_hash(&r);
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
		cli_print_stats(&r, t0);
	int status = r.status;
	cli_run_free(&r);
	return status;
}
