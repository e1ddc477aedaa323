/*
 * dedup-analyze-mpi: the analysis of dedup-analyze over many hosts, on
 * Open MPI (docs/fleet.md).  Every process (rank) reads the inputs local to
 * its host with the engine of dedup-analyze (cli/ over dedup/), then the
 * (content key, dump, copies, class) records of every dump go to the rank
 * that owns the key (fl_exchange.c, bounded all-to-all rounds); each rank
 * holds one slice of the content table and computes the partial results of
 * the analyses on it (their part() hooks), which rank 0 adds up (merge())
 * and prints as dedup-analyze does (fl_report.c).  The input set: fl_inputs.c;
 * byte-string collectives: fl_mpi.c; the run: fl_main.c.
 */
#ifndef FLEET_H
#define FLEET_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* ---- collectives on byte strings (fl_mpi.c) ---- */
/* Every rank's len bytes, end to end in rank order, on every rank (all) or
 * on rank 0 only (the others get NULL); off[r] where rank r's start (size+1
 * entries, malloc'ed like *out).  0, or -1 out of memory. */
int fl_allgather(const void *buf, size_t len, char **out, size_t **off);
int fl_gather0(const void *buf, size_t len, char **out, size_t **off);
/* the largest of every rank's v, on every rank */
int fl_max(int v);
uint64_t fl_sum_u64(uint64_t v);

/* A growing byte buffer for packing. */
struct fl_buf {
	char *b;
	size_t n, cap;
	bool oom;
};
void fl_put(struct fl_buf *b, const void *p, size_t len);
void fl_put_u64(struct fl_buf *b, uint64_t v);
void fl_put_str(struct fl_buf *b, const char *s); /* with its NUL */
/* readers over packed bytes: false when the bytes end early */
struct fl_rd {
	const char *p, *end;
};
bool fl_get(struct fl_rd *r, void *p, size_t len);
bool fl_get_u64(struct fl_rd *r, uint64_t *v);
const char *fl_get_str(struct fl_rd *r);

/* ---- the run ---- */
struct fl_input {
	char *path;   /* as the owner opens it */
	char *name;   /* in the report: path, or HOST:path when the job spans hosts */
	int owner;    /* the rank that reads it */
	uint64_t arg, host, seq; /* order: argument, host (its first rank), match */
};

struct fl_ctx {
	int rank, size;
	int nhosts;
	const struct cli_opts *o;
	uint64_t round;        /* records a rank sends in one exchange round at most */
	/* every input of the run, in report order */
	struct fl_input *in;
	size_t n;
	/* this rank's inputs: indexes into in, ascending */
	size_t *mine;
	size_t nmine;
	size_t nopen_failed; /* this rank's failures while opening (the first ones) */
};

/* fl_inputs.c: the input set from o->paths (patterns expanded on each host,
 * HOST:PATH and rank=N:PATH placed where they say).  -1 go on, else the
 * exit status (said on stderr by rank 0). */
int fl_inputs_make(struct fl_ctx *c);
void fl_inputs_free(struct fl_ctx *c);

/* fl_exchange.c: every (content, dump) pair of the local engine sent to
 * the rank owning its key; *slice gets an engine holding every hashed dump
 * of the run (row order) with the contents of this rank's slice. */
struct fl_xstats {
	uint64_t sent, received;  /* records */
	uint64_t bytes_out;       /* bytes sent to other ranks */
	uint64_t rounds;
};
int fl_exchange(const struct fl_ctx *c, const struct cli_run *r, const size_t *row_of, size_t nrows,
		const char *const *names, struct dd_engine **slice, struct fl_xstats *xs, struct dp_error *err);

/* fl_report.c: Table I, the analyses and the failures of every rank, printed
 * by rank 0.  Returns the run's exit status on every rank. */
struct fl_rows {
	struct dd_row *rows;  /* the hashed inputs of the run, in order */
	const char **names;   /* rows[i].path */
	size_t *gidx;         /* index into c->in of each row */
	size_t n;
	char *packed;         /* the strings rows point into */
};
int fl_rows_gather(const struct fl_ctx *c, const struct cli_run *r, struct fl_rows *rows);
void fl_rows_free(struct fl_rows *rows);
int fl_report(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows, const size_t *row_of,
	      const struct dd_engine *slice, int status);

/* fl_whole.c: for the analyses without part(): every rank's dumps sent to
 * rank 0 as fingerprints (contents, page maps), and there added in row
 * order to a new engine that keeps `collect` (*whole; NULL elsewhere).
 * 0, or -1 (said on stderr) on every rank. */
int fl_whole(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows, const size_t *row_of,
	     unsigned collect, struct dd_engine **whole);

#endif
