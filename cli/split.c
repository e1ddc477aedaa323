/* Split dumps (makedumpfile --split) on the command line: the parts of one
 * dump given together are read once, by the part the library picks; the
 * others are noted and skipped.  All of the program's split-dump handling
 * is here. */
#include <stdio.h>

#include "cli.h"

int cli_open_dump(const struct cli_opts *o, size_t i, struct dp_dump **d, struct dp_error *err)
{
	struct dp_options dp = o->dp;
	dp.given = (const char *const *)o->paths;
	dp.ngiven = o->n;
	const char *path = o->paths[i];
	if (dp_open(path, &dp, d, err) == 0)
		return 0;
	if (err->status != DP_E_SPLIT_PART)
		return -1;
	/* another file given here reads this one */
	if (!o->quiet)
		fprintf(stderr, PROG ": %s: %s\n", path, err->msg);
	return 1;
}
