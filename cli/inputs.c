/* The input set of dedup-analyze: each argument opened as a fingerprint or
 * a dump (split dumps: split.c), failures kept for the report. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_inputs_new(struct cli_inputs *s, const struct cli_opts *o)
{
	memset(s, 0, sizeof *s);
	s->n = o->n;
	s->in = calloc(o->n, sizeof *s->in);
	s->failed = calloc(o->n, sizeof *s->failed);
	s->msgs = calloc(o->n, sizeof *s->msgs);
	s->names = calloc(o->n, sizeof *s->names);
	s->failed_in = calloc(o->n, sizeof *s->failed_in);
	if (!s->in || !s->failed || !s->msgs || !s->names || !s->failed_in) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < o->n; i++)
		s->in[i].path = o->paths[i];
	s->page_size = o->dp.page_size;
	return cli_group_inputs(s, o);
}

void cli_inputs_free(struct cli_inputs *s)
{
	for (size_t i = 0; s->in && i < s->n; i++) {
		dp_close(s->in[i].dump);
		dd_fp_free(&s->in[i].fp);
	}
	dp_group_free(s->group);
	for (size_t i = 0; s->names && i < s->nfailed; i++)
		free(s->names[i]);
	free(s->names);
	free(s->failed_in);
	free(s->in);
	free(s->failed);
	free(s->msgs);
	memset(s, 0, sizeof *s);
}

void cli_input_fail(struct cli_inputs *s, const char *path, const struct dp_error *err)
{
	dp_error_text(err, path, s->msgs[s->nfailed], sizeof s->msgs[0]);
	fprintf(stderr, PROG ": %s\n", s->msgs[s->nfailed]);
	s->failed[s->nfailed].path = path;
	s->failed[s->nfailed].error = s->msgs[s->nfailed];
	s->failed_in[s->nfailed] = s->current;
	s->nfailed++;
}

void cli_output_fail(struct cli_inputs *s, const char *path, const struct dp_error *err)
{
	char *copy = strdup(path);
	cli_input_fail(s, copy ? copy : "(out of memory)", err);
	s->names[s->nfailed - 1] = copy;
}

/* What opening an input gave, kept until it is reported: opening may run
 * on several threads, the reports come in input order. */
struct opened {
	bool fp;        /* a fingerprint file */
	int rc;         /* 0 opened, 1 a part another input reads, -1 failed */
	struct dp_error err;
};

/* Opens input i and prints nothing; threads may open different inputs. */
static void open_quietly(struct cli_inputs *s, const struct cli_opts *o, size_t i, struct opened *r)
{
	struct cli_input *in = &s->in[i];
	r->fp = strcmp(in->path, "-") != 0 && dd_fp_probe(in->path);
	if (r->fp)
		r->rc = dd_fp_read(in->path, &in->fp, &r->err) ? -1 : 0;
	else
		r->rc = cli_open_dump(s, o, i, &in->dump, &r->err);
}

/* Records and prints what opening input i gave. */
static enum cli_kind report_open(struct cli_inputs *s, const struct cli_opts *o, size_t i, const struct opened *r)
{
	struct cli_input *in = &s->in[i];
	s->current = i;
	if (r->rc < 0) {
		cli_input_fail(s, in->path, &r->err);
		return in->kind = CLI_IN_FAILED;
	}
	if (r->fp) {
		if (!s->page_size)
			s->page_size = in->fp.page_size;
		return in->kind = CLI_IN_FP;
	}
	if (r->rc > 0) {
		cli_part_note(s, o, i);
		return in->kind = CLI_IN_PART;
	}
	const struct dp_info *info = dp_get_info(in->dump);
	if (!o->info)
		for (size_t k = 0; k < info->nwarnings; k++)
			fprintf(stderr, PROG ": %s: warning: %s\n", in->path, info->warnings[k]);
	if (!s->page_size)
		s->page_size = info->page_size;
	return in->kind = CLI_IN_DUMP;
}

enum cli_kind cli_input_open(struct cli_inputs *s, size_t i, const struct cli_opts *o)
{
	struct opened r;
	open_quietly(s, o, i, &r);
	return report_open(s, o, i, &r);
}

struct opener {
	struct cli_inputs *s;
	const struct cli_opts *o;
	struct opened *r;
	atomic_size_t next;
};

static void *open_some(void *arg)
{
	struct opener *op = arg;
	for (size_t i; (i = atomic_fetch_add(&op->next, 1)) < op->s->n;)
		open_quietly(op->s, op->o, i, &op->r[i]);
	return NULL;
}

void cli_inputs_open_all(struct cli_inputs *s, const struct cli_opts *o)
{
	size_t nt = o->jobs < s->n ? o->jobs : s->n;
	struct opener op = { s, o, nt > 1 ? calloc(s->n, sizeof *op.r) : NULL, 0 };
	pthread_t *tid = op.r ? calloc(nt, sizeof *tid) : NULL;
	if (!tid) { /* one input, one job, or no memory for more: one after the other */
		free(op.r);
		for (size_t i = 0; i < s->n; i++)
			cli_input_open(s, i, o);
		return;
	}
	size_t started = 1; /* this thread is one of them */
	while (started < nt && pthread_create(&tid[started], NULL, open_some, &op) == 0)
		started++;
	open_some(&op);
	for (size_t t = 1; t < started; t++)
		pthread_join(tid[t], NULL);
	for (size_t i = 0; i < s->n; i++)
		report_open(s, o, i, &op.r[i]);
	free(tid);
	free(op.r);
}
