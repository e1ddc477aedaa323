/* Command line of dedup-analyze: its own options and those of every
 * analysis in the table (dedup/analysis.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

enum {
	O_HASH = 256, O_JSON, O_CSV, O_INFO, O_RAWBASE, O_PAGESIZE, O_LIST, O_VMEM, O_ALL, O_SAVEFP, O_STATS, O_SHA1,
	O_RAMONLY, O_ZLIB, O_DIRECT,
	O_ANALYSIS = 1024 /* + row * AN_OPTS + option of the row */
};
#define AN_OPTS 32

static const struct option fixed_opts[] = {
	{ "jobs", required_argument, 0, 'j' },    { "hash", required_argument, 0, O_HASH },
	{ "json", no_argument, 0, O_JSON },        { "csv", no_argument, 0, O_CSV },
	{ "info", no_argument, 0, O_INFO },        { "format", required_argument, 0, 'f' },
	{ "raw-base", required_argument, 0, O_RAWBASE },
	{ "page-size", required_argument, 0, O_PAGESIZE },
	{ "list-formats", no_argument, 0, O_LIST }, { "quiet", no_argument, 0, 'q' },
	{ "vmem", required_argument, 0, O_VMEM },  { "all", no_argument, 0, O_ALL },
	{ "save-fp", required_argument, 0, O_SAVEFP }, { "stats", no_argument, 0, O_STATS },
	{ "sha1-backend", required_argument, 0, O_SHA1 },
	{ "ram-only", no_argument, 0, O_RAMONLY }, { "zlib-pages", required_argument, 0, O_ZLIB },
	{ "direct", required_argument, 0, O_DIRECT },
	{ "help", no_argument, 0, 'h' },           { "version", no_argument, 0, 'V' },
};
#define NFIXED (sizeof fixed_opts / sizeof fixed_opts[0])

static void usage_analyses(FILE *f)
{
	fprintf(f, "Analyses (docs/analyses.md; each adds a section to text, JSON and CSV output):\n");
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (!(dd_analyses[a]->flags & DD_AN_ALONE))
			fputs(dd_analyses[a]->help, f);
	fprintf(f, "      --all            ");
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (dd_analyses[a]->flags & DD_AN_IN_ALL)
			fprintf(f, " --%s", dd_analyses[a]->opts[0].name);
	fprintf(f, "\n"
		   "      --save-fp=DIR     write a fingerprint DIR/NAME.fp of each dump; .fp files are\n"
		   "                        accepted wherever dumps are\n");
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (dd_analyses[a]->flags & DD_AN_ALONE)
			fputs(dd_analyses[a]->help, f);
}

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
		"      --hash=NAME       sha1 (default; libipsec-mb or OpenSSL) or xxh128 (libxxhash)\n"
		"      --json            one JSON object (field names are stable, see docs)\n"
		"      --csv             CSV: one row per dump and a TOTAL row\n"
		"      --info            describe each dump (format, page size, ranges, present and\n"
		"                        absent pages) without hashing\n"
		"  -f, --format=NAME     read every DUMP as this format instead of detecting it\n"
		"                        (raw images need it unless named .raw .vmem .mem .pmem)\n"
		"      --raw-base=ADDR   guest-physical address of byte 0 of a raw image (default 0)\n"
		"      --vmem=FILE       VMware .vmss/.vmsn: the memory file (default: the .vmem beside it)\n"
		"      --page-size=N     page size to analyze (default: the dumps' own, else 4096)\n"
		"      --ram-only        leave device and firmware memory (video RAM, BIOS and option\n"
		"                        ROMs, firmware tables) out of every count, where the dump\n"
		"                        tells it apart (QEMU ELF x86 cores, migration streams,\n"
		"                        libvirt save images); default: counted, and shown apart\n"
		"      --list-formats    the formats this build knows\n"
		"\n");
	usage_analyses(f);
	fprintf(f,
		"  -q, --quiet           no progress display on a terminal\n"
		"      --stats           resource use on stderr: time, MiB/s, content table bytes per\n"
		"                        distinct content, peak RSS, hash back end\n"
		"      --sha1-backend=B  auto (default: the fastest here), openssl, ipsec-mb,\n"
		"                        ipsec-mb-avx512, ipsec-mb-avx2 or ipsec-mb-sse; the\n"
		"                        environment variable " DD_SHA1_ENV " does the same\n"
		"      --zlib-pages=D    decoder of zlib-compressed kdump pages: libdeflate (default,\n"
		"                        the faster) or zlib; the same result, for comparisons\n"
		"      --direct=W        read page data around the page cache (O_DIRECT): auto\n"
		"                        (default: for files of 16 MiB or more that are mostly\n"
		"                        not cached, and then only their uncached units),\n"
		"                        always (every unit) or never; the same result\n"
		"  -h, --help            this text\n"
		"  -V, --version         version\n"
		"\n"
		"Options that contradict each other are refused: --json with --csv; --info\n"
		"with --csv, --save-fp, --stats or an analysis; --diff with another analysis.\n"
		"Exit status: 0 all dumps analyzed; 1 a dump could not be read or a fingerprint\n"
		"not written (the others are still analyzed and reported) or another runtime\n"
		"failure; 2 bad usage.\n");
}

static void list_formats(void)
{
	for (size_t i = 0; i < dp_format_count(); i++)
		printf("%-20s %s%s\n", dp_format_name(i), dp_format_description(i),
		       dp_format_readable(i) ? "" : " [recognised, not supported yet]");
}

/* getopt_long's table: our options, then every analysis option */
static struct option *long_options(void)
{
	size_t n = NFIXED;
	for (size_t a = 0; a < dd_nanalyses; a++)
		for (const struct dd_an_option *p = dd_analyses[a]->opts; p->name; p++)
			n++;
	struct option *lo = calloc(n + 1, sizeof *lo);
	if (!lo)
		return NULL;
	memcpy(lo, fixed_opts, sizeof fixed_opts);
	n = NFIXED;
	for (size_t a = 0; a < dd_nanalyses; a++)
		for (size_t k = 0; dd_analyses[a]->opts[k].name; k++) {
			static const int has[] = { no_argument, required_argument, optional_argument };
			lo[n].name = dd_analyses[a]->opts[k].name;
			lo[n].has_arg = has[dd_analyses[a]->opts[k].arg];
			lo[n].val = O_ANALYSIS + (int)(a * AN_OPTS + k);
			n++;
		}
	return lo;
}

/* Option k of analysis a: turn it on and let it read its argument.  -1
 * done, else the exit status. */
static int analysis_option(struct cli_opts *o, size_t a, size_t k, const char *arg)
{
	const struct dd_analysis *an = dd_analyses[a];
	if (!o->an[a] && !(o->an[a] = calloc(1, an->size ? an->size : 1))) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (!o->an_given[a])
		o->an_given[a] = an->opts[k].name;
	const char *bad = an->option ? an->option(o->an[a], k, arg) : NULL;
	return bad ? cm_usage_error(PROG, bad, arg) : -1;
}

/* One of our own options; -1 done, else the exit status. */
static int own_option(struct cli_opts *o, int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case 'j':
		if (!cm_parse_u64(arg, &v) || v == 0 || v > 1024)
			return cm_usage_error(PROG, "invalid number of jobs '%s' (1..1024)", arg);
		o->jobs = (unsigned)v;
		break;
	case O_HASH:
		if (dd_hash_parse(arg, &o->hash))
			return cm_usage_error(PROG, "unknown hash '%s' (sha1 or xxh128)", arg);
		break;
	case O_SHA1:
		if (dd_sha1_impl_parse(arg, &o->sha1))
			return cm_usage_error(PROG, "unknown SHA1 back end '%s' (auto, openssl, ipsec-mb, "
					      "ipsec-mb-avx512, ipsec-mb-avx2, ipsec-mb-sse)", arg);
		break;
	case O_JSON: o->out = CLI_JSON; o->json = true; break;
	case O_CSV: o->out = CLI_CSV; o->csv = true; break;
	case O_INFO: o->info = true; break;
	case 'f': {
		bool known = false;
		for (size_t i = 0; i < dp_format_count(); i++)
			known |= strcmp(dp_format_name(i), arg) == 0;
		if (!known)
			return cm_usage_error(PROG, "unknown format '%s' (see --list-formats)", arg);
		o->dp.format = arg;
		break;
	}
	case O_RAWBASE:
		if (!cm_parse_u64(arg, &v))
			return cm_usage_error(PROG, "invalid raw base address '%s'", arg);
		o->dp.raw_base = v;
		break;
	case O_PAGESIZE:
		if (!cm_parse_u64(arg, &v) || v < 512 || v > (1u << 24) || (v & (v - 1)))
			return cm_usage_error(PROG, "invalid page size '%s' (a power of two, 512..16M)", arg);
		o->dp.page_size = (uint32_t)v;
		break;
	case O_VMEM: o->dp.vmem_path = arg; break;
	case O_LIST: list_formats(); return 0;
	case O_ALL:
		for (size_t a = 0; a < dd_nanalyses; a++) {
			int rc = dd_analyses[a]->flags & DD_AN_IN_ALL ? analysis_option(o, a, 0, NULL) : -1;
			if (rc >= 0)
				return rc;
			if (dd_analyses[a]->flags & DD_AN_IN_ALL)
				o->an_given[a] = "all";
		}
		break;
	case O_SAVEFP: o->save_fp = arg; break;
	case O_STATS: o->stats = true; break;
	case O_RAMONLY: o->ram_only = true; break;
	case O_ZLIB:
		if (strcmp(arg, "libdeflate") && strcmp(arg, "zlib"))
			return cm_usage_error(PROG, "unknown zlib page decoder '%s' (libdeflate or zlib)", arg);
		o->dp.zlib_inflate = strcmp(arg, "zlib") == 0;
		break;
	case O_DIRECT:
		if (!strcmp(arg, "auto"))
			o->dp.direct = DP_DIRECT_AUTO;
		else if (!strcmp(arg, "always"))
			o->dp.direct = DP_DIRECT_ALWAYS;
		else if (!strcmp(arg, "never"))
			o->dp.direct = DP_DIRECT_NEVER;
		else
			return cm_usage_error(PROG, "unknown --direct mode '%s' (auto, always or never)", arg);
		break;
	case 'q': o->quiet = true; break;
	case 'h': usage(stdout); return 0;
	case 'V': printf(PROG " (samepage) " VERSION "\n"); return 0;
	default: fprintf(stderr, "Try '" PROG " --help' for more information.\n"); return 2;
	}
	return -1;
}

/* The first analysis asked for other than `not` (dd_nanalyses: none). */
static size_t other_analysis(const struct cli_opts *o, size_t not)
{
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && a != not)
			return a;
	return dd_nanalyses;
}

/* Options that contradict each other: the reason, or NULL. */
static const char *conflict(const struct cli_opts *o, char *msg, size_t len)
{
	if (o->json && o->csv)
		return "--json and --csv ask for two output formats; give one";
	size_t alone = dd_nanalyses, other;
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && (dd_analyses[a]->flags & DD_AN_ALONE))
			alone = a;
	if (o->info) {
		if (o->csv)
			return "--info has no CSV output (text, or --json)";
		if (o->save_fp)
			return "--info hashes nothing, so --save-fp would have nothing to write";
		if (o->stats)
			return "--stats reports on hashing, and --info hashes nothing";
		if ((other = other_analysis(o, dd_nanalyses)) < dd_nanalyses) {
			snprintf(msg, len, "--info describes dumps without hashing them; --%s needs their pages hashed",
				 o->an_given[other]);
			return msg;
		}
	} else if (alone < dd_nanalyses && (other = other_analysis(o, alone)) < dd_nanalyses) {
		snprintf(msg, len, "--%s prints its own report, without the table or other analyses; --%s cannot go with it",
			 o->an_given[alone], o->an_given[other]);
		return msg;
	}
	return NULL;
}

int cli_check_page_size(const struct cli_opts *o, uint32_t page_size)
{
	char msg[256];
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && dd_analyses[a]->check && dd_analyses[a]->check(o->an[a], page_size, msg, sizeof msg))
			return cm_usage_error(PROG, "%s", msg);
	return -1;
}

/* What the options ask of the inputs and the output folder; -1 or the
 * exit status. */
static int check(struct cli_opts *o)
{
	char why[256];
	const char *bad = conflict(o, why, sizeof why);
	if (bad)
		return cm_usage_error(PROG, "%s", bad);
	if (o->n == 0)
		return cm_usage_error(PROG, "%s", "no dump given");
	if (dd_sha1_resolve(o->sha1, &o->sha1, why, sizeof why))
		return cm_usage_error(PROG, "%s", why);
	for (size_t a = 0; a < dd_nanalyses; a++)
		if (o->an[a] && (dd_analyses[a]->flags & DD_AN_ALONE) && o->n != 2) {
			char msg[128];
			snprintf(msg, sizeof msg, "--%s takes exactly two dumps or fingerprints",
				 dd_analyses[a]->opts[0].name);
			return cm_usage_error(PROG, "%s", msg);
		}
	/* page-size limits of the analyses: now when --page-size gives it,
	 * else once the inputs' headers tell it, before any page is read */
	int rc = cli_check_page_size(o, o->dp.page_size);
	if (rc >= 0)
		return rc;
	if (o->save_fp) {
		struct stat st;
		if (stat(o->save_fp, &st) != 0 && mkdir(o->save_fp, 0777) != 0) {
			fprintf(stderr, PROG ": %s: cannot create: %s\n", o->save_fp, strerror(errno));
			return 1;
		}
		if (stat(o->save_fp, &st) == 0 && !S_ISDIR(st.st_mode)) {
			fprintf(stderr, PROG ": %s: --save-fp needs a folder, and this is not one\n", o->save_fp);
			return 1;
		}
	}
	if (!o->jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->jobs = n > 0 ? (unsigned)n : 1;
	}
	o->progress = !o->quiet && !o->info && isatty(2);
	return -1;
}

int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->hash = DD_HASH_SHA1;
	o->out = CLI_TEXT;
	o->an = calloc(dd_nanalyses, sizeof *o->an);
	o->an_given = calloc(dd_nanalyses, sizeof *o->an_given);
	struct option *lo = long_options();
	if (!o->an || !o->an_given || !lo) {
		free(lo);
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	/* getopt_long names the program by argv[0] in its messages */
	static char prog[] = PROG;
	argv[0] = prog;
	int c, rc = -1;
	while (rc < 0 && (c = getopt_long(argc, argv, "j:f:qhV", lo, NULL)) != -1) {
		if (c >= O_ANALYSIS)
			rc = analysis_option(o, (size_t)(c - O_ANALYSIS) / AN_OPTS, (size_t)(c - O_ANALYSIS) % AN_OPTS,
					     optarg);
		else
			rc = own_option(o, c, optarg);
	}
	free(lo);
	if (rc >= 0)
		return rc;
	o->paths = argv + optind;
	o->n = (size_t)(argc - optind);
	return check(o);
}

void cli_opts_free(struct cli_opts *o)
{
	for (size_t a = 0; o->an && a < dd_nanalyses; a++) {
		if (o->an[a] && dd_analyses[a]->free)
			dd_analyses[a]->free(o->an[a]);
		free(o->an[a]);
	}
	free(o->an);
	free(o->an_given);
	o->an = NULL;
	o->an_given = NULL;
}
