/* Output of dedup-analyze (text, JSON, CSV). */
#ifndef DEDUP_REPORT_H
#define DEDUP_REPORT_H

#include <stdbool.h>
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
	bool ram_only;            /* device memory was left out (dd_engine_set_ram_only) */
};

void dd_report_text(FILE *f, const struct dd_report *r);
/* The JSON object of docs/dedup-analyze.md in two halves: members can be
 * added between them (",\n  \"name\": ..."). */
void dd_report_json_open(FILE *f, const struct dd_report *r);
void dd_report_json_close(FILE *f);
void dd_report_csv(FILE *f, const struct dd_report *r);

#endif
