/* The table of analyses: a new analysis is one an_*.c file and one row here
 * (and its name in analysis.h).  The order is that of --help and output. */
#include "analysis.h"

const struct dd_analysis *const dd_analyses[] = {
	&dd_an_ksm, &dd_an_tps, &dd_an_huge, &dd_an_pairs, &dd_an_placement, &dd_an_degree, &dd_an_diff,
};
const size_t dd_nanalyses = sizeof dd_analyses / sizeof dd_analyses[0];
