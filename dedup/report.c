/* Reports of dedup-analyze: the text table (the study's Table I), JSON and
 * CSV with the stable names of docs/metrics.md (see docs/design.md). */
#include "report.h"

#include "common.h"

#include <stdio.h>
#include <string.h>

static double mib(uint64_t pages, uint32_t ps) { return (double)pages * ps / (1024.0 * 1024.0); }

/* Guest RAM and device memory, when a dump told them apart */
static void text_device(FILE *f, const struct dd_report *r, size_t w)
{
	const struct dd_totals *t = r->totals;
	const uint32_t ps = t->page_size;
	if (!t->device_pages && !t->left_out_pages)
		return;
	if (t->left_out_pages)
		fprintf(f, "  left out          %10.1f %12llu   (device memory, --ram-only: in no count above)\n",
			mib(t->left_out_pages, ps), (unsigned long long)t->left_out_pages);
	else
		fprintf(f, "  device memory     %10.1f %12llu   (video RAM, BIOS, ROMs, firmware tables: counted "
			   "above, %llu zero)\n",
			mib(t->device_pages, ps), (unsigned long long)t->device_pages,
			(unsigned long long)t->device_zero_pages);
	fprintf(f, "\nGuest RAM and device memory (present pages; device: video RAM, BIOS, ROMs, firmware "
		   "tables)\n");
	fprintf(f, "%-*s %10s %10s %10s %10s\n", (int)w, "dump", "guest RAM", "device", "dev. zero", "left out");
	fprintf(f, "%-*s %10s %10s %10s %10s\n", (int)w, "", "MiB", "MiB", "MiB", "MiB");
	for (size_t i = 0; i < r->n; i++) {
		const struct dd_dump_stats *s = &r->rows[i].st;
		fprintf(f, "%-*.*s %10.1f %10.1f %10.1f %10.1f\n", (int)w, (int)w, cm_base_name(r->rows[i].path),
			mib(s->pages - s->device_pages, ps), mib(s->device_pages, ps), mib(s->device_zero_pages, ps),
			mib(s->left_out_pages, ps));
	}
}

void dd_report_text(FILE *f, const struct dd_report *r)
{
	const struct dd_totals *t = r->totals;
	const uint32_t ps = t->page_size;
	size_t w = 5, fw = 8; /* widths of the name and format columns */
	for (size_t i = 0; i < r->n; i++) {
		size_t l = strlen(cm_base_name(r->rows[i].path)), lf = strlen(r->rows[i].format);
		if (l > w)
			w = l;
		if (lf > fw)
			fw = lf;
	}
	if (w > 40)
		w = 40;

	fprintf(f, "Memory sharing potential: %llu dump%s, %u-byte pages, %s per page, zero pages excluded\n\n",
		(unsigned long long)t->dumps, t->dumps == 1 ? "" : "s", ps, r->hash_name);
	fprintf(f, "%-*s %-*s %10s %10s %10s %10s %10s %10s %7s\n", (int)w, "dump", (int)fw, "format", "present",
		"absent", "zero", "non-zero", "distinct", "intra-VM", "intra");
	fprintf(f, "%-*s %-*s %10s %10s %10s %10s %10s %10s %7s\n", (int)w, "", (int)fw, "", "MiB", "MiB", "MiB",
		"MiB", "MiB", "MiB", "%");
	for (size_t i = 0; i < r->n; i++) {
		const struct dd_dump_stats *s = &r->rows[i].st;
		fprintf(f, "%-*.*s %-*s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %6.1f%%\n", (int)w, (int)w,
			cm_base_name(r->rows[i].path), (int)fw, r->rows[i].format, mib(s->pages, ps),
			mib(s->absent_pages, ps), mib(s->zero_pages, ps), mib(s->nonzero_pages, ps),
			mib(s->distinct_pages, ps), mib(s->intra_pages, ps),
			cm_pct(s->intra_pages, s->nonzero_pages));
	}
	fprintf(f, "%-*s %-*s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %6.1f%%\n", (int)w, "total", (int)fw, "",
		mib(t->pages, ps), mib(t->absent_pages, ps), mib(t->zero_pages, ps),
		mib(t->nonzero_pages, ps), mib(t->distinct_pages, ps), mib(t->intra_pages, ps),
		cm_pct(t->intra_pages, t->nonzero_pages));

	fprintf(f, "\nTable I (potential):      MiB        pages   %% of non-zero\n");
	fprintf(f, "  minimum RAM       %10.1f %12llu %8.1f%%\n", mib(t->distinct_pages, ps),
		(unsigned long long)t->distinct_pages, cm_pct(t->distinct_pages, t->nonzero_pages));
	fprintf(f, "  intra-VM sharing  %10.1f %12llu %8.1f%%\n", mib(t->intra_pages, ps),
		(unsigned long long)t->intra_pages, cm_pct(t->intra_pages, t->nonzero_pages));
	fprintf(f, "  inter-VM sharing  %10.1f %12llu %8.1f%%\n", mib(t->inter_pages, ps),
		(unsigned long long)t->inter_pages, cm_pct(t->inter_pages, t->nonzero_pages));
	fprintf(f, "  non-zero total    %10.1f %12llu   = minimum RAM + intra + inter\n",
		mib(t->nonzero_pages, ps), (unsigned long long)t->nonzero_pages);
	fprintf(f, "  zero pages        %10.1f %12llu   (not backed; excluded above)\n",
		mib(t->zero_pages, ps), (unsigned long long)t->zero_pages);
	if (t->absent_pages)
		fprintf(f, "  absent pages      %10.1f %12llu   (not stored in the dumps; neither zero nor counted)\n",
			mib(t->absent_pages, ps), (unsigned long long)t->absent_pages);
	text_device(f, r, w);
}

static void json_counts(FILE *f, const struct dd_dump_stats *s)
{
	fprintf(f,
		"\"pages\": %llu, \"absent_pages\": %llu, \"zero_pages\": %llu, \"nonzero_pages\": %llu, "
		"\"distinct_pages\": %llu, \"intra_pages\": %llu, \"ram_pages\": %llu, \"device_pages\": %llu, "
		"\"device_zero_pages\": %llu, \"left_out_pages\": %llu",
		(unsigned long long)s->pages, (unsigned long long)s->absent_pages,
		(unsigned long long)s->zero_pages, (unsigned long long)s->nonzero_pages,
		(unsigned long long)s->distinct_pages, (unsigned long long)s->intra_pages,
		(unsigned long long)(s->pages - s->device_pages), (unsigned long long)s->device_pages,
		(unsigned long long)s->device_zero_pages, (unsigned long long)s->left_out_pages);
}

/* the start of an item of a list: {"path": PATH, "KEY": VALUE */
static void json_item(FILE *f, size_t i, const char *path, const char *key, const char *value)
{
	fprintf(f, "%s\n    {", i ? "," : "");
	cm_json_path(f, "path", path);
	fprintf(f, ", \"%s\": ", key);
	cm_json_string(f, value);
}

void dd_report_json_open(FILE *f, const struct dd_report *r)
{
	const struct dd_totals *t = r->totals;
	fprintf(f, "{\n  \"page_size\": %u,\n  \"hash\": \"%s\",\n  \"ram_only\": %s,\n  \"dumps\": [", t->page_size,
		r->hash_name, r->ram_only ? "true" : "false");
	for (size_t i = 0; i < r->n; i++) {
		json_item(f, i, r->rows[i].path, "format", r->rows[i].format);
		fprintf(f, ", ");
		json_counts(f, &r->rows[i].st);
		fprintf(f, ", \"known_zero_pages\": %llu, \"seconds\": %.3f}",
			(unsigned long long)r->rows[i].st.known_zero, r->rows[i].st.seconds);
	}
	fprintf(f, "\n  ],\n  \"total\": {\"dumps\": %llu, ", (unsigned long long)t->dumps);
	struct dd_dump_stats s = { .pages = t->pages,
				   .absent_pages = t->absent_pages,
				   .zero_pages = t->zero_pages,
				   .nonzero_pages = t->nonzero_pages,
				   .distinct_pages = t->distinct_pages,
				   .intra_pages = t->intra_pages,
				   .device_pages = t->device_pages,
				   .device_zero_pages = t->device_zero_pages,
				   .left_out_pages = t->left_out_pages };
	json_counts(f, &s);
	fprintf(f, ", \"inter_pages\": %llu, \"min_ram_bytes\": %llu}", (unsigned long long)t->inter_pages,
		(unsigned long long)t->min_ram_bytes);
	fprintf(f, ",\n  \"failed\": [");
	for (size_t i = 0; i < r->nfailed; i++) {
		json_item(f, i, r->failed[i].path, "error", r->failed[i].error);
		fprintf(f, "}");
	}
	fprintf(f, "%s]", r->nfailed ? "\n  " : "");
}

void dd_report_json_close(FILE *f)
{
	fprintf(f, "\n}\n");
}

void dd_report_csv(FILE *f, const struct dd_report *r)
{
	const struct dd_totals *t = r->totals;
	fprintf(f, "path,format,pages,absent_pages,zero_pages,nonzero_pages,distinct_pages,intra_pages,"
		   "inter_pages,min_ram_bytes\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct dd_dump_stats *s = &r->rows[i].st;
		cm_csv_field(f, r->rows[i].path);
		fputc(',', f);
		cm_csv_field(f, r->rows[i].format);
		fprintf(f, ",%llu,%llu,%llu,%llu,%llu,%llu,,%llu\n", (unsigned long long)s->pages,
			(unsigned long long)s->absent_pages, (unsigned long long)s->zero_pages,
			(unsigned long long)s->nonzero_pages, (unsigned long long)s->distinct_pages,
			(unsigned long long)s->intra_pages,
			(unsigned long long)(s->distinct_pages * t->page_size));
	}
	fprintf(f, "TOTAL,,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", (unsigned long long)t->pages,
		(unsigned long long)t->absent_pages, (unsigned long long)t->zero_pages,
		(unsigned long long)t->nonzero_pages, (unsigned long long)t->distinct_pages,
		(unsigned long long)t->intra_pages, (unsigned long long)t->inter_pages,
		(unsigned long long)t->min_ram_bytes);
}
