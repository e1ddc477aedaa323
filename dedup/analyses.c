/* The table of analyses: a new analysis is one an_*.c file, its name on
 * the extern line and one row here.  The order is that of --help and of
 * the output. */
#include "analysis.h"

extern const struct dd_analysis dd_an_ksm, dd_an_tps, dd_an_huge, dd_an_pairs, dd_an_placement,
	dd_an_degree, dd_an_diff;

const struct dd_analysis *const dd_analyses[] = {
	&dd_an_ksm,
	&dd_an_tps,
	&dd_an_huge,
	&dd_an_pairs,
	&dd_an_placement,
	&dd_an_degree,
	&dd_an_diff,
};
const size_t dd_nanalyses = sizeof dd_analyses / sizeof dd_analyses[0];
