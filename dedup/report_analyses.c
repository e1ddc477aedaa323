/* Text, JSON and CSV output of the analyses (docs/analyses.md). */
#include <stdio.h>
#include <string.h>

#include "report.h"

static double mib_b(uint64_t bytes) { return (double)bytes / 1048576.0; }
static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

static void hex_key(char *out, const uint8_t *k)
{
	for (int i = 0; i < DD_KEY; i++)
		sprintf(out + 2 * i, "%02x", k[i]);
}

static const char *top_key(char *buf, const struct dd_top *t)
{
	if (t->zero)
		return "zero";
	hex_key(buf, t->key);
	return buf;
}

/* ---- text ---- */

void dd_analyses_text(FILE *f, const struct dd_analyses *a)
{
	const uint32_t ps = a->page_size;
	if (a->ksm) {
		const struct dd_ksm *k = a->ksm;
		fprintf(f, "\nKSM prediction (steady state; max_page_sharing=%u, use_zero_pages=%d):\n",
			k->max_page_sharing, k->use_zero_pages);
		fprintf(f, "  pages_shared        %12llu\n", (unsigned long long)k->pages_shared);
		fprintf(f, "  pages_sharing       %12llu\n", (unsigned long long)k->pages_sharing);
		fprintf(f, "  pages_unshared      %12llu\n", (unsigned long long)k->pages_unshared);
		fprintf(f, "  stable_node_chains  %12llu\n", (unsigned long long)k->stable_node_chains);
		fprintf(f, "  stable_node_dups    %12llu\n", (unsigned long long)k->stable_node_dups);
		fprintf(f, "  ksm_zero_pages      %12llu\n", (unsigned long long)k->ksm_zero_pages);
		fprintf(f, "  saved               %12.1f MiB  ((pages_sharing + ksm_zero_pages) x page size)\n",
			mib_b(k->saved_bytes));
		fprintf(f, "  general_profit      %12.1f MiB  (saved - %llu rmap items x 64 bytes)\n",
			(double)k->general_profit / 1048576.0, (unsigned long long)k->rmap_items);
	}
	if (a->tps) {
		const struct dd_tps *t = a->tps;
		fprintf(f, "\nTPS what-if (non-zero pages; zero pages, %.1f MiB, are shared in every mode):\n",
			mib_b(t->zero * ps));
		fprintf(f, "  %-34s %10s %12s %12s\n", "mode", "saved MiB", "saved pages", "memory MiB");
		fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", "full inter-VM sharing", mib_b(t->full_saved * ps),
			(unsigned long long)t->full_saved, mib_b(t->full_distinct * ps));
		char label[64];
		snprintf(label, sizeof label, "inside %zu salt group%s", t->ngroups, t->ngroups == 1 ? "" : "s");
		fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", label, mib_b(t->salted_saved * ps),
			(unsigned long long)t->salted_saved, mib_b(t->salted_distinct * ps));
		fprintf(f, "  %-34s %10.1f %12llu %12.1f\n", "intra-VM only (salting default)",
			mib_b(t->intra_saved * ps), (unsigned long long)t->intra_saved, mib_b(t->intra_distinct * ps));
	}
	if (a->huge) {
		const struct dd_huge *h = a->huge;
		fprintf(f, "\n%llu KiB pages what-if (%llu regions; shared only once split):\n",
			(unsigned long long)(h->huge_bytes >> 10), (unsigned long long)h->regions);
		fprintf(f, "  4 KiB sharing saves          %10.1f MiB (%llu pages)\n", mib_b(h->saved_4k * ps),
			(unsigned long long)h->saved_4k);
		fprintf(f, "  without splitting            %10.1f MiB (whole identical regions)\n",
			mib_b(h->identical_saved * ps));
		fprintf(f, "  regions holding shareable pages: %llu (%.1f%%)\n",
			(unsigned long long)h->regions_shareable, pct(h->regions_shareable, h->regions));
		static const char *const tl[3] = { "50%", "90%", "100%" };
		for (int i = 0; i < 3; i++)
			fprintf(f, "  split for %-4s of the saving: %10llu regions (%.1f%%)\n", tl[i],
				(unsigned long long)h->split_for[i], pct(h->split_for[i], h->regions));
	}
	if (a->pairs && a->npairs) {
		fprintf(f, "\nPairwise similarity:\n");
		fprintf(f, "  %-20s %-20s %10s %10s %10s %8s %12s\n", "a", "b", "common", "a pages", "b pages",
			"jaccard", "saved MiB");
		for (size_t i = 0; i < a->npairs; i++) {
			const struct dd_pair *p = &a->pairs[i];
			fprintf(f, "  %-20.20s %-20.20s %10llu %10llu %10llu %8.3f %12.1f\n",
				base_name(a->names[p->a]), base_name(a->names[p->b]), (unsigned long long)p->common,
				(unsigned long long)p->a_pages, (unsigned long long)p->b_pages, p->jaccard,
				mib_b(p->saved_together * ps));
		}
	}
	if (a->place) {
		const struct dd_placement *p = a->place;
		fprintf(f, "\nPlacement on %zu hosts", p->hosts);
		if (p->cap_bytes)
			fprintf(f, " of %.1f MiB", mib_b(p->cap_bytes));
		fprintf(f, " (memory = distinct non-zero contents per host):\n");
		for (int g = 0; g < 2; g++) {
			const size_t *as = g ? p->naive_host : p->greedy_host;
			const uint64_t *mem = g ? p->naive_mem : p->greedy_mem;
			fprintf(f, "  %s: %.1f MiB%s\n", g ? "first fit in given order" : "sharing-aware greedy",
				mib_b(g ? p->naive_total : p->greedy_total),
				(g ? p->naive_fits : p->greedy_fits) ? "" : "  (does not fit the capacity)");
			for (size_t h = 0; h < p->hosts; h++) {
				fprintf(f, "    host %zu: %8.1f MiB:", h, mib_b(mem[h]));
				for (size_t i = 0; i < a->nnames; i++)
					if (as[i] == h)
						fprintf(f, " %s", base_name(a->names[i]));
				fprintf(f, "\n");
			}
		}
		fprintf(f, "  greedy saves %.1f MiB against first fit\n",
			(double)((int64_t)p->naive_total - (int64_t)p->greedy_total) / 1048576.0);
	}
	if (a->degree) {
		const struct dd_degree *d = a->degree;
		fprintf(f, "\nSharing degree (non-zero contents by copies over all dumps):\n");
		fprintf(f, "  %-17s %12s %12s %7s\n", "copies", "contents", "pages", "pages%");
		uint64_t total = 0;
		for (size_t b = 0; b < d->nb; b++)
			total += d->b[b].pages;
		for (size_t b = 0; b < d->nb; b++) {
			if (!d->b[b].contents)
				continue;
			char r[40];
			if (d->b[b].lo == d->b[b].hi)
				snprintf(r, sizeof r, "%llu", (unsigned long long)d->b[b].lo);
			else
				snprintf(r, sizeof r, "%llu-%llu", (unsigned long long)d->b[b].lo,
					 (unsigned long long)d->b[b].hi);
			fprintf(f, "  %-17s %12llu %12llu %6.1f%%\n", r, (unsigned long long)d->b[b].contents,
				(unsigned long long)d->b[b].pages, pct(d->b[b].pages, total));
		}
		if (d->ntop) {
			fprintf(f, "\nMost duplicated contents:\n");
			fprintf(f, "  %4s %-32s %10s %6s  %s\n", "rank", "key", "copies", "dumps", "class");
			for (size_t i = 0; i < d->ntop; i++) {
				char k[2 * DD_KEY + 1];
				fprintf(f, "  %4zu %-32s %10llu %6llu  %s\n", i + 1, top_key(k, &d->top[i]),
					(unsigned long long)d->top[i].copies, (unsigned long long)d->top[i].dumps,
					dd_class_name(d->top[i].cls));
			}
		}
	}
}

/* ---- JSON (members added to the main object) ---- */

void dd_analyses_json(FILE *f, const struct dd_analyses *a)
{
	if (a->ksm) {
		const struct dd_ksm *k = a->ksm;
		fprintf(f,
			",\n  \"ksm\": {\"max_page_sharing\": %u, \"use_zero_pages\": %d, \"pages_shared\": %llu, "
			"\"pages_sharing\": %llu, \"pages_unshared\": %llu, \"stable_node_chains\": %llu, "
			"\"stable_node_dups\": %llu, \"ksm_zero_pages\": %llu, \"saved_bytes\": %llu, "
			"\"rmap_items\": %llu, \"general_profit\": %lld}",
			k->max_page_sharing, k->use_zero_pages, (unsigned long long)k->pages_shared,
			(unsigned long long)k->pages_sharing, (unsigned long long)k->pages_unshared,
			(unsigned long long)k->stable_node_chains, (unsigned long long)k->stable_node_dups,
			(unsigned long long)k->ksm_zero_pages, (unsigned long long)k->saved_bytes,
			(unsigned long long)k->rmap_items, (long long)k->general_profit);
	}
	if (a->tps) {
		const struct dd_tps *t = a->tps;
		fprintf(f,
			",\n  \"tps\": {\"nonzero_pages\": %llu, \"zero_pages\": %llu, \"salt_groups\": %zu, "
			"\"full_saved_pages\": %llu, \"salted_saved_pages\": %llu, \"intra_saved_pages\": %llu, "
			"\"full_distinct_pages\": %llu, \"salted_distinct_pages\": %llu, \"intra_distinct_pages\": %llu}",
			(unsigned long long)t->nonzero, (unsigned long long)t->zero, t->ngroups,
			(unsigned long long)t->full_saved, (unsigned long long)t->salted_saved,
			(unsigned long long)t->intra_saved, (unsigned long long)t->full_distinct,
			(unsigned long long)t->salted_distinct, (unsigned long long)t->intra_distinct);
	}
	if (a->huge) {
		const struct dd_huge *h = a->huge;
		fprintf(f,
			",\n  \"huge\": {\"huge_page_bytes\": %llu, \"regions\": %llu, \"regions_shareable\": %llu, "
			"\"saved_4k_pages\": %llu, \"identical_saved_pages\": %llu, \"split_for_50\": %llu, "
			"\"split_for_90\": %llu, \"split_for_100\": %llu}",
			(unsigned long long)h->huge_bytes, (unsigned long long)h->regions,
			(unsigned long long)h->regions_shareable, (unsigned long long)h->saved_4k,
			(unsigned long long)h->identical_saved, (unsigned long long)h->split_for[0],
			(unsigned long long)h->split_for[1], (unsigned long long)h->split_for[2]);
	}
	if (a->pairs) {
		fprintf(f, ",\n  \"pairs\": [");
		for (size_t i = 0; i < a->npairs; i++) {
			const struct dd_pair *p = &a->pairs[i];
			fprintf(f, "%s\n    {\"a\": ", i ? "," : "");
			dd_json_string(f, a->names[p->a]);
			fprintf(f, ", \"b\": ");
			dd_json_string(f, a->names[p->b]);
			fprintf(f,
				", \"common_contents\": %llu, \"a_pages_in_common\": %llu, \"b_pages_in_common\": %llu, "
				"\"union_contents\": %llu, \"jaccard\": %.6f, \"saved_together_pages\": %llu}",
				(unsigned long long)p->common, (unsigned long long)p->a_pages,
				(unsigned long long)p->b_pages, (unsigned long long)p->unioned, p->jaccard,
				(unsigned long long)p->saved_together);
		}
		fprintf(f, "%s]", a->npairs ? "\n  " : "");
	}
	if (a->place) {
		const struct dd_placement *p = a->place;
		fprintf(f, ",\n  \"placement\": {\"hosts\": %zu, \"capacity_bytes\": %llu", p->hosts,
			(unsigned long long)p->cap_bytes);
		for (int g = 0; g < 2; g++) {
			const size_t *as = g ? p->naive_host : p->greedy_host;
			const uint64_t *mem = g ? p->naive_mem : p->greedy_mem;
			fprintf(f, ", \"%s\": {\"memory_bytes\": %llu, \"fits\": %s, \"hosts\": [", g ? "first_fit" : "greedy",
				(unsigned long long)(g ? p->naive_total : p->greedy_total),
				(g ? p->naive_fits : p->greedy_fits) ? "true" : "false");
			for (size_t h = 0; h < p->hosts; h++) {
				fprintf(f, "%s{\"memory_bytes\": %llu, \"dumps\": [", h ? ", " : "", (unsigned long long)mem[h]);
				int first = 1;
				for (size_t i = 0; i < a->nnames; i++)
					if (as[i] == h) {
						fprintf(f, "%s", first ? "" : ", ");
						dd_json_string(f, a->names[i]);
						first = 0;
					}
				fprintf(f, "]}");
			}
			fprintf(f, "]}");
		}
		fprintf(f, "}");
	}
	if (a->degree) {
		const struct dd_degree *d = a->degree;
		fprintf(f, ",\n  \"degree\": [");
		int first = 1;
		for (size_t b = 0; b < d->nb; b++) {
			if (!d->b[b].contents)
				continue;
			fprintf(f, "%s{\"copies_min\": %llu, \"copies_max\": %llu, \"contents\": %llu, \"pages\": %llu}",
				first ? "" : ", ", (unsigned long long)d->b[b].lo, (unsigned long long)d->b[b].hi,
				(unsigned long long)d->b[b].contents, (unsigned long long)d->b[b].pages);
			first = 0;
		}
		fprintf(f, "],\n  \"top\": [");
		for (size_t i = 0; i < d->ntop; i++) {
			char k[2 * DD_KEY + 1];
			fprintf(f, "%s\n    {\"key\": \"%s\", \"copies\": %llu, \"dumps\": %llu, \"class\": \"%s\"}",
				i ? "," : "", top_key(k, &d->top[i]), (unsigned long long)d->top[i].copies,
				(unsigned long long)d->top[i].dumps, dd_class_name(d->top[i].cls));
		}
		fprintf(f, "%s]", d->ntop ? "\n  " : "");
	}
}

/* ---- CSV: one block per analysis, first column names it ---- */

void dd_analyses_csv(FILE *f, const struct dd_analyses *a)
{
	const uint64_t ps = a->page_size;
	if (a->ksm) {
		const struct dd_ksm *k = a->ksm;
		fprintf(f, "\nanalysis,max_page_sharing,use_zero_pages,pages_shared,pages_sharing,pages_unshared,"
			   "stable_node_chains,stable_node_dups,ksm_zero_pages,saved_bytes,rmap_items,general_profit\n");
		fprintf(f, "ksm,%u,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%lld\n", k->max_page_sharing,
			k->use_zero_pages, (unsigned long long)k->pages_shared, (unsigned long long)k->pages_sharing,
			(unsigned long long)k->pages_unshared, (unsigned long long)k->stable_node_chains,
			(unsigned long long)k->stable_node_dups, (unsigned long long)k->ksm_zero_pages,
			(unsigned long long)k->saved_bytes, (unsigned long long)k->rmap_items,
			(long long)k->general_profit);
	}
	if (a->tps) {
		const struct dd_tps *t = a->tps;
		fprintf(f, "\nanalysis,mode,saved_pages,saved_bytes,distinct_pages,memory_bytes\n");
		fprintf(f, "tps,full,%llu,%llu,%llu,%llu\n", (unsigned long long)t->full_saved,
			(unsigned long long)(t->full_saved * ps), (unsigned long long)t->full_distinct,
			(unsigned long long)(t->full_distinct * ps));
		fprintf(f, "tps,salted,%llu,%llu,%llu,%llu\n", (unsigned long long)t->salted_saved,
			(unsigned long long)(t->salted_saved * ps), (unsigned long long)t->salted_distinct,
			(unsigned long long)(t->salted_distinct * ps));
		fprintf(f, "tps,intra,%llu,%llu,%llu,%llu\n", (unsigned long long)t->intra_saved,
			(unsigned long long)(t->intra_saved * ps), (unsigned long long)t->intra_distinct,
			(unsigned long long)(t->intra_distinct * ps));
	}
	if (a->huge) {
		const struct dd_huge *h = a->huge;
		fprintf(f, "\nanalysis,huge_page_bytes,regions,regions_shareable,saved_4k_pages,identical_saved_pages,"
			   "split_for_50,split_for_90,split_for_100\n");
		fprintf(f, "huge,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", (unsigned long long)h->huge_bytes,
			(unsigned long long)h->regions, (unsigned long long)h->regions_shareable,
			(unsigned long long)h->saved_4k, (unsigned long long)h->identical_saved,
			(unsigned long long)h->split_for[0], (unsigned long long)h->split_for[1],
			(unsigned long long)h->split_for[2]);
	}
	if (a->pairs) {
		fprintf(f, "\nanalysis,a,b,common_contents,a_pages_in_common,b_pages_in_common,union_contents,jaccard,"
			   "saved_together_pages\n");
		for (size_t i = 0; i < a->npairs; i++) {
			const struct dd_pair *p = &a->pairs[i];
			fprintf(f, "pairs,");
			dd_csv_field(f, a->names[p->a]);
			fputc(',', f);
			dd_csv_field(f, a->names[p->b]);
			fprintf(f, ",%llu,%llu,%llu,%llu,%.6f,%llu\n", (unsigned long long)p->common,
				(unsigned long long)p->a_pages, (unsigned long long)p->b_pages,
				(unsigned long long)p->unioned, p->jaccard, (unsigned long long)p->saved_together);
		}
	}
	if (a->place) {
		const struct dd_placement *p = a->place;
		fprintf(f, "\nanalysis,strategy,dump,host,host_memory_bytes\n");
		for (int g = 0; g < 2; g++)
			for (size_t i = 0; i < a->nnames; i++) {
				size_t h = g ? p->naive_host[i] : p->greedy_host[i];
				fprintf(f, "placement,%s,", g ? "first_fit" : "greedy");
				dd_csv_field(f, a->names[i]);
				fprintf(f, ",%zu,%llu\n", h, (unsigned long long)(g ? p->naive_mem[h] : p->greedy_mem[h]));
			}
	}
	if (a->degree) {
		const struct dd_degree *d = a->degree;
		fprintf(f, "\nanalysis,copies_min,copies_max,contents,pages\n");
		for (size_t b = 0; b < d->nb; b++)
			if (d->b[b].contents)
				fprintf(f, "degree,%llu,%llu,%llu,%llu\n", (unsigned long long)d->b[b].lo,
					(unsigned long long)d->b[b].hi, (unsigned long long)d->b[b].contents,
					(unsigned long long)d->b[b].pages);
		fprintf(f, "\nanalysis,rank,key,copies,dumps,class\n");
		for (size_t i = 0; i < d->ntop; i++) {
			char k[2 * DD_KEY + 1];
			fprintf(f, "top,%zu,%s,%llu,%llu,%s\n", i + 1, top_key(k, &d->top[i]),
				(unsigned long long)d->top[i].copies, (unsigned long long)d->top[i].dumps,
				dd_class_name(d->top[i].cls));
		}
	}
}

/* ---- diff ---- */

void dd_diff_text(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps)
{
	uint64_t base = d->before_pages;
	fprintf(f, "Page changes from %s to %s (%u-byte pages, by guest frame):\n", a, b, ps);
	fprintf(f, "  unchanged  %12llu  %6.1f%%  (%llu of them zero)\n", (unsigned long long)d->unchanged,
		pct(d->unchanged, base), (unsigned long long)d->unchanged_zero);
	fprintf(f, "  changed    %12llu  %6.1f%%\n", (unsigned long long)d->changed, pct(d->changed, base));
	fprintf(f, "  gone       %12llu  %6.1f%%\n", (unsigned long long)d->gone, pct(d->gone, base));
	fprintf(f, "  new        %12llu\n", (unsigned long long)d->added);
	fprintf(f, "  pages before %llu, after %llu; %llu of %llu distinct non-zero contents after were there before\n",
		(unsigned long long)d->before_pages, (unsigned long long)d->after_pages,
		(unsigned long long)d->contents_kept, (unsigned long long)d->after_contents);
}

void dd_diff_json(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps)
{
	fprintf(f, "{\"before\": ");
	dd_json_string(f, a);
	fprintf(f, ", \"after\": ");
	dd_json_string(f, b);
	fprintf(f,
		", \"page_size\": %u, \"unchanged\": %llu, \"unchanged_zero\": %llu, \"changed\": %llu, "
		"\"gone\": %llu, \"new\": %llu, \"before_pages\": %llu, \"after_pages\": %llu, "
		"\"contents_kept\": %llu, \"after_contents\": %llu}\n",
		ps, (unsigned long long)d->unchanged, (unsigned long long)d->unchanged_zero,
		(unsigned long long)d->changed, (unsigned long long)d->gone, (unsigned long long)d->added,
		(unsigned long long)d->before_pages, (unsigned long long)d->after_pages,
		(unsigned long long)d->contents_kept, (unsigned long long)d->after_contents);
}

void dd_diff_csv(FILE *f, const struct dd_diff *d, const char *a, const char *b, uint32_t ps)
{
	fprintf(f, "before,after,page_size,unchanged,unchanged_zero,changed,gone,new,before_pages,after_pages,"
		   "contents_kept,after_contents\n");
	dd_csv_field(f, a);
	fputc(',', f);
	dd_csv_field(f, b);
	fprintf(f, ",%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", ps, (unsigned long long)d->unchanged,
		(unsigned long long)d->unchanged_zero, (unsigned long long)d->changed, (unsigned long long)d->gone,
		(unsigned long long)d->added, (unsigned long long)d->before_pages, (unsigned long long)d->after_pages,
		(unsigned long long)d->contents_kept, (unsigned long long)d->after_contents);
}
