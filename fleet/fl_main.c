/* dedup-analyze-mpi: the run on every rank (fleet.h): options as
 * dedup-analyze reads them, the input set, each rank's inputs opened and
 * hashed, the exchange, the report. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "fleet.h"

#define DEFAULT_ROUND (1u << 20) /* records each rank sends in one round: 24 MiB */

static void usage_fleet(void)
{
	printf("\n"
	       "Ranks (mpirun -n N or --host h1,h2,...) read the inputs of their own hosts:\n"
	       "each DUMP is a pattern (quoted, e.g. '/dumps/*.elf') that every host expands\n"
	       "on its own files, its ranks reading them in turn; HOST:PATH is the file PATH\n"
	       "of that host, rank=N:PATH the file rank N reads.  The report, printed by\n"
	       "rank 0, is the one dedup-analyze prints for the same inputs; in a run over\n"
	       "several hosts the dumps are named HOST:PATH.  --huge, --hosts and --diff\n"
	       "need every dump's page map or content list: rank 0 gets them all and holds\n"
	       "what dedup-analyze would.  --info: run dedup-analyze --info on each host.\n"
	       "      --round=N         records a rank sends in one exchange round (default %u)\n"
	       "      --stats           also each rank's records and bytes exchanged\n",
	       DEFAULT_ROUND);
}

/* argv without our own options (--round=N); -1 go on, else the status */
static int own_options(struct fl_ctx *c, int *argc, char **argv, bool *help)
{
	int w = 1;
	c->round = DEFAULT_ROUND;
	for (int i = 1; i < *argc; i++) {
		uint64_t v;
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[w++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			*help = true;
		if (strncmp(argv[i], "--round=", 8) == 0) {
			if (!cm_parse_u64(argv[i] + 8, &v) || v == 0 || v > (1u << 26))
				return c->rank ? 2 : cm_usage_error(PROG, "invalid --round '%s' (1..67108864 records)",
								    argv[i] + 8);
			c->round = v;
			continue;
		}
		argv[w++] = argv[i];
	}
	argv[w] = NULL;
	*argc = w;
	return -1;
}

/* The options, read by every rank; only rank 0 speaks. */
static int parse(struct fl_ctx *c, int argc, char **argv, struct cli_opts *o)
{
	bool help = false;
	int rc = own_options(c, &argc, argv, &help), out = -1, err = -1;
	if (rc >= 0)
		return rc;
	if (c->rank) {
		int null = open("/dev/null", O_WRONLY);
		out = dup(1);
		err = dup(2);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	rc = cli_parse(argc, argv, o);
	if (rc == 0 && help)
		usage_fleet();
	fflush(stdout);
	fflush(stderr);
	if (c->rank) {
		dup2(out, 1);
		dup2(err, 2);
		close(out);
		close(err);
	}
	if (rc >= 0)
		return rc;
	if (o->info)
		return c->rank ? 2 : cm_usage_error(PROG, "%s", "--info: run dedup-analyze --info on each host");
	o->progress = false;
	return -1;
}

/* The page size of the run: --page-size, else that of the first input of
 * the run that opened, else 4096; then the analyses' limits at it. */
static int page_size(const struct fl_ctx *c, const struct cli_opts *o, const struct cli_inputs *s, uint32_t *ps)
{
	uint64_t first = UINT64_MAX, all;
	for (size_t i = 0; i < s->n && first == UINT64_MAX; i++)
		if (s->in[i].kind == CLI_IN_DUMP || s->in[i].kind == CLI_IN_FP)
			first = (uint64_t)c->mine[i] << 32 | s->page_size;
	MPI_Allreduce(&first, &all, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
	*ps = o->dp.page_size ? o->dp.page_size : all != UINT64_MAX ? (uint32_t)all : 4096;
	int rc = c->rank == 0 ? cli_check_page_size(o, *ps) : -1;
	MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
	return rc;
}

/* Every input of the run that opened, shown to the analyses on every rank
 * (the slices need them too).  *keep holds the strings until the end. */
static int prepare(const struct fl_ctx *c, const struct cli_inputs *s, char **keep)
{
	struct fl_buf b = { 0 };
	for (size_t i = 0; i < s->n; i++)
		if (s->in[i].kind == CLI_IN_DUMP || s->in[i].kind == CLI_IN_FP) {
			fl_put_u64(&b, c->mine[i]);
			fl_put_u64(&b, s->in[i].kind == CLI_IN_FP);
			fl_put_str(&b, s->in[i].kind == CLI_IN_FP ? s->in[i].fp.path : "");
		}
	size_t *off = NULL;
	int fail = b.oom || fl_allgather(b.b, b.n, keep, &off);
	free(b.b);
	struct dd_an_source *src = NULL, *by = calloc(c->n ? c->n : 1, sizeof *by);
	if (fl_max(fail || !by)) {
		free(by);
		free(off);
		return 1;
	}
	struct fl_rd rd = { *keep, *keep + off[c->size] };
	uint64_t g, fp;
	const char *origin;
	while (rd.p < rd.end && fl_get_u64(&rd, &g) && fl_get_u64(&rd, &fp) && (origin = fl_get_str(&rd)) &&
	       g < c->n)
		by[g] = (struct dd_an_source){ c->in[g].name, fp ? origin : NULL };
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		if (by[i].path)
			by[n++] = by[i];
	src = by;
	char msg[1024];
	int rc = cli_prepare(c->o, src, n, msg, sizeof msg);
	int r0 = rc;
	MPI_Bcast(&r0, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rc == 2 && (c->rank == 0 || r0 < 0))
		cm_usage_error(PROG, "%s", msg);
	else if (rc == 1)
		fprintf(stderr, PROG ": out of memory\n");
	free(src);
	free(off);
	return fl_max(rc);
}

static void print_stats(const struct fl_ctx *c, const struct cli_run *r, const struct dd_engine *slice,
			const struct fl_xstats *xs, double t0, double t_hash)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->nrows; i++)
		bytes += r->rows[i].st.bytes_read;
	const struct dd_table *lt = dd_engine_table(r->e);
	const struct dd_table *st = slice ? dd_engine_table(slice) : NULL;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
		PROG ": stats: rank %d: %zu dump%s, %.1f MiB read, hashed in %.3f s, done in %.3f s; local table "
		"%llu contents, %llu bytes; slice %llu contents, %llu bytes; records sent %llu, received %llu, "
		"%llu bytes to other ranks in %llu round%s; peak RSS %ld KiB\n",
		c->rank, r->nrows, r->nrows == 1 ? "" : "s", bytes / 1048576.0, t_hash, cm_now() - t0,
		(unsigned long long)dd_table_size(lt), (unsigned long long)dd_table_bytes(lt),
		(unsigned long long)(st ? dd_table_size(st) : 0), (unsigned long long)(st ? dd_table_bytes(st) : 0),
		(unsigned long long)xs->sent, (unsigned long long)xs->received, (unsigned long long)xs->bytes_out,
		(unsigned long long)xs->rounds, xs->rounds == 1 ? "" : "s", ru.ru_maxrss);
}

/* this rank's inputs opened, hashed, exchanged and reported */
static int run(struct fl_ctx *c, struct cli_opts *lo)
{
	struct cli_inputs s;
	struct cli_run r = { 0 };
	struct fl_rows rows = { 0 };
	struct fl_xstats xs = { 0 };
	struct dd_engine *slice = NULL;
	size_t *row_of = NULL;
	char *keep = NULL;
	uint32_t ps = 0;
	double t0 = cm_now(), t_hash = 0;
	int rc = fl_max(cli_inputs_new(&s, lo) != 0) ? 1 : -1;
	if (rc < 0) {
		for (size_t i = 0; i < s.n; i++)
			cli_input_open(&s, i, lo);
		c->nopen_failed = s.nfailed;
		rc = page_size(c, lo, &s, &ps);
	}
	if (rc < 0)
		rc = prepare(c, &s, &keep);
	if (rc < 0 && fl_max(cli_run_new(&r, &s, lo, ps, cli_collect_flags(lo) | DD_COLLECT_IDS) != 0))
		rc = 1;
	if (rc < 0) {
		cli_run_hash(&r);
		t_hash = cm_now() - t0;
		if (fl_rows_gather(c, &r, &rows) || fl_max(!(row_of = calloc(r.nrows + 1, sizeof *row_of))))
			rc = 1;
	}
	if (rc < 0) {
		for (size_t k = 0, j = 0; k < r.nrows; k++) {
			size_t g = c->mine[r.row_input[k]];
			while (rows.gidx[j] != g)
				j++;
			row_of[k] = j;
		}
		struct dp_error err;
		if (fl_max(fl_exchange(c, &r, row_of, rows.n, rows.names, &slice, &xs, &err) != 0)) {
			if (!slice)
				fprintf(stderr, PROG ": rank %d: %s\n", c->rank, err.msg);
			rc = 1;
		}
	}
	if (rc < 0)
		rc = fl_report(c, &r, &rows, row_of, slice, (s.nfailed || r.status) ? 1 : 0);
	if (lo->stats && r.e)
		print_stats(c, &r, slice, &xs, t0, t_hash);
	dd_engine_free(slice);
	free(row_of);
	free(keep);
	fl_rows_free(&rows);
	cli_run_free(&r);
	cli_inputs_free(&s);
	return rc;
}

int main(int argc, char **argv)
{
	/* the engine's worker threads never call MPI; the main thread does */
	int level;
	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &level);
	struct fl_ctx c = { 0 };
	struct cli_opts o;
	memset(&o, 0, sizeof o);
	MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &c.size);
	c.o = &o;
	/* every rank read the same options; only rank 0 spoke, so a rank that
	 * failed alone (e.g. --save-fp's folder on its host) is named here */
	int rc = parse(&c, argc, argv, &o), all = fl_max(rc);
	if (all > rc && c.rank == 0 && all > 0)
		fprintf(stderr, PROG ": the options failed on another rank (a folder or file on its host?)\n");
	rc = all;
	if (rc < 0)
		rc = fl_inputs_make(&c);
	if (rc < 0) {
		/* this rank's own inputs, in the run's order */
		struct cli_opts lo = o;
		char **paths = calloc(c.nmine + 1, sizeof *paths);
		if (fl_max(!paths))
			rc = 1;
		else {
			for (size_t i = 0; i < c.nmine; i++)
				paths[i] = c.in[c.mine[i]].path;
			lo.paths = paths;
			lo.n = c.nmine;
			rc = run(&c, &lo);
		}
		free(paths);
	}
	fl_inputs_free(&c);
	cli_opts_free(&o);
	MPI_Finalize();
	return rc;
}
