/* --info: what each input is, without hashing (text or a JSON array). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"

static const char *state_name(enum dp_page_state s)
{
	return s == DP_PAGE_DATA ? "data" : s == DP_PAGE_ZERO ? "zero" : "absent";
}

static void text_ranges(FILE *f, const struct dp_info *in)
{
	fprintf(f, "  ranges (%zu):\n", in->nranges);
	for (size_t i = 0; i < in->nranges; i++) {
		const struct dp_range *r = &in->ranges[i];
		uint64_t a = r->pfn * in->page_size, b = (r->pfn + r->npages) * in->page_size - 1;
		fprintf(f, "    0x%012" PRIx64 "-0x%012" PRIx64 " %10" PRIu64 " pages  ", a, b, r->npages);
		/* state, kind (where the dump tells), offset; no trailing blanks */
		bool off = r->file_offset != UINT64_MAX;
		fprintf(f, in->kind_rule || off ? "%-6s" : "%s", state_name(r->state));
		if (in->kind_rule)
			fprintf(f, off ? "  %-6s" : "  %s", dp_mem_kind_name(r->kind));
		if (off)
			fprintf(f, "  at offset %" PRIu64, r->file_offset);
		fprintf(f, "\n");
	}
}

static void text_dump(FILE *f, const char *path, const struct dp_info *in)
{
	fprintf(f, "%s:\n", path);
	fprintf(f, "  format:         %s\n", in->format);
	fprintf(f, "  variant:        %s\n", in->variant);
	if (in->compression)
		fprintf(f, "  compression:    %s (whole file, read as a stream)\n", in->compression);
	if (in->file_size)
		fprintf(f, "  file size:      %" PRIu64 " bytes\n", in->file_size);
	fprintf(f, "  page size:      %u", in->page_size);
	if (in->native_page_size)
		fprintf(f, " (the dump records %u)", in->native_page_size);
	fprintf(f, "\n");
	if (in->sequential && !in->nranges) {
		fprintf(f, "  pages:          counted while reading (stream of unknown length)\n");
	} else {
		fprintf(f, "  present pages:  %" PRIu64 " (%.1f MiB)\n", in->pages,
			(double)in->pages * in->page_size / 1048576.0);
		if (in->kind_rule)
			fprintf(f, "  guest RAM:      %" PRIu64 " pages (%.1f MiB)\n  device memory:  %" PRIu64
				" pages (%.1f MiB: video RAM, BIOS, ROMs, firmware tables)\n",
				in->pages - in->device_pages, (double)(in->pages - in->device_pages) * in->page_size / 1048576.0,
				in->device_pages, (double)in->device_pages * in->page_size / 1048576.0);
		fprintf(f, "  absent pages:   %" PRIu64 "\n", in->absent_pages);
		if (in->partial_pages)
			fprintf(f, "  partial pages:  %" PRIu64 " (only partly stored; the rest reads as zero)\n",
				in->partial_pages);
	}
	if (in->kind_rule)
		fprintf(f, "  memory kinds:   %s\n", in->kind_rule);
	for (size_t i = 0; i < in->ndetails; i++)
		fprintf(f, "  %s: %*s%s\n", in->details[i].key,
			(int)(strlen(in->details[i].key) < 14 ? 14 - strlen(in->details[i].key) : 0), "",
			in->details[i].value);
	if (in->nranges)
		text_ranges(f, in);
	if (in->nspaces) {
		fprintf(f, "  frames without a guest-physical address, counted in spaces of their own (%zu):\n",
			in->nspaces);
		for (size_t i = 0; i < in->nspaces; i++)
			fprintf(f, "    space %zu: %s%s\n", i + 1, in->spaces[i],
				dp_frame_kind(in, (uint32_t)(i + 1), 0, NULL) == DP_MEM_DEVICE ? " (device memory)" : "");
	}
	for (size_t i = 0; i < in->nwarnings; i++)
		fprintf(f, "  warning: %s\n", in->warnings[i]);
}

static void text_fp(FILE *f, const char *path, const struct dd_fp *fp)
{
	fprintf(f,
		"%s:\n  format:         samepage fingerprint of %s\n  page size:      %u\n"
		"  present pages:  %llu\n  absent pages:   %llu\n  distinct:       %llu\n"
		"  page map:       %s\n",
		path, fp->path, fp->page_size, (unsigned long long)fp->pages, (unsigned long long)fp->absent_pages,
		(unsigned long long)fp->ncontents, fp->has_pages ? "yes" : "no");
}

/* ", " before every item but the first, then the string */
static void json_list_item(FILE *f, size_t i, const char *s)
{
	fprintf(f, "%s", i ? ", " : "");
	cm_json_string(f, s);
}

static void json_dump(FILE *f, const char *path, const struct dp_info *in, bool first)
{
	fprintf(f, "%s\n  {", first ? "" : ",");
	cm_json_path(f, "path", path);
	fprintf(f, ", \"format\": ");
	cm_json_string(f, in->format);
	fprintf(f, ", \"variant\": ");
	cm_json_string(f, in->variant);
	fprintf(f, ", \"compression\": ");
	if (in->compression)
		cm_json_string(f, in->compression);
	else
		fprintf(f, "null");
	fprintf(f,
		", \"file_size\": %" PRIu64 ", \"page_size\": %u, \"native_page_size\": %u, "
		"\"pages\": %" PRIu64 ", \"absent_pages\": %" PRIu64 ", \"partial_pages\": %" PRIu64
		", \"ranges\": [",
		in->file_size, in->page_size, in->native_page_size, in->pages, in->absent_pages, in->partial_pages);
	for (size_t i = 0; i < in->nranges; i++) {
		const struct dp_range *r = &in->ranges[i];
		fprintf(f, "%s{\"start\": %" PRIu64 ", \"pages\": %" PRIu64 ", \"state\": \"%s\", \"kind\": \"%s\"",
			i ? ", " : "", r->pfn * in->page_size, r->npages, state_name(r->state),
			dp_mem_kind_name(r->kind));
		if (r->file_offset != UINT64_MAX)
			fprintf(f, ", \"offset\": %" PRIu64, r->file_offset);
		fprintf(f, "}");
	}
	fprintf(f, "], \"details\": {");
	for (size_t i = 0; i < in->ndetails; i++) {
		json_list_item(f, i, in->details[i].key);
		fprintf(f, ": ");
		cm_json_string(f, in->details[i].value);
	}
	fprintf(f, "}, \"spaces\": [");
	for (size_t i = 0; i < in->nspaces; i++)
		json_list_item(f, i, in->spaces[i]);
	fprintf(f, "], \"space_kinds\": [");
	for (size_t i = 0; i < in->nspaces; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", dp_mem_kind_name(dp_frame_kind(in, (uint32_t)(i + 1), 0, NULL)));
	fprintf(f, "], \"ram_pages\": %" PRIu64 ", \"device_pages\": %" PRIu64 ", \"memory_kinds\": ",
		in->pages - in->device_pages, in->device_pages);
	if (in->kind_rule)
		cm_json_string(f, in->kind_rule);
	else
		fprintf(f, "null");
	fprintf(f, ", \"warnings\": [");
	for (size_t i = 0; i < in->nwarnings; i++)
		json_list_item(f, i, in->warnings[i]);
	fprintf(f, "]}");
}

int cli_info(struct cli_inputs *s, const struct cli_opts *o)
{
	bool first = true;
	if (o->out == CLI_JSON)
		printf("[");
	for (size_t i = 0; i < s->n; i++) {
		enum cli_kind k = cli_input_open(s, i, o);
		const char *path = s->in[i].path;
		/* the JSON array describes dumps only */
		if (k == CLI_IN_FP && o->out != CLI_JSON)
			text_fp(stdout, path, &s->in[i].fp);
		if (k != CLI_IN_DUMP)
			continue;
		if (o->out == CLI_JSON)
			json_dump(stdout, path, dp_get_info(s->in[i].dump), first);
		else
			text_dump(stdout, path, dp_get_info(s->in[i].dump));
		first = false;
	}
	if (o->out == CLI_JSON)
		printf("\n]\n");
	else {
		char hb[80];
		printf("hash back end: %s\n", dd_hash_describe(o->hash, o->sha1, hb, sizeof hb));
	}
	return s->nfailed ? 1 : 0;
}
