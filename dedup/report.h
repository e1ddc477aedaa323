/* Output of dedup-analyze (text, JSON, CSV). */
#ifndef DEDUP_REPORT_H
#define DEDUP_REPORT_H

#include <stdio.h>

#include "dedup.h"

struct dd_row {
	const char *path;
	const char *format;
	struct dd_dump_stats st;
};

struct dd_failed {
	const char *path;
	const char *error;
};

struct dd_report {
	const char *hash_name;
	const struct dd_totals *totals;
	const struct dd_row *rows;
	size_t n;
	const struct dd_failed *failed;
	size_t nfailed;
};

void dd_report_text(FILE *f, const struct dd_report *r);
struct dd_analyses;
/* the object of DESIGN.md; analyses (may be NULL) add members to it */
void dd_report_json(FILE *f, const struct dd_report *r, const struct dd_analyses *a);
void dd_report_csv(FILE *f, const struct dd_report *r);
void dd_json_string(FILE *f, const char *s);
/* one CSV field, quoted when it holds a comma, quote or line break */
void dd_csv_field(FILE *f, const char *s);


#include "analysis.h"

/* What was asked for beyond Table I; NULL members were not. */
struct dd_analyses {
	const struct dd_ksm *ksm;
	const struct dd_tps *tps;
	const struct dd_huge *huge;
	const struct dd_pair *pairs;
	size_t npairs;
	const struct dd_placement *place;
	const struct dd_degree *degree;
	const char *const *names; /* dump paths, engine order */
	size_t nnames;
	uint32_t page_size;
};

void dd_analyses_text(FILE *f, const struct dd_analyses *a);
void dd_analyses_json(FILE *f, const struct dd_analyses *a);
void dd_analyses_csv(FILE *f, const struct dd_analyses *a);
void dd_diff_text(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps);
void dd_diff_json(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps);
void dd_diff_csv(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps);

#endif
