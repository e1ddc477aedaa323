/* Split dumps (makedumpfile --split) on the command line: the parts of one
 * dump given together are read once, by the part the library's grouping
 * picks; the others are noted and skipped.  All of the program's split-dump
 * handling is here. */
#include <stdio.h>

#include "cli.h"

int cli_group_inputs(struct cli_inputs *s, const struct cli_opts *o)
{
	struct dp_error err;
	if (dp_group_new((const char *const *)o->paths, o->n, &s->group, &err)) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	return 0;
}

int cli_open_dump(const struct cli_inputs *s, const struct cli_opts *o, size_t i, struct dp_dump **d,
		  struct dp_error *err)
{
	if (dp_group_role(s->group, i) == DP_ROLE_PART)
		return 1; /* another file given here reads this one */
	return dp_group_open(s->group, i, &o->dp, d, err) ? -1 : 0;
}

void cli_part_note(const struct cli_inputs *s, const struct cli_opts *o, size_t i)
{
	if (!o->quiet)
		fprintf(stderr, PROG ": %s: %s\n", o->paths[i], dp_group_note(s->group, i));
}
