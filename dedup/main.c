/* dedup-analyze: the theoretical page-sharing potential of guest memory dumps. */
#include <errno.h>
#include <getopt.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup.h"
#include "dumpparse.h"
#include "analysis.h"
#include "report.h"

#define PROG "dedup-analyze"
#define VERSION SAMEPAGE_VERSION /* from the file VERSION, through the Makefile */

enum out_mode { OUT_TEXT, OUT_JSON, OUT_CSV };

struct opts {
	unsigned jobs;
	enum dd_hash hash;
	enum out_mode out;
	bool info, quiet, progress, stats;
	struct dp_options dp;
	/* analyses */
	bool ksm, use_zero_pages, tps, pairs, degree, diff;
	uint32_t max_page_sharing;
	const char *salt_file, *save_fp;
	uint64_t huge, host_cap;
	size_t hosts, top;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]... DUMP...\n"
		"       " PROG " --info DUMP...\n"
		"Hash every page of guest memory dumps and report how much memory page sharing\n"
		"(KSM, TPS) could save: zero pages, distinct contents (minimum RAM), intra-VM and\n"
		"inter-VM sharing.  One DUMP per VM; '-' reads standard input; the files of a\n"
		"split kdump dump given together are read as one DUMP.\n"
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
		"      --vmem=FILE       VMware .vmss/.vmsn: the memory file (default: the .vmem beside it)\n"
		"      --page-size=N     page size to analyze (default: the dumps' own, else 4096)\n"
		"      --list-formats    the formats this build knows\n"
		"\n"
		"Analyses (docs/analyses.md; each adds a section to text, JSON and CSV output):\n"
		"      --ksm             what KSM would report at steady state for these guests\n"
		"      --max-page-sharing=N   KSM's max_page_sharing (default 256)\n"
		"      --use-zero-pages  KSM's use_zero_pages=1: zero pages go to ksm_zero_pages\n"
		"      --tps             TPS what-if: full inter-VM, salt groups, intra-VM only\n"
		"      --salt-groups=FILE  lines 'DUMP GROUP' (path or file name); implies --tps\n"
		"      --huge[=SIZE]     huge page what-if (default 2M): splits needed for the savings\n"
		"      --pairs           pairwise similarity of the dumps\n"
		"      --hosts=K[:SIZE]  sharing-aware placement on K hosts of SIZE memory each\n"
		"      --degree          copies-per-content histogram and most duplicated contents\n"
		"      --top=N           how many most duplicated contents (default 10; implies --degree)\n"
		"      --all             --ksm --tps --huge --pairs --degree\n"
		"      --save-fp=DIR     write a fingerprint DIR/NAME.fp of each dump; .fp files are\n"
		"                        accepted wherever dumps are\n"
		"      --diff A B        pages unchanged, changed, new and gone from A to B (two dumps\n"
		"                        or fingerprints of one VM)\n"
		"  -q, --quiet           no progress display on a terminal\n"
		"      --stats           resource use on stderr: time, MiB/s, content table bytes per\n"
		"                        distinct content, peak RSS\n"
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

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B')
		end++;
	if (errno || *end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
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
	if (in->nspaces) {
		fprintf(f, "  frames without a guest-physical address, counted in spaces of their own (%zu):\n",
			in->nspaces);
		for (size_t i = 0; i < in->nspaces; i++)
			fprintf(f, "    space %zu: %s\n", i + 1, in->spaces[i]);
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
	fprintf(f, "}, \"spaces\": [");
	for (size_t i = 0; i < in->nspaces; i++) {
		fprintf(f, "%s", i ? ", " : "");
		dd_json_string(f, in->spaces[i]);
	}
	fprintf(f, "], \"warnings\": [");
	for (size_t i = 0; i < in->nwarnings; i++) {
		fprintf(f, "%s", i ? ", " : "");
		dd_json_string(f, in->warnings[i]);
	}
	fprintf(f, "]}");
}

/* Salt groups: lines "DUMP GROUP"; DUMP is the path as given, its file
 * name, or another path to the same file.  Without a file every dump is its
 * own group. */
static int read_salt_groups(const char *file, const char *const *names, size_t n, size_t *group, size_t *ngroups)
{
	if (!file) {
		for (size_t i = 0; i < n; i++)
			group[i] = i;
		*ngroups = n;
		return 0;
	}
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, PROG ": %s: cannot open: %s\n", file, strerror(errno));
		return -1;
	}
	char line[4096], gname[1024][64];
	size_t ng = 0, lineno = 0;
	for (size_t i = 0; i < n; i++)
		group[i] = SIZE_MAX;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char d[2048], g[64];
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == 0)
			continue;
		if (sscanf(p, "%2047s %63s", d, g) != 2) {
			fprintf(stderr, PROG ": %s: line %zu: expected 'DUMP GROUP'\n", file, lineno);
			rc = -1;
			break;
		}
		size_t gi = 0;
		while (gi < ng && strcmp(gname[gi], g) != 0)
			gi++;
		if (gi == ng) {
			if (ng == 1024) {
				fprintf(stderr, PROG ": %s: more than 1024 groups\n", file);
				rc = -1;
				break;
			}
			snprintf(gname[ng++], sizeof gname[0], "%s", g);
		}
		char *rd = realpath(d, NULL);
		for (size_t i = 0; i < n; i++) {
			const char *bn = strrchr(names[i], '/') ? strrchr(names[i], '/') + 1 : names[i];
			char *rn = rd ? realpath(names[i], NULL) : NULL;
			if (strcmp(names[i], d) == 0 || strcmp(bn, d) == 0 || (rn && strcmp(rn, rd) == 0))
				group[i] = gi;
			free(rn);
		}
		free(rd);
	}
	fclose(f);
	for (size_t i = 0; i < n && !rc; i++)
		if (group[i] == SIZE_MAX) {
			fprintf(stderr, PROG ": %s: no salt group for %s\n", file, names[i]);
			rc = -1;
		}
	*ngroups = ng;
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_stats(const struct dd_engine *e, const struct dd_row *rows, size_t nrows, double t0)
{
	double secs = now_s() - t0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < nrows; i++)
		bytes += rows[i].st.bytes_read;
	const struct dd_table *t = dd_engine_table(e);
	uint64_t d = dd_table_size(t), tb = dd_table_bytes(t);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
		PROG ": stats: %zu dumps, %.1f MiB read in %.3f s (%.0f MiB/s); content table %llu bytes for "
		"%llu contents (%.1f bytes each); peak RSS %ld KiB\n",
		nrows, bytes / 1048576.0, secs, secs > 0 ? bytes / 1048576.0 / secs : 0, (unsigned long long)tb,
		(unsigned long long)d, d ? (double)tb / (double)d : 0.0, ru.ru_maxrss);
}

static void list_formats(void)
{
	for (size_t i = 0; i < dp_format_count(); i++)
		printf("%-20s %s%s\n", dp_format_name(i), dp_format_description(i),
		       dp_format_readable(i) ? "" : " [recognised, not supported yet]");
}

int main(int argc, char **argv)
{
	struct opts o = { .hash = DD_HASH_SHA1, .out = OUT_TEXT, .max_page_sharing = 256 };
	enum { O_HASH = 256, O_JSON, O_CSV, O_INFO, O_RAWBASE, O_PAGESIZE, O_LIST, O_VMEM, O_KSM, O_MPS,
	       O_UZP, O_TPS, O_SALT, O_HUGE, O_PAIRS, O_HOSTS, O_DEGREE, O_TOP, O_ALL, O_SAVEFP, O_DIFF, O_STATS };
	static const struct option lopts[] = {
		{ "jobs", required_argument, 0, 'j' },    { "hash", required_argument, 0, O_HASH },
		{ "json", no_argument, 0, O_JSON },        { "csv", no_argument, 0, O_CSV },
		{ "info", no_argument, 0, O_INFO },        { "format", required_argument, 0, 'f' },
		{ "raw-base", required_argument, 0, O_RAWBASE },
		{ "page-size", required_argument, 0, O_PAGESIZE },
		{ "list-formats", no_argument, 0, O_LIST }, { "quiet", no_argument, 0, 'q' },
		{ "vmem", required_argument, 0, O_VMEM },
		{ "ksm", no_argument, 0, O_KSM },          { "max-page-sharing", required_argument, 0, O_MPS },
		{ "use-zero-pages", no_argument, 0, O_UZP }, { "tps", no_argument, 0, O_TPS },
		{ "salt-groups", required_argument, 0, O_SALT }, { "huge", optional_argument, 0, O_HUGE },
		{ "pairs", no_argument, 0, O_PAIRS },      { "hosts", required_argument, 0, O_HOSTS },
		{ "degree", no_argument, 0, O_DEGREE },    { "top", required_argument, 0, O_TOP },
		{ "all", no_argument, 0, O_ALL },          { "save-fp", required_argument, 0, O_SAVEFP },
		{ "diff", no_argument, 0, O_DIFF },        { "stats", no_argument, 0, O_STATS },
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
		case O_VMEM: o.dp.vmem_path = optarg; break;
		case O_LIST: list_formats(); return 0;
		case O_KSM: o.ksm = true; break;
		case O_MPS:
			if (!parse_u64(optarg, &v) || v < 2 || v > UINT32_MAX)
				return usage_error("invalid max_page_sharing '%s' (2 or more)", optarg);
			o.max_page_sharing = (uint32_t)v;
			o.ksm = true;
			break;
		case O_UZP: o.use_zero_pages = o.ksm = true; break;
		case O_TPS: o.tps = true; break;
		case O_SALT: o.salt_file = optarg; o.tps = true; break;
		case O_HUGE:
			o.huge = 2u << 20;
			if (optarg && !parse_size(optarg, &o.huge))
				return usage_error("invalid huge page size '%s'", optarg);
			break;
		case O_PAIRS: o.pairs = true; break;
		case O_HOSTS: {
			char *colon = strchr(optarg, ':');
			if (colon)
				*colon = 0;
			if (!parse_u64(optarg, &v) || v == 0 || v > 100000 || (colon && !parse_size(colon + 1, &o.host_cap)))
				return usage_error("invalid --hosts '%s' (K or K:SIZE, e.g. 4:16G)", optarg);
			o.hosts = (size_t)v;
			break;
		}
		case O_DEGREE: o.degree = true; if (!o.top) o.top = 10; break;
		case O_TOP:
			if (!parse_u64(optarg, &v) || v > 1000000)
				return usage_error("invalid --top '%s'", optarg);
			o.top = (size_t)v;
			o.degree = true;
			break;
		case O_ALL:
			o.ksm = o.tps = o.pairs = o.degree = true;
			o.huge = 2u << 20;
			if (!o.top)
				o.top = 10;
			break;
		case O_SAVEFP: o.save_fp = optarg; break;
		case O_DIFF: o.diff = true; break;
		case O_STATS: o.stats = true; break;
		case 'q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " (samepage) " VERSION "\n"); return 0;
		default: fprintf(stderr, "Try '" PROG " --help' for more information.\n"); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no dump given");
	if (o.diff && argc - optind != 2)
		return usage_error("%s", "--diff takes exactly two dumps or fingerprints");
	if (o.save_fp) {
		struct stat st;
		if (stat(o.save_fp, &st) != 0 && mkdir(o.save_fp, 0777) != 0) {
			fprintf(stderr, PROG ": %s: cannot create: %s\n", o.save_fp, strerror(errno));
			return 1;
		}
	}
	if (!o.jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (unsigned)n : 1;
	}
	o.progress = !o.quiet && !o.info && isatty(2);

	size_t n = (size_t)(argc - optind);
	/* the parts of a split dump given together are read as one dump */
	o.dp.given = (const char *const *)(argv + optind);
	o.dp.ngiven = n;
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
	struct dd_fp *fps = calloc(n, sizeof *fps);
	bool *is_fp = calloc(n, sizeof *is_fp);
	if (!fps || !is_fp) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (o.info && o.out == OUT_JSON)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		const char *path = argv[optind + i];
		if (strcmp(path, "-") != 0 && dd_fp_probe(path)) {
			if (dd_fp_read(path, &fps[i], &err)) {
				FAIL(i, &err);
				continue;
			}
			is_fp[i] = true;
			if (o.info && o.out != OUT_JSON)
				printf("%s:\n  format:         samepage fingerprint of %s\n  page size:      %u\n"
				       "  present pages:  %llu\n  absent pages:   %llu\n  distinct:       %llu\n"
				       "  page map:       %s\n",
				       path, fps[i].path, fps[i].page_size, (unsigned long long)fps[i].pages,
				       (unsigned long long)fps[i].absent_pages, (unsigned long long)fps[i].ncontents,
				       fps[i].has_pages ? "yes" : "no");
			if (!page_size)
				page_size = fps[i].page_size;
			continue;
		}
		if (dp_open(path, &o.dp, &dumps[i], &err)) {
			if (err.status == DP_E_SPLIT_PART) {
				/* another file given here reads this one */
				if (!o.quiet)
					fprintf(stderr, PROG ": %s: %s\n", path, err.msg);
				continue;
			}
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
	size_t *group = NULL, ngroups = 0;
	if (o.info)
		goto done_info;
	if (!page_size)
		page_size = 4096;

	double t0 = now_s();
	struct dd_engine *e = dd_engine_new(o.jobs, o.hash, page_size);
	if (!e) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	unsigned collect = 0;
	if (o.tps || o.pairs || o.hosts || o.save_fp || o.diff)
		collect |= DD_COLLECT_IDS;
	if (o.huge || o.save_fp || o.diff)
		collect |= DD_COLLECT_PAGES;
	if (o.degree || o.save_fp)
		collect |= DD_COLLECT_CLASS;
	dd_engine_collect(e, collect);
	if (o.progress)
		dd_engine_set_progress(e, progress, NULL, n);
	const char **names = calloc(n, sizeof *names);
	if (!names) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!dumps[i] && !is_fp[i])
			continue;
		struct dd_row *r = &rows[nrows];
		r->path = argv[optind + i];
		int rc;
		if (is_fp[i]) {
			r->format = "fingerprint";
			rc = dd_engine_add_fp(e, &fps[i], &r->st, &err);
		} else {
			r->format = dp_get_info(dumps[i])->format;
			rc = dd_engine_add_dump(e, dumps[i], &r->st, &err);
		}
		if (o.progress)
			fprintf(stderr, "\r\033[K");
		if (rc) {
			FAIL(i, &err);
			continue;
		}
		names[nrows] = r->path;
		if (o.save_fp) {
			char out[4096];
			const char *bn = strrchr(r->path, '/') ? strrchr(r->path, '/') + 1 : r->path;
			if (strcmp(bn, "-") == 0)
				bn = "stdin";
			snprintf(out, sizeof out, "%s/%s.fp", o.save_fp, bn);
			/* two inputs with one file name: number the later ones */
			for (size_t k = 0; k < nrows; k++) {
				const char *ob = strrchr(rows[k].path, '/') ? strrchr(rows[k].path, '/') + 1 : rows[k].path;
				if (strcmp(ob, bn) == 0) {
					snprintf(out, sizeof out, "%s/%s.%zu.fp", o.save_fp, bn, nrows);
					break;
				}
			}
			if (dd_fp_write(e, nrows, out, &err)) {
				fprintf(stderr, PROG ": %s\n", err.msg);
				status = 1;
			}
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
	} else if (o.diff) {
		struct dd_diff df;
		if (nrows != 2 || dd_diff_compute(e, &df)) {
			fprintf(stderr, PROG ": --diff needs both inputs\n");
			status = 1;
		} else if (o.out == OUT_JSON)
			dd_diff_json(stdout, &df, names[0], names[1], page_size);
		else if (o.out == OUT_CSV)
			dd_diff_csv(stdout, &df, names[0], names[1], page_size);
		else
			dd_diff_text(stdout, &df, names[0], names[1], page_size);
	} else {
		struct dd_ksm ksm;
		struct dd_tps tps;
		struct dd_huge huge;
		struct dd_pair *pairs = NULL;
		size_t npairs = 0;
		struct dd_placement place;
		struct dd_degree degree;
		struct dd_analyses an = { .names = names, .nnames = nrows, .page_size = page_size };
		memset(&place, 0, sizeof place);
		memset(&degree, 0, sizeof degree);
		bool any = o.ksm || o.tps || o.huge || o.pairs || o.hosts || o.degree;
		if (o.ksm) {
			dd_ksm_predict(e, o.max_page_sharing, o.use_zero_pages, &ksm);
			an.ksm = &ksm;
		}
		if (o.tps) {
			group = calloc(nrows, sizeof *group);
			if (!group || read_salt_groups(o.salt_file, names, nrows, group, &ngroups) ||
			    dd_tps_compute(e, group, ngroups, &tps))
				status = 1;
			else
				an.tps = &tps;
		}
		if (o.huge) {
			if (dd_huge_compute(e, o.huge, &huge)) {
				fprintf(stderr, PROG ": --huge: size must be at least two pages\n");
				status = 1;
			} else
				an.huge = &huge;
		}
		if (o.pairs) {
			if (dd_pairs_compute(e, &pairs, &npairs))
				status = 1;
			else {
				an.pairs = pairs;
				an.npairs = npairs;
			}
		}
		if (o.hosts) {
			if (dd_place_compute(e, o.hosts, o.host_cap, &place))
				status = 1;
			else
				an.place = &place;
		}
		if (o.degree) {
			if (dd_degree_compute(e, o.top, &degree))
				status = 1;
			else
				an.degree = &degree;
		}
		struct dd_report rep = { dd_hash_name(o.hash), &t, rows, nrows, failed, nfailed };
		if (o.out == OUT_JSON)
			dd_report_json(stdout, &rep, any ? &an : NULL);
		else if (o.out == OUT_CSV) {
			dd_report_csv(stdout, &rep);
			if (any)
				dd_analyses_csv(stdout, &an);
		} else {
			dd_report_text(stdout, &rep);
			if (any)
				dd_analyses_text(stdout, &an);
		}
		free(pairs);
		dd_place_free(&place);
		dd_degree_free(&degree);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the report: %s\n", strerror(errno));
		status = 1;
	}
	if (o.stats)
		print_stats(e, rows, nrows, t0);
	dd_engine_free(e);
	free(names);
done_info:
	if (o.info && o.out == OUT_JSON)
		printf("\n]\n");
	free(group);
	for (size_t i = 0; i < n; i++) {
		dp_close(dumps[i]);
		dd_fp_free(&fps[i]);
	}
	free(fps);
	free(is_fp);
	free(dumps);
	free(rows);
	free(failed);
	free(msgs);
	return status;
}
