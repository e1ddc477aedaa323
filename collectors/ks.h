/*
 * ksm-sample internals: one module per data source (KSM sysfs, /proc,
 * libvirt) plus the output writers and the convergence detector.
 *
 * Ownership: every open or init function has a matching close or free
 * function, which accepts a zeroed or NULL object.  Strings returned inside structs are
 * owned by the struct and live until the next call that refills it.
 */
#ifndef SAMEPAGE_KS_H
#define SAMEPAGE_KS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common.h"

#define KS_PROG "ksm-sample"
#define KS_VERSION SAMEPAGE_VERSION /* from the file VERSION, through the Makefile */
#define KS_NAME_MAX 64   /* longest sysfs file / column name we keep */
#define KS_VALUE_MAX 64  /* longest sysfs value we keep */

/* ---- one cell of a row: empty, integer, real or text ---- */
enum ks_kind { KS_EMPTY = 0, KS_INT, KS_REAL, KS_TEXT };

struct ks_val {
	enum ks_kind kind;
	long long i;
	double d;
	char s[KS_VALUE_MAX];
};

static inline void ks_val_int(struct ks_val *v, long long i)
{
	v->kind = KS_INT;
	v->i = i;
}
static inline void ks_val_real(struct ks_val *v, double d)
{
	v->kind = KS_REAL;
	v->d = d;
}
/* numeric view of a cell; false when empty or text */
bool ks_val_num(const struct ks_val *v, double *out);

/* ---- files (ks_file.c) ---- */

/* read a whole small file into buf (NUL-terminated); length or -1 */
ssize_t ks_read_file(const char *path, char *buf, size_t size);

/* ---- KSM sysfs (ks_ksm.c) ---- */

#define KS_KSM_DIR "/sys/kernel/mm/ksm"

struct ks_ksm {
	char dir[4096];
	bool present;          /* the directory existed at open */
	size_t n;              /* columns: known core files ∪ directory listing, sorted */
	char (*names)[KS_NAME_MAX];
	struct ks_val *vals;   /* last read, one per name */
};

int ks_ksm_open(struct ks_ksm *k, const char *dir);
void ks_ksm_close(struct ks_ksm *k);
/* Read every file; a missing or unreadable one becomes an empty cell. */
void ks_ksm_read(struct ks_ksm *k);
/* Value of NAME from the last read; false when absent or not a number. */
bool ks_ksm_get(const struct ks_ksm *k, const char *name, long long *out);
/* Turn raw sysfs text into a cell: "123\n" -> 123, "[none] scan-time" -> "none". */
void ks_ksm_parse_value(const char *raw, struct ks_val *out);
/* true for files that only report (never written by --ksm, never restored) */
bool ks_ksm_is_counter(const char *name);

/* --ksm: knobs saved at start, set for the run, restored at exit */
struct ks_knob {
	char name[KS_NAME_MAX];
	char saved[KS_VALUE_MAX]; /* value found at start (normalised) */
	char want[KS_VALUE_MAX];  /* requested value, when requested */
	bool requested;
	size_t order;             /* position in the --ksm list */
};

struct ks_knobs {
	char dir[4096];
	size_t n;
	struct ks_knob *k;
	bool saved;     /* every knob has been read; restore is due */
	bool verbose;   /* log every write on stderr */
	/* called (when set) right before the unmerge of ks_knobs_set
	 * ("apply-unmerge") and of ks_knobs_restore ("restore-unmerge") */
	void (*hook)(const char *point);
};

/* Parse "key=value,key=value".  Returns 0, or -1 with a message in err. */
int ks_knobs_parse(struct ks_knobs *kn, const char *spec, char *err, size_t errlen);
/* Read every knob of kn->dir (saving them), check the requested names exist,
 * then write the requested values in a safe order.  Returns 0; -2 when a
 * requested name is not a knob (nothing written); -1 when a write failed
 * (some values may have been written: call ks_knobs_restore). */
int ks_knobs_apply(struct ks_knobs *kn, char *err, size_t errlen);
/* The two halves of ks_knobs_apply: read and save every knob (nothing is
 * written; -2 for a requested name that is not a knob), then write. */
int ks_knobs_save(struct ks_knobs *kn, char *err, size_t errlen);
int ks_knobs_set(struct ks_knobs *kn, char *err, size_t errlen);
/* Put every saved knob back; unmerges first when required.  0 or -1. */
int ks_knobs_restore(struct ks_knobs *kn);
void ks_knobs_free(struct ks_knobs *kn);

/* ---- one owner of KSM, recorded in a state folder (ks_state.c) ---- */

#define KS_STATE_DIR "/run/samepage"
#define KS_STATE_ENV "SAMEPAGE_STATE_DIR"

struct ks_owner {
	pid_t pid;
	unsigned long long start; /* field 22 of /proc/PID/stat: tells a reused PID apart */
	char boot_id[40];
	char comm[32];
	char created[48];         /* ISO-8601 UTC */
};

struct ks_state {
	char dir[4096];       /* state folder */
	char path[4200];      /* the KSM record: DIR/ksm.state, or DIR/ksm-HASH.state */
	char ksm_dir[4096];
	int lock_fd;
	bool written;         /* our record exists: remove it after a complete restore */
	bool nested;          /* this process's ancestor owns KSM: no record of ours */
	struct ks_owner owner;
	void (*hook)(const char *point); /* test stop points "saved", "restored" */
};

/* $SAMEPAGE_STATE_DIR, or /run/samepage */
const char *ks_state_default_dir(void);
/* DIR NULL: the default.  Names the record of the KSM folder ksm_dir. */
int ks_state_init(struct ks_state *st, const char *dir, const char *ksm_dir);
/* Make OWNER (this process or, for --take, another) the owner of KSM: a dead
 * owner's record is restored first (and said so), then every knob is saved
 * (ks_knobs_save) and the record written.  Returns 0; 1 when a live owner
 * holds KSM (err names its PID); -2 for a requested name that is not a knob;
 * -1 on other errors.  Nothing is written to KSM in any case. */
int ks_state_take(struct ks_state *st, pid_t owner, struct ks_knobs *kn, char *err, size_t errlen);
/* Remove our record (after a complete restore).  0 or -1. */
int ks_state_drop(struct ks_state *st);
/* OWNER 0 (--restore): restore from the record of an owner that is gone,
 * refusing while it runs; OWNER > 0 (--release): the owner hands back.
 * Says what it did on stderr.  Returns the exit status (0 or 1). */
int ks_state_restore(struct ks_state *st, pid_t owner);
/* ksm-sample --take=TAKE [--ksm=...] (kn holds the --ksm request), or
 * --release=RELEASE, or --restore (both 0).  Returns the exit status. */
int ks_owner_main(const char *state_dir, const char *ksm_dir, pid_t take, pid_t release,
		  struct ks_knobs *kn);
/* For tests: when $KSM_SAMPLE_STOP_AT names POINT, stop (SIGSTOP) there so a
 * test can kill the process at that moment.  Points: "saved" (record
 * written, nothing changed yet), "apply-unmerge", "restore-unmerge" (right
 * before writing run=2), "restored" (knobs back, record not yet removed). */
#define KS_STOP_ENV "KSM_SAMPLE_STOP_AT"
void ks_stop_point(const char *point);
/* start time, parent and comm of a running process; false when it is gone
 * or a zombie.  Any pointer may be NULL. */
bool ks_pid_info(pid_t pid, unsigned long long *start, pid_t *ppid, char *comm, size_t commlen);

/* ---- /proc (ks_proc.c) ---- */

enum { KS_CPU_USER, KS_CPU_SYSTEM, KS_CPU_IOWAIT, KS_CPU_STEAL, KS_CPU_IDLE, KS_CPU_N };

struct ks_cpu {
	bool ok;
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
};

bool ks_proc_parse_cpu(const char *stat_text, struct ks_cpu *out);
bool ks_proc_read_cpu(struct ks_cpu *out);
/* Percentages of all CPUs' time between a and b; false when no time passed. */
bool ks_cpu_pct(const struct ks_cpu *a, const struct ks_cpu *b, double pct[KS_CPU_N]);

/* /proc/meminfo fields kept as mem_<field>_bytes columns */
size_t ks_meminfo_count(void);
const char *ks_meminfo_name(size_t i);
/* vals[i] = bytes, or -1 when the field is missing */
void ks_proc_parse_meminfo(const char *text, long long *vals);
bool ks_proc_read_meminfo(long long *vals);

/* utime+stime (clock ticks) and comm of a task from its stat text */
bool ks_proc_parse_task_stat(const char *stat_text, unsigned long long *ticks, int *ppid,
			     char *comm, size_t commlen);
bool ks_proc_task_ticks(pid_t pid, unsigned long long *ticks);
pid_t ks_proc_find_ksmd(void);

/* per-process KSM and memory figures */
enum {
	KS_PS_RMAP_ITEMS,
	KS_PS_ZERO_PAGES,
	KS_PS_MERGING_PAGES,
	KS_PS_PROFIT,
	KS_PS_MERGEABLE,
	KS_PS_MERGE_ANY,
	KS_PS_RSS,        /* VmRSS in bytes */
	KS_PS_N
};
const char *ks_pidstat_column(size_t i);

struct ks_pidstat {
	struct ks_val v[KS_PS_N];
};
/* Parse ksm_stat text into v[KS_PS_RMAP_ITEMS..KS_PS_MERGE_ANY]. */
void ks_proc_parse_ksm_stat(const char *text, struct ks_pidstat *ps);
/* VmRSS from status text, in bytes; -1 when absent (kernel threads) */
long long ks_proc_parse_vmrss(const char *status_text);
/* the same figure from statm text; -1 for kernel threads and zombies */
long long ks_proc_parse_statm(const char *statm_text, long page_size);
/* Fill ps for PID; false when the process is gone. */
bool ks_proc_read_pid(pid_t pid, struct ks_pidstat *ps);
bool ks_proc_comm(pid_t pid, char *comm, size_t len);

/* Processes whose comm or argv[0] base name matches one of the glob
 * patterns (fnmatch), excluding self.  *out is malloc'ed; returns count. */
size_t ks_proc_match(const char *const *patterns, size_t npat, pid_t self, pid_t **out);
/* Parse "12,34 56" into pids; false on a bad entry. */
bool ks_parse_pid_list(const char *s, pid_t **pids, size_t *n);


/* ---- libvirt (ks_virt.c) ---- */

enum {
	KS_DS_ACTUAL, KS_DS_RSS, KS_DS_UNUSED, KS_DS_AVAILABLE, KS_DS_USABLE,
	KS_DS_DISK_CACHES, KS_DS_SWAP_IN, KS_DS_SWAP_OUT, KS_DS_MAJOR_FAULT,
	KS_DS_MINOR_FAULT, KS_DS_N
};
const char *ks_domstat_column(size_t i);

struct ks_dom {
	char name[256];
	pid_t pid;                 /* QEMU process, 0 when unknown */
	struct ks_val stat[KS_DS_N];
};

struct ks_virt;
/* A handle whose connection is down retries now and then; NULL only when
 * out of memory. */
struct ks_virt *ks_virt_open(const char *uri);
/* Running domains: asks the worker for a fresh answer and waits at most WAIT
 * seconds.  *fresh tells whether the answer is this sample's; otherwise it
 * is the last one (domains as known then).  Returns the count, or -1 when
 * libvirt is not reachable (a warning is printed the first time only).
 * *doms stays valid until the next call. */
int ks_virt_sample(struct ks_virt *v, double wait, const struct ks_dom **doms, bool *fresh);
void ks_virt_close(struct ks_virt *v);

/* ---- convergence (ks_settle.c) ---- */

struct ks_settle_snap {
	long long full_scans, shared, sharing;
	double t;
};

struct ks_settle {
	double tol;               /* relative change that still counts as flat */
	long long scans;          /* full scans the values must stay flat */
	struct ks_settle_snap snap[16];
	size_t nsnap;
	bool settled;
	double t_settled;
	long long final_saved;    /* saved bytes when it settled */
	/* running maxima of saved bytes: (time, value), increasing */
	double *max_t;
	long long *max_v;
	size_t nmax, capmax;
	long long last_saved;
	double last_t;
};

void ks_settle_init(struct ks_settle *s, double tol, long long scans);
void ks_settle_free(struct ks_settle *s);
/* Feed one sample; returns true on the sample where KSM is first settled. */
bool ks_settle_feed(struct ks_settle *s, double t, long long full_scans, long long shared,
		    long long sharing, long long saved);
/* First time saved bytes reached frac·final; -1 when never or final <= 0. */
double ks_settle_time_to(const struct ks_settle *s, double frac, long long final);

/* ---- outputs (ks_out.c) ---- */

void ks_csv_val(FILE *f, const struct ks_val *v, int prec);
/* ISO-8601 UTC with milliseconds from a CLOCK_REALTIME timespec */
void ks_iso8601(char *buf, size_t len, long long sec, long nsec);

/* Output files (ks_outfile.c).  PATH NULL means standard output.  After a
 * failure the file is closed, *fp set to NULL, the error reported with the
 * file's name and a regular file removed (it would be incomplete). */
/* flush after a sample: 0, or -1 after a write error */
int ks_out_check(FILE **fp, const char *path);
/* flush, fsync and close at the end: 0 or -1 */
int ks_out_close(FILE **fp, const char *path);

/* Prometheus exposition, written to FILE.tmp then renamed over FILE */
struct ks_prom {
	char path[4096];
	char tmp[4200];
	FILE *f;
	char last_family[128];
};
int ks_prom_begin(struct ks_prom *p, const char *path);
/* one sample; labels is "" or `vm="x",pid="1"`; family header once per name */
void ks_prom_metric(struct ks_prom *p, const char *name, const char *type, const char *help,
		    const char *labels, double value);
int ks_prom_commit(struct ks_prom *p);
void ks_prom_abort(struct ks_prom *p);
/* Prometheus name of a KSM sysfs file: node_exporter's where it has one */
void ks_prom_ksm_name(const char *file, char *out, size_t len, const char **type, double *scale);
/* escape a label value (backslash, quote, newline) */
void ks_prom_label_escape(const char *in, char *out, size_t len);

#endif
