/*
 * Analyses beyond Table I.  Each is one file (an_*.c) that fills in a
 * struct dd_analysis, and one row of the table in analyses.c; the program
 * builds its options, --help, computation and output from that table and
 * knows no analysis by name.  Definitions: docs/analyses.md.
 *
 * Life of an analysis in one run: the caller allocates `size` zeroed bytes
 * of state; option() stores each of its command-line options there (and
 * may read a file an option names, before any dump is read); prepare()
 * sees every input once they are opened, before any page is hashed; the
 * engine keeps what `collect` asks for while it hashes; compute() fills the
 * results in; text(), json() and csv() print them; free() releases what
 * option(), prepare() and compute() allocated, once, when the program is
 * done with the state (the caller frees the state itself).  The analysis
 * owns nothing else and prints nothing to stderr.
 */
#ifndef DEDUP_ANALYSIS_H
#define DEDUP_ANALYSIS_H

#include <stdio.h>

#include "dedup.h"
#include "report.h"

/* What every analysis works from: the engine after all inputs were added,
 * and Table I over them.  In merge() and the outputs of a distributed run
 * (see part() below) e is NULL: totals and rows are those of every dump. */
struct dd_an_input {
	const struct dd_engine *e;
	const char *const *names; /* input paths as given, engine order */
	size_t n;
	uint32_t page_size;
	const struct dd_totals *totals;
	const struct dd_row *rows; /* n, engine order: rows[i].path is names[i] */
};

/* An input as prepare() sees it: opened, not hashed yet. */
struct dd_an_source {
	const char *path;   /* as given; the same pointer as its name in dd_an_input */
	const char *origin; /* a fingerprint: the path of the dump it was made from; else NULL */
};

/* One command-line option of an analysis ("--name" or "--name=ARG"). */
struct dd_an_option {
	const char *name;
	int arg; /* DD_AN_NO_ARG, DD_AN_ARG or DD_AN_OPT_ARG (as getopt_long) */
};
enum { DD_AN_NO_ARG, DD_AN_ARG, DD_AN_OPT_ARG };

enum {
	DD_AN_IN_ALL = 1, /* --all turns it on (its first option, no argument) */
	DD_AN_ALONE = 2,  /* its output is the whole report; exactly two inputs */
};

struct dd_analysis {
	const char *name;                /* short name (the first option's) */
	const struct dd_an_option *opts; /* ends with { NULL }; every one turns it on */
	const char *help;                /* the --help lines of opts */
	unsigned flags;                  /* DD_AN_* */
	unsigned collect;                /* DD_COLLECT_* it needs from the engine */
	size_t size;                     /* bytes of its state */
	/* opts[i] given with arg (NULL when it has none).  Returns NULL, or a
	 * usage message with one %s that stands for arg.  May be NULL: the
	 * options only turn the analysis on. */
	const char *(*option)(void *st, size_t i, const char *arg);
	/* After the options, with the page size when known (0: not yet), and
	 * again once the inputs tell it, before any page is read: 0, or -1
	 * with a usage message in msg (the settings cannot work at this page
	 * size).  May be NULL. */
	int (*check)(const void *st, uint32_t page_size, char *msg, size_t len);
	/* Every input that opened (dumps and fingerprints), before any page is
	 * hashed.  0, or -1 with a usage message in err (exit 2; may be left
	 * empty: out of memory, exit 1).  May be NULL. */
	int (*prepare)(void *st, const struct dd_an_source *src, size_t n, char *err, size_t errlen);
	/* 0, or -1 with a message in err (may be left empty: out of memory).
	 * NULL when the analysis has part() and merge() (below). */
	int (*compute)(void *st, const struct dd_an_input *in, char *err, size_t errlen);
	/* After a successful compute: a text section (starting with a blank
	 * line unless DD_AN_ALONE), JSON members (",\n  \"name\": ..."; the
	 * whole object when DD_AN_ALONE), a CSV block ("\nanalysis,...",
	 * first column its name; the whole CSV when DD_AN_ALONE). */
	void (*text)(FILE *f, const void *st, const struct dd_an_input *in);
	void (*json)(FILE *f, const void *st, const struct dd_an_input *in);
	void (*csv)(FILE *f, const void *st, const struct dd_an_input *in);
	/* Distributed runs (dedup-analyze-mpi) split the content table by key
	 * among processes.  An analysis that can be computed from such slices
	 * has part() and merge() instead of compute(); dd_an_compute() runs
	 * part() on the whole table then merge(), so that one code path gives
	 * both programs' numbers.
	 * nsum: how many 64-bit counters part() adds to, for n dumps.
	 * part(): one slice: in->e holds every dump, in order, with only the
	 * contents of the slice (its totals and rows are the slice's).  Adds
	 * its counts to sum (added up over the slices) and may return records
	 * of rec_size bytes in *rec (malloc'ed; the caller frees them).
	 * merge(): sum over every slice and the records of every slice; fills
	 * in the results as compute() would.  in->totals and in->rows are
	 * those of every dump; in->e may be NULL.
	 * Both return 0, or -1 with a message in err (may be left empty: out
	 * of memory). */
	size_t rec_size;
	size_t (*nsum)(const void *st, size_t n);
	int (*part)(void *st, const struct dd_an_input *slice, uint64_t *sum, void **rec, size_t *nrec, char *err,
		    size_t errlen);
	int (*merge)(void *st, const struct dd_an_input *in, const uint64_t *sum, const void *rec, size_t nrec,
		     char *err, size_t errlen);
	/* what option, prepare and compute allocated; safe on a state that
	 * saw any of them or none, called once.  May be NULL: they allocate
	 * nothing. */
	void (*free)(void *st);
};

/* The table, in the order of --help and of the output. */
extern const struct dd_analysis *const dd_analyses[];
extern const size_t dd_nanalyses;

/* compute(), or part() over the whole table then merge(): 0, or -1 with
 * a message in err (may be left empty: out of memory) */
int dd_an_compute(const struct dd_analysis *an, void *st, const struct dd_an_input *in, char *err, size_t errlen);

/* ---- helpers shared by analyses (an_common.c) ---- */
/* common elements of two ascending id lists */
uint64_t dd_ids_common(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb);
/* union of two ascending id lists, malloc'ed (free it); NULL when out of memory */
uint32_t *dd_ids_union(const uint32_t *a, uint64_t na, const uint32_t *b, uint64_t nb, uint64_t *n);

#endif
