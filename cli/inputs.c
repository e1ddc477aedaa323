/* The input set of dedup-analyze: each argument opened as a fingerprint or
 * a dump (split dumps: split.c), failures kept for the report. */
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

static enum cli_kind open_fp(struct cli_inputs *s, struct cli_input *in)
{
	struct dp_error err;
	if (dd_fp_read(in->path, &in->fp, &err)) {
		cli_input_fail(s, in->path, &err);
		return in->kind = CLI_IN_FAILED;
	}
	if (!s->page_size)
		s->page_size = in->fp.page_size;
	return in->kind = CLI_IN_FP;
}

enum cli_kind cli_input_open(struct cli_inputs *s, size_t i, const struct cli_opts *o)
{
	struct cli_input *in = &s->in[i];
	s->current = i;
	if (strcmp(in->path, "-") != 0 && dd_fp_probe(in->path))
		return open_fp(s, in);
	struct dp_error err;
	int rc = cli_open_dump(s, o, i, &in->dump, &err);
	if (rc > 0)
		return in->kind = CLI_IN_PART;
	if (rc < 0) {
		cli_input_fail(s, in->path, &err);
		return in->kind = CLI_IN_FAILED;
	}
	const struct dp_info *info = dp_get_info(in->dump);
	if (!o->info)
		for (size_t k = 0; k < info->nwarnings; k++)
			fprintf(stderr, PROG ": %s: warning: %s\n", in->path, info->warnings[k]);
	if (!s->page_size)
		s->page_size = info->page_size;
	return in->kind = CLI_IN_DUMP;
}
