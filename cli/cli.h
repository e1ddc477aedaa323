/*
 * dedup-analyze, the program over libdumpparse and libdedup: options
 * (options.c), the input set (inputs.c, split.c), --info (info.c) and the
 * analysis run with its report (analyze.c).  Analyses come from the table
 * of dedup/analysis.h; nothing here names one.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "dedup.h"
#include "dumpparse.h"
#include "report.h"

/* the program's name in messages and --help (dedup-analyze-mpi builds
 * these files with its own) */
#ifndef PROG
#define PROG "dedup-analyze"
#endif
#define VERSION SAMEPAGE_VERSION /* from the file VERSION, through the Makefile */

enum cli_out { CLI_TEXT, CLI_JSON, CLI_CSV };

struct cli_opts {
	unsigned jobs;
	enum dd_hash hash;
	enum dd_sha1_impl sha1; /* --sha1-backend, resolved once the options are read */
	enum cli_out out;
	bool info, quiet, progress, stats;
	bool ram_only; /* --ram-only: device memory left out */
	struct dp_options dp;
	const char *save_fp;
	bool json, csv; /* as given, to refuse both */
	/* per row of dd_analyses: its state, NULL when not asked for, and the
	 * option that asked for it first (for messages) */
	void **an;
	const char **an_given;
	/* the inputs: argv[first .. first+n) */
	char **paths;
	size_t n;
};

/* Parse the command line.  Returns -1 to go on, else the exit status
 * (--help, --version, --list-formats: 0; bad usage: 2; out of memory: 1). */
int cli_parse(int argc, char **argv, struct cli_opts *o);
void cli_opts_free(struct cli_opts *o);
/* The analyses' limits at this page size (0: not known yet): -1 when they
 * hold, else 2 (the message printed). */
int cli_check_page_size(const struct cli_opts *o, uint32_t page_size);

/* ---- the input set: every argument is one dump, a fingerprint, or a
 * later part of a split dump that another argument reads ---- */
enum cli_kind { CLI_IN_NONE, CLI_IN_DUMP, CLI_IN_FP, CLI_IN_PART, CLI_IN_FAILED };

struct cli_input {
	const char *path;
	enum cli_kind kind;
	struct dp_dump *dump; /* CLI_IN_DUMP */
	struct dd_fp fp;      /* CLI_IN_FP */
};

struct cli_inputs {
	struct cli_input *in;
	size_t n;
	struct dd_failed *failed; /* inputs that could not be read, fingerprints not written */
	char (*msgs)[700];
	char **names;             /* failed[i].path when it is no input's (a .fp), else NULL */
	size_t nfailed;
	uint32_t page_size;       /* the first input's, or the one asked for */
	size_t current;           /* the input being opened or hashed */
	size_t *failed_in;        /* per failure: the input it happened at (current) */
	struct dp_group *group;   /* split dumps among the inputs (split.c) */
};

int cli_inputs_new(struct cli_inputs *s, const struct cli_opts *o);
void cli_inputs_free(struct cli_inputs *s);
/* Open input i (a fingerprint or a dump); its warnings go to stderr unless
 * --info.  Returns its kind; a failure is recorded and printed. */
enum cli_kind cli_input_open(struct cli_inputs *s, size_t i, const struct cli_opts *o);
/* cli_input_open of every input, on up to o->jobs threads at once (a large
 * kdump dump takes a while to index); what each prints comes in input
 * order, as from one after the other. */
void cli_inputs_open_all(struct cli_inputs *s, const struct cli_opts *o);
/* Record and print that path failed; cli_output_fail for a file the program
 * writes (a copy of the name is kept).  One failure per input at most. */
void cli_input_fail(struct cli_inputs *s, const char *path, const struct dp_error *err);
void cli_output_fail(struct cli_inputs *s, const char *path, const struct dp_error *err);

/* split.c: find the parts of split dumps among the inputs (s->group; -1
 * only when out of memory, said on stderr), and open a dump that may be one
 * part of a split dump: 0 opened, 1 another given file reads this part
 * (cli_part_note tells the user, unless quiet), -1 failed (err).
 * cli_open_dump prints nothing; threads may call it for different inputs. */
int cli_group_inputs(struct cli_inputs *s, const struct cli_opts *o);
int cli_open_dump(const struct cli_inputs *s, const struct cli_opts *o, size_t i, struct dp_dump **d,
		  struct dp_error *err);
void cli_part_note(const struct cli_inputs *s, const struct cli_opts *o, size_t i);

/* ---- --info (info.c) ---- */
/* Describe every input on stdout; the exit status. */
int cli_info(struct cli_inputs *s, const struct cli_opts *o);

/* ---- hashing, analyses and the report (analyze.c) ---- */
int cli_analyze(struct cli_inputs *s, const struct cli_opts *o);

/* The pieces of cli_analyze that dedup-analyze-mpi uses on each process:
 * one engine over the inputs that opened, a row per input hashed. */
struct cli_run {
	const struct cli_opts *o;
	struct cli_inputs *s;
	struct dd_engine *e;
	struct dd_row *rows;  /* rows[0 .. nrows): the inputs hashed, in order */
	const char **names;   /* rows[i].path */
	size_t *row_input;    /* index into s->in of each row */
	size_t nrows;
	int status;           /* 1 when a fingerprint could not be written */
};
/* what the engine must keep for the analyses and fingerprints asked for */
unsigned cli_collect_flags(const struct cli_opts *o);
/* 0, or 1 out of memory (said on stderr) */
int cli_run_new(struct cli_run *r, struct cli_inputs *s, const struct cli_opts *o, uint32_t page_size,
		unsigned collect);
/* Hash every input that opened (and write its fingerprint with --save-fp);
 * a failure is recorded in s and printed. */
void cli_run_hash(struct cli_run *r);
void cli_run_free(struct cli_run *r);
/* The analysis whose output is the whole report (DD_AN_ALONE), when asked
 * for: the only one computed.  Its row, else dd_nanalyses. */
size_t cli_alone_row(const struct cli_opts *o);
/* Is analysis a computed in this run? */
bool cli_runs(const struct cli_opts *o, size_t a);
/* The analyses' prepare() over the inputs that opened: -1 go on, 1 out of
 * memory, 2 bad usage (the message in msg, not printed) */
int cli_prepare(const struct cli_opts *o, const struct dd_an_source *src, size_t n, char *msg, size_t len);
/* Table I and the analyses done[a] in the format asked for; or the one
 * analysis that is the whole report */
void cli_report_print(FILE *f, const struct cli_opts *o, const struct dd_report *rep, const struct dd_an_input *in,
		      const bool *done);
/* --stats on stderr, t0 the start of the run */
void cli_print_stats(const struct cli_run *r, double t0);

#endif
