/* dedup-analyze: the theoretical page-sharing potential of guest memory dumps. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup.h"
#include "dumpparse.h"
#include "report.h"

#define PROG "dedup-analyze"
#define VERSION "0.1"

enum out_mode { OUT_TEXT, OUT_JSON, OUT_CSV };

struct opts {
	unsigned jobs;
	enum dd_hash hash;
	enum out_mode out;
	bool info, quiet, progress;
	struct dp_options dp;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]... DUMP...\n"
		"       " PROG " --info DUMP...\n"
		"Hash every page of guest memory dumps and report how much memory page sharing\n"
		"(KSM, TPS) could save: zero pages, distinct contents (minimum RAM), intra-VM and\n"
		"inter-VM sharing.  One DUMP per VM; '-' reads standard input.\n"
		"\n"
		"  -j, --jobs=N          worker threads (default: all online CPUs)\n"
		"      --hash=NAME       sha1 (default, OpenSSL) or xxh128 (libxxhash)\n"
		"      --json            one JSON object (field names are stable, see docs)\n"
		"      --csv             CSV: one row per dump and a TOTAL row\n"
		"      --info            describe each dump (format, page size, ranges, present and\n"
		"                        absent pages) without hashing\n"
		"  -f, --format=NAME     read every DUMP as this format instead of detecting it\n"
		"                        (raw images need it unless named .raw .vmem .mem .pmem)\n"
		"      --raw-base=ADDR   guest-physical address of byte 0 of a raw image (default 0)\n"
		"      --page-size=N     page size to analyze (default: the dumps' own, else 4096)\n"
		"      --list-formats    the formats this build knows\n"
		"  -q, --quiet           no progress display on a terminal\n"
		"  -h, --help            this text\n"
		"  -V, --version         version\n"
		"\n"
		"Exit status: 0 all dumps analyzed; 1 a dump could not be read (the others are\n"
		"still analyzed and reported) or another runtime failure; 2 bad usage.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-' || *s == 0)
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static void progress(const struct dd_progress *p, void *arg)
{
	(void)arg;
	double rate = p->elapsed > 0 ? (double)p->done_bytes / p->elapsed : 0;
	double eta = rate > 0 && p->total_bytes > p->done_bytes ? (double)(p->total_bytes - p->done_bytes) / rate : 0;
	const char *name = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
	fprintf(stderr, "\r\033[K[%zu/%zu] %.30s: %.0f/%.0f MiB  %.0f MiB/s  %.0f pages/s  ETA %.0f s",
		p->dump_index + 1, p->ndumps, name, p->done_bytes / 1048576.0, p->total_bytes / 1048576.0,
		rate / 1048576.0, rate / 4096.0, eta);
	fflush(stderr);
}

static const char *state_name(enum dp_page_state s)
{
	return s == DP_PAGE_DATA ? "data" : s == DP_PAGE_ZERO ? "zero" : "absent";
}

static void print_info(FILE *f, const char *path, const struct dp_info *in)
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
		fprintf(f, "  absent pages:   %" PRIu64 "\n", in->absent_pages);
		if (in->partial_pages)
			fprintf(f, "  partial pages:  %" PRIu64 " (only partly stored; the rest reads as zero)\n",
				in->partial_pages);
	}
	for (size_t i = 0; i < in->ndetails; i++)
		fprintf(f, "  %s: %*s%s\n", in->details[i].key,
			(int)(strlen(in->details[i].key) < 14 ? 14 - strlen(in->details[i].key) : 0), "",
			in->details[i].value);
	if (in->nranges) {
		fprintf(f, "  ranges (%zu):\n", in->nranges);
		for (size_t i = 0; i < in->nranges; i++) {
			const struct dp_range *r = &in->ranges[i];
			uint64_t a = r->pfn * in->page_size, b = (r->pfn + r->npages) * in->page_size - 1;
			fprintf(f, "    0x%012" PRIx64 "-0x%012" PRIx64 " %10" PRIu64 " pages  %-6s", a, b,
				r->npages, state_name(r->state));
			if (r->file_offset != UINT64_MAX)
				fprintf(f, "  at offset %" PRIu64, r->file_offset);
			fprintf(f, "\n");
		}
	}
	for (size_t i = 0; i < in->nwarnings; i++)
		fprintf(f, "  warning: %s\n", in->warnings[i]);
}

static void print_info_json(FILE *f, const char *path, const struct dp_info *in, bool first)
{
	fprintf(f, "%s\n  {\"path\": ", first ? "" : ",");
	dd_json_string(f, path);
	fprintf(f, ", \"format\": ");
	dd_json_string(f, in->format);
	fprintf(f, ", \"variant\": ");
	dd_json_string(f, in->variant);
	fprintf(f, ", \"compression\": ");
	if (in->compression)
		dd_json_string(f, in->compression);
	else
		fprintf(f, "null");
	fprintf(f,
		", \"file_size\": %" PRIu64 ", \"page_size\": %u, \"native_page_size\": %u, "
		"\"pages\": %" PRIu64 ", \"absent_pages\": %" PRIu64 ", \"partial_pages\": %" PRIu64
		", \"ranges\": [",
		in->file_size, in->page_size, in->native_page_size, in->pages, in->absent_pages,
		in->partial_pages);
	for (size_t i = 0; i < in->nranges; i++) {
		const struct dp_range *r = &in->ranges[i];
		fprintf(f, "%s{\"start\": %" PRIu64 ", \"pages\": %" PRIu64 ", \"state\": \"%s\"", i ? ", " : "",
			r->pfn * in->page_size, r->npages, state_name(r->state));
		if (r->file_offset != UINT64_MAX)
			fprintf(f, ", \"offset\": %" PRIu64, r->file_offset);
		fprintf(f, "}");
	}
	fprintf(f, "], \"details\": {");
	for (size_t i = 0; i < in->ndetails; i++) {
		fprintf(f, "%s", i ? ", " : "");
		dd_json_string(f, in->details[i].key);
		fprintf(f, ": ");
		dd_json_string(f, in->details[i].value);
	}
	fprintf(f, "}, \"warnings\": [");
	for (size_t i = 0; i < in->nwarnings; i++) {
		fprintf(f, "%s", i ? ", " : "");
		dd_json_string(f, in->warnings[i]);
	}
	fprintf(f, "]}");
}

static void list_formats(void)
{
	for (size_t i = 0; i < dp_format_count(); i++)
		printf("%-20s %s%s\n", dp_format_name(i), dp_format_description(i),
		       dp_format_readable(i) ? "" : " [recognised, not supported yet]");
}

int main(int argc, char **argv)
{
	struct opts o = { .hash = DD_HASH_SHA1, .out = OUT_TEXT };
	enum { O_HASH = 256, O_JSON, O_CSV, O_INFO, O_RAWBASE, O_PAGESIZE, O_LIST };
	static const struct option lopts[] = {
		{ "jobs", required_argument, 0, 'j' },    { "hash", required_argument, 0, O_HASH },
		{ "json", no_argument, 0, O_JSON },        { "csv", no_argument, 0, O_CSV },
		{ "info", no_argument, 0, O_INFO },        { "format", required_argument, 0, 'f' },
		{ "raw-base", required_argument, 0, O_RAWBASE },
		{ "page-size", required_argument, 0, O_PAGESIZE },
		{ "list-formats", no_argument, 0, O_LIST }, { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },           { "version", no_argument, 0, 'V' },
		{ 0, 0, 0, 0 },
	};
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "j:f:qhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!parse_u64(optarg, &v) || v == 0 || v > 1024)
				return usage_error("invalid number of jobs '%s' (1..1024)", optarg);
			o.jobs = (unsigned)v;
			break;
		case O_HASH:
			if (dd_hash_parse(optarg, &o.hash))
				return usage_error("unknown hash '%s' (sha1 or xxh128)", optarg);
			break;
		case O_JSON: o.out = OUT_JSON; break;
		case O_CSV: o.out = OUT_CSV; break;
		case O_INFO: o.info = true; break;
		case 'f': {
			bool known = false;
			for (size_t i = 0; i < dp_format_count(); i++)
				known |= strcmp(dp_format_name(i), optarg) == 0;
			if (!known)
				return usage_error("unknown format '%s' (see --list-formats)", optarg);
			o.dp.format = optarg;
			break;
		}
		case O_RAWBASE:
			if (!parse_u64(optarg, &v))
				return usage_error("invalid raw base address '%s'", optarg);
			o.dp.raw_base = v;
			break;
		case O_PAGESIZE:
			if (!parse_u64(optarg, &v) || v < 512 || v > (1u << 24) || (v & (v - 1)))
				return usage_error("invalid page size '%s' (a power of two, 512..16M)", optarg);
			o.dp.page_size = (uint32_t)v;
			break;
		case O_LIST: list_formats(); return 0;
		case 'q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " (samepage) " VERSION "\n"); return 0;
		default: fprintf(stderr, "Try '" PROG " --help' for more information.\n"); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no dump given");
	if (!o.jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (unsigned)n : 1;
	}
	o.progress = !o.quiet && !o.info && isatty(2);

	size_t n = (size_t)(argc - optind);
	struct dp_dump **dumps = calloc(n, sizeof *dumps);
	struct dd_row *rows = calloc(n, sizeof *rows);
	struct dd_failed *failed = calloc(n, sizeof *failed);
	char (*msgs)[700] = calloc(n, sizeof *msgs);
	if (!dumps || !rows || !failed || !msgs) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	size_t nfailed = 0, nrows = 0;
	int status = 0;
	struct dp_error err;

#define FAIL(i, e)                                                                                 \
	do {                                                                                       \
		dp_error_text((e), argv[optind + (i)], msgs[nfailed], sizeof msgs[0]);             \
		fprintf(stderr, PROG ": %s\n", msgs[nfailed]);                                     \
		failed[nfailed].path = argv[optind + (i)];                                         \
		failed[nfailed].error = msgs[nfailed];                                             \
		nfailed++;                                                                         \
		status = 1;                                                                        \
	} while (0)

	uint32_t page_size = o.dp.page_size;
	bool first_json = true;
	if (o.info && o.out == OUT_JSON)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		const char *path = argv[optind + i];
		if (dp_open(path, &o.dp, &dumps[i], &err)) {
			FAIL(i, &err);
			continue;
		}
		const struct dp_info *in = dp_get_info(dumps[i]);
		if (o.info) {
			if (o.out == OUT_JSON)
				print_info_json(stdout, path, in, first_json);
			else
				print_info(stdout, path, in);
			first_json = false;
			continue;
		}
		for (size_t k = 0; k < in->nwarnings; k++)
			fprintf(stderr, PROG ": %s: warning: %s\n", path, in->warnings[k]);
		if (!page_size)
			page_size = in->page_size;
	}
	if (o.info) {
		if (o.out == OUT_JSON)
			printf("\n]\n");
		for (size_t i = 0; i < n; i++)
			dp_close(dumps[i]);
		free(dumps);
		free(rows);
		free(failed);
		free(msgs);
		return status;
	}
	if (!page_size)
		page_size = 4096;

	struct dd_engine *e = dd_engine_new(o.jobs, o.hash, page_size);
	if (!e) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (o.progress)
		dd_engine_set_progress(e, progress, NULL, n);
	for (size_t i = 0; i < n; i++) {
		if (!dumps[i])
			continue;
		struct dd_row *r = &rows[nrows];
		r->path = argv[optind + i];
		r->format = dp_get_info(dumps[i])->format;
		int rc = dd_engine_add_dump(e, dumps[i], &r->st, &err);
		if (o.progress)
			fprintf(stderr, "\r\033[K");
		if (rc) {
			FAIL(i, &err);
			continue;
		}
		nrows++;
	}

	struct dd_totals t;
	char why[256];
	if (dd_engine_totals(e, &t, why, sizeof why)) {
		fprintf(stderr, PROG ": internal error, results withheld: %s\n", why);
		status = 1;
	} else if (nrows == 0) {
		status = 1; /* each failure was reported above */
	} else {
		struct dd_report rep = { dd_hash_name(o.hash), &t, rows, nrows, failed, nfailed };
		if (o.out == OUT_JSON)
			dd_report_json(stdout, &rep);
		else if (o.out == OUT_CSV)
			dd_report_csv(stdout, &rep);
		else
			dd_report_text(stdout, &rep);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, PROG ": writing the report: %s\n", strerror(errno));
			status = 1;
		}
	}
	dd_engine_free(e);
	for (size_t i = 0; i < n; i++)
		dp_close(dumps[i]);
	free(dumps);
	free(rows);
	free(failed);
	free(msgs);
	return status;
}
