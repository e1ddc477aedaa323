/* Page-level difference of two dumps or fingerprints of one VM: pages
 * unchanged, changed, new and gone from the first to the second, by guest
 * frame (docs/analyses.md, "Diff").  Its output is the whole report. */
#include "analysis.h"

#include "common.h"

struct diff {
	uint64_t unchanged, changed, added, gone;
	uint64_t unchanged_zero;
	uint64_t before_pages, after_pages;
	uint64_t contents_kept;       /* distinct non-zero contents of "after" also in "before" */
	uint64_t after_contents;
};

static int diff_compute(void *st, const struct dd_an_input *in, char *err, size_t errlen)
{
	struct diff *d = st;
	if (dd_engine_ndumps(in->e) != 2) {
		snprintf(err, errlen, "--diff needs both inputs");
		return -1;
	}
	const struct dd_dump_data *a = dd_engine_dump(in->e, 0), *b = dd_engine_dump(in->e, 1);
	d->before_pages = a->npages;
	d->after_pages = b->npages;
	uint64_t i = 0, j = 0;
	while (i < a->npages || j < b->npages) {
		if (j == b->npages || (i < a->npages && a->pfn[i] < b->pfn[j])) {
			d->gone++;
			i++;
		} else if (i == a->npages || b->pfn[j] < a->pfn[i]) {
			d->added++;
			j++;
		} else {
			if (a->pid[i] == b->pid[j]) {
				d->unchanged++;
				d->unchanged_zero += a->pid[i] == DD_ID_ZERO;
			} else
				d->changed++;
			i++;
			j++;
		}
	}
	d->after_contents = b->nids;
	d->contents_kept = dd_ids_common(a->ids, a->nids, b->ids, b->nids);
	return 0;
}

static void diff_text(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct diff *d = st;
	uint64_t base = d->before_pages;
	fprintf(f, "Page changes from %s to %s (%u-byte pages, by guest frame):\n", in->names[0], in->names[1],
		in->page_size);
	fprintf(f, "  unchanged  %12llu  %6.1f%%  (%llu of them zero)\n", (unsigned long long)d->unchanged,
		cm_pct(d->unchanged, base), (unsigned long long)d->unchanged_zero);
	fprintf(f, "  changed    %12llu  %6.1f%%\n", (unsigned long long)d->changed, cm_pct(d->changed, base));
	fprintf(f, "  gone       %12llu  %6.1f%%\n", (unsigned long long)d->gone, cm_pct(d->gone, base));
	fprintf(f, "  new        %12llu\n", (unsigned long long)d->added);
	fprintf(f, "  pages before %llu, after %llu; %llu of %llu distinct non-zero contents after were there before\n",
		(unsigned long long)d->before_pages, (unsigned long long)d->after_pages,
		(unsigned long long)d->contents_kept, (unsigned long long)d->after_contents);
}

static void diff_json(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct diff *d = st;
	fprintf(f, "{");
	cm_json_path(f, "before", in->names[0]);
	fprintf(f, ", ");
	cm_json_path(f, "after", in->names[1]);
	fprintf(f,
		", \"page_size\": %u, \"unchanged\": %llu, \"unchanged_zero\": %llu, \"changed\": %llu, "
		"\"gone\": %llu, \"new\": %llu, \"before_pages\": %llu, \"after_pages\": %llu, "
		"\"contents_kept\": %llu, \"after_contents\": %llu}\n",
		in->page_size, (unsigned long long)d->unchanged, (unsigned long long)d->unchanged_zero,
		(unsigned long long)d->changed, (unsigned long long)d->gone, (unsigned long long)d->added,
		(unsigned long long)d->before_pages, (unsigned long long)d->after_pages,
		(unsigned long long)d->contents_kept, (unsigned long long)d->after_contents);
}

static void diff_csv(FILE *f, const void *st, const struct dd_an_input *in)
{
	const struct diff *d = st;
	fprintf(f, "before,after,page_size,unchanged,unchanged_zero,changed,gone,new,before_pages,after_pages,"
		   "contents_kept,after_contents\n");
	cm_csv_field(f, in->names[0]);
	fputc(',', f);
	cm_csv_field(f, in->names[1]);
	fprintf(f, ",%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", in->page_size,
		(unsigned long long)d->unchanged, (unsigned long long)d->unchanged_zero, (unsigned long long)d->changed,
		(unsigned long long)d->gone, (unsigned long long)d->added, (unsigned long long)d->before_pages,
		(unsigned long long)d->after_pages, (unsigned long long)d->contents_kept,
		(unsigned long long)d->after_contents);
}

static const struct dd_an_option diff_opts[] = { { "diff", DD_AN_NO_ARG }, { NULL, 0 } };

const struct dd_analysis dd_an_diff = {
	.name = "diff", .opts = diff_opts, .size = sizeof(struct diff),
	.flags = DD_AN_ALONE, .collect = DD_COLLECT_IDS | DD_COLLECT_PAGES,
	.compute = diff_compute, .text = diff_text, .json = diff_json, .csv = diff_csv,
	.help = "      --diff A B        pages unchanged, changed, new and gone from A to B (two dumps\n"
		"                        or fingerprints of one VM)\n",
};
