/*
 * ksm-sample — record KSM, host CPU/memory and per-VM memory as time series.
 *
 * Samples are taken on a fixed schedule (start + k·interval on the monotonic
 * clock), so an hour-long run does not drift; a sample that overruns its
 * slot makes the next late slots be skipped rather than bunched.
 *
 * Host state: without --ksm nothing is ever written.  With --ksm every knob
 * is saved before the first write and restored on every way out that a
 * program can catch (normal end, SIGINT, SIGTERM, SIGHUP, errors).
 */
#include "ks.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct opts {
	double interval, duration; /* duration < 0: until a signal */
	const char *out_path, *vm_path, *prom_path, *uri, *ksm_dir, *state_dir;
	int settle;                /* 0 off, 1 report, 2 report and stop */
	bool libvirt, verbose, ksm;
	pid_t *pids;
	size_t npids;
	const char **match;
	size_t nmatch;
	enum { MODE_SAMPLE, MODE_RESTORE, MODE_TAKE, MODE_RELEASE } mode;
	pid_t mode_pid;            /* --take / --release */
	bool sampling_opt;         /* an option that only sampling uses */
};

struct vmrow {
	char name[300];
	pid_t pid;
	const char *source;
	struct ks_val dom[KS_DS_N];
	struct ks_pidstat ps;
};

struct state {
	struct opts o;
	struct ks_ksm ksm;
	struct ks_knobs knobs;
	struct ks_state owner;
	struct ks_virt *virt;
	struct ks_settle settle;
	FILE *out, *vm;
	long page_size, hz;
	pid_t ksmd;
	struct ks_cpu cpu_prev;
	unsigned long long ksmd_prev;
	double ksmd_prev_t;
	bool ksmd_prev_ok;
	struct vmrow *rows;
	size_t nrows, caprows;
	bool *pid_warned; /* seen or reported missing: no (more) warning */
	bool prom_failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksm-sample [OPTION]...\n"
		"Record KSM (/sys/kernel/mm/ksm), host and ksmd CPU, /proc/meminfo and per-VM memory\n"
		"as CSV time series.\n"
		"\n"
		"  -i, --interval=SECONDS   time between samples, fractions allowed; default 1\n"
		"  -d, --duration=SECONDS   stop after this long (samples at 0, i, 2i, ... <= duration);\n"
		"                           default: until SIGINT or SIGTERM\n"
		"  -o, --output=FILE        host CSV, one row per sample; default standard output\n"
		"  -V, --vm-output=FILE     per-VM CSV, one row per VM and sample\n"
		"      --prom=FILE          rewrite FILE (Prometheus text format) atomically every sample\n"
		"      --settle[=stop]      report when KSM has converged (pages_shared and pages_sharing\n"
		"                           within 1%% over two full scans) and the time to 90%% of the\n"
		"                           final saving; with =stop, end the run there\n"
		"      --ksm=KEY=VALUE,...  set KSM knobs for the run (run, pages_to_scan, sleep_millisecs,\n"
		"                           max_page_sharing, ...); every knob is restored at exit\n"
		"  -c, --connect=URI        libvirt URI; default qemu:///system\n"
		"      --no-libvirt         do not ask libvirt for VMs\n"
		"  -p, --pid=LIST           also record these processes (comma-separated PIDs)\n"
		"  -m, --match=PATTERN      also record processes whose name matches PATTERN (glob);\n"
		"                           repeatable.  With --pid or --match, libvirt is asked only\n"
		"                           when --connect is given too\n"
		"      --ksm-dir=DIR        KSM sysfs directory; default " KS_KSM_DIR "\n"
		"      --state-dir=DIR      KSM owner record folder; default $" KS_STATE_ENV " or " KS_STATE_DIR "\n"
		"      --restore            restore the knobs recorded by a killed owner of KSM\n"
		"      --take=PID           make PID (a script) own KSM: record, apply --ksm, exit\n"
		"      --release=PID        the owner PID hands KSM back: restore, remove the record\n"
		"  -v, --verbose            log every KSM knob write on standard error\n"
		"  -h, --help               this text\n"
		"      --version            version\n"
		"\n"
		"Exit status: 0 done (also when stopped by SIGINT/SIGTERM), 1 runtime failure\n"
		"(also: KSM owned by a running program), 2 bad usage.\n");
}

/* Sleep until monotonic time T; false when a stop signal came first. */
static bool sleep_until(double t)
{
	struct timespec ts;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!stop_signal) {
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc == 0)
			return !stop_signal;
		if (rc != EINTR)
			return !stop_signal;
	}
	return false;
}

static void fmt_mib(char *buf, size_t len, long long bytes)
{
	snprintf(buf, len, "%.1f MiB", (double)bytes / 1048576.0);
}

/* ---- one sample ---- */

static struct vmrow *add_row(struct state *s)
{
	if (s->nrows == s->caprows) {
		size_t cap = s->caprows ? 2 * s->caprows : 16;
		struct vmrow *p = realloc(s->rows, cap * sizeof *p);
		if (!p)
			return NULL;
		s->rows = p;
		s->caprows = cap;
	}
	struct vmrow *r = &s->rows[s->nrows++];
	memset(r, 0, sizeof *r);
	return r;
}

static bool row_has_pid(const struct state *s, pid_t pid)
{
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].pid == pid)
			return true;
	return false;
}

static void add_process(struct state *s, pid_t pid, const char *source)
{
	if (row_has_pid(s, pid))
		return;
	char comm[64];
	struct ks_pidstat ps;
	if (!ks_proc_comm(pid, comm, sizeof comm) || !ks_proc_read_pid(pid, &ps))
		return;
	if (ps.v[KS_PS_RSS].kind == KS_EMPTY)
		return; /* a kernel thread has no memory of its own */
	struct vmrow *r = add_row(s);
	if (!r)
		return;
	snprintf(r->name, sizeof r->name, "%s[%d]", comm, (int)pid);
	r->pid = pid;
	r->source = source;
	r->ps = ps;
}

static void collect_vms(struct state *s)
{
	s->nrows = 0;
	if (s->virt) {
		const struct ks_dom *doms;
		bool fresh;
		/* libvirt may lag (a domain starting or stopping holds its
		 * job): wait half an interval at most, then go on without it */
		double wait = s->o.interval / 2 < 1 ? s->o.interval / 2 : 1;
		int n = ks_virt_sample(s->virt, wait, &doms, &fresh);
		for (int i = 0; i < n; i++) {
			struct ks_pidstat ps;
			memset(&ps, 0, sizeof ps);
			/* a domain known only from an older answer counts while its
			 * QEMU lives; its libvirt cells stay empty */
			if (doms[i].pid > 0 && !ks_proc_read_pid(doms[i].pid, &ps) && !fresh)
				continue;
			struct vmrow *r = add_row(s);
			if (!r)
				break;
			snprintf(r->name, sizeof r->name, "%s", doms[i].name);
			r->pid = doms[i].pid;
			r->source = "libvirt";
			if (fresh)
				memcpy(r->dom, doms[i].stat, sizeof r->dom);
			r->ps = ps;
		}
	}
	for (size_t i = 0; i < s->o.npids; i++) {
		add_process(s, s->o.pids[i], "pid");
		/* one word when a PID never showed up; one that ends is just churn */
		if (row_has_pid(s, s->o.pids[i]))
			s->pid_warned[i] = true;
		else if (!s->pid_warned[i]) {
			fprintf(stderr, KS_PROG ": pid %d: no such process\n", (int)s->o.pids[i]);
			s->pid_warned[i] = true;
		}
	}
	if (s->o.nmatch) {
		pid_t *pids = NULL;
		size_t n = ks_proc_match(s->o.match, s->o.nmatch, getpid(), &pids);
		for (size_t i = 0; i < n; i++)
			add_process(s, pids[i], "match");
		free(pids);
	}
}

static void write_host_header(struct state *s)
{
	FILE *f = s->out;
	fputs("time,elapsed_s", f);
	for (size_t i = 0; i < s->ksm.n; i++)
		fprintf(f, ",%s", s->ksm.names[i]);
	fputs(",saved_bytes,sharing_ratio,cpu_user_pct,cpu_system_pct,cpu_iowait_pct,cpu_steal_pct,"
	      "cpu_idle_pct,ksmd_cpu_pct",
	      f);
	for (size_t i = 0; i < ks_meminfo_count(); i++)
		fprintf(f, ",mem_%s_bytes", ks_meminfo_name(i));
	fputs(",vm_count,vm_rss_bytes,vm_used_bytes\n", f);
}

static void write_vm_header(FILE *f)
{
	fputs("time,elapsed_s,vm,pid,source", f);
	for (size_t i = 0; i < KS_DS_N; i++)
		fprintf(f, ",%s", ks_domstat_column(i));
	for (size_t i = 0; i < KS_PS_N; i++)
		fprintf(f, ",%s", ks_pidstat_column(i));
	fputc('\n', f);
}

struct derived {
	struct ks_val saved, ratio, cpu[KS_CPU_N], ksmd, vm_count, vm_rss, vm_used;
	long long mem[32];
	double ksmd_seconds;
	bool ksmd_seconds_ok;
};

static void derive(struct state *s, double t, struct derived *d)
{
	memset(d, 0, sizeof *d);
	long long sharing, shared, zero, use_zero;
	bool have_sharing = ks_ksm_get(&s->ksm, "pages_sharing", &sharing);
	if (have_sharing) {
		long long saved = sharing * s->page_size;
		/* zero pages merged with use_zero_pages=1 are saved too */
		if (ks_ksm_get(&s->ksm, "use_zero_pages", &use_zero) && use_zero == 1 &&
		    ks_ksm_get(&s->ksm, "ksm_zero_pages", &zero))
			saved += zero * s->page_size;
		ks_val_int(&d->saved, saved);
	}
	if (have_sharing && ks_ksm_get(&s->ksm, "pages_shared", &shared) && shared > 0)
		ks_val_real(&d->ratio, (double)sharing / (double)shared);

	struct ks_cpu cpu;
	ks_proc_read_cpu(&cpu);
	double pct[KS_CPU_N];
	if (ks_cpu_pct(&s->cpu_prev, &cpu, pct))
		for (size_t i = 0; i < KS_CPU_N; i++)
			ks_val_real(&d->cpu[i], pct[i]);
	s->cpu_prev = cpu;

	unsigned long long ticks;
	if (s->ksmd > 0 && ks_proc_task_ticks(s->ksmd, &ticks)) {
		if (s->ksmd_prev_ok && t > s->ksmd_prev_t && ticks >= s->ksmd_prev)
			ks_val_real(&d->ksmd, 100.0 * (double)(ticks - s->ksmd_prev) / (double)s->hz /
						      (t - s->ksmd_prev_t));
		s->ksmd_prev = ticks;
		s->ksmd_prev_t = t;
		s->ksmd_prev_ok = true;
		d->ksmd_seconds = (double)ticks / (double)s->hz;
		d->ksmd_seconds_ok = true;
	} else {
		s->ksmd_prev_ok = false;
	}

	ks_proc_read_meminfo(d->mem);

	long long rss = 0;
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].ps.v[KS_PS_RSS].kind == KS_INT)
			rss += s->rows[i].ps.v[KS_PS_RSS].i;
	ks_val_int(&d->vm_count, (long long)s->nrows);
	if (s->nrows) {
		ks_val_int(&d->vm_rss, rss);
		if (d->saved.kind == KS_INT)
			ks_val_int(&d->vm_used, rss - d->saved.i);
	}
}

static void write_host_row(struct state *s, const char *iso, double t, const struct derived *d)
{
	FILE *f = s->out;
	fprintf(f, "%s,%.3f", iso, t);
	for (size_t i = 0; i < s->ksm.n; i++) {
		fputc(',', f);
		ks_csv_val(f, &s->ksm.vals[i], 0);
	}
	fputc(',', f);
	ks_csv_val(f, &d->saved, 0);
	fputc(',', f);
	ks_csv_val(f, &d->ratio, 3);
	for (size_t i = 0; i < KS_CPU_N; i++) {
		fputc(',', f);
		ks_csv_val(f, &d->cpu[i], 2);
	}
	fputc(',', f);
	ks_csv_val(f, &d->ksmd, 2);
	for (size_t i = 0; i < ks_meminfo_count(); i++) {
		fputc(',', f);
		if (d->mem[i] >= 0)
			fprintf(f, "%lld", d->mem[i]);
	}
	fputc(',', f);
	ks_csv_val(f, &d->vm_count, 0);
	fputc(',', f);
	ks_csv_val(f, &d->vm_rss, 0);
	fputc(',', f);
	ks_csv_val(f, &d->vm_used, 0);
	fputc('\n', f);
}

static void write_vm_rows(struct state *s, const char *iso, double t)
{
	FILE *f = s->vm;
	for (size_t r = 0; r < s->nrows; r++) {
		const struct vmrow *row = &s->rows[r];
		fprintf(f, "%s,%.3f,", iso, t);
		cm_csv_field(f, row->name);
		fputc(',', f);
		if (row->pid > 0)
			fprintf(f, "%d", (int)row->pid);
		fprintf(f, ",%s", row->source);
		for (size_t i = 0; i < KS_DS_N; i++) {
			fputc(',', f);
			ks_csv_val(f, &row->dom[i], 0);
		}
		for (size_t i = 0; i < KS_PS_N; i++) {
			fputc(',', f);
			ks_csv_val(f, &row->ps.v[i], 0);
		}
		fputc('\n', f);
	}
}

static const char *cpu_modes[KS_CPU_N] = { "user", "system", "iowait", "steal", "idle" };

static int write_prom(struct state *s, const struct derived *d, double wall)
{
	struct ks_prom p;
	if (ks_prom_begin(&p, s->o.prom_path) < 0)
		return -1;
	ks_prom_metric(&p, "samepage_ksm_sample_time_seconds", "gauge",
		       "Unix time of the last ksm-sample sample.", "", wall);
	for (size_t i = 0; i < s->ksm.n; i++) {
		const struct ks_val *v = &s->ksm.vals[i];
		char name[128], help[160];
		snprintf(help, sizeof help, "ksmd '%s' file.", s->ksm.names[i]);
		if (v->kind == KS_INT) {
			const char *type;
			double scale;
			ks_prom_ksm_name(s->ksm.names[i], name, sizeof name, &type, &scale);
			ks_prom_metric(&p, name, type, help, "", (double)v->i * scale);
		} else if (v->kind == KS_TEXT) {
			char lab[200], esc[140];
			ks_prom_ksm_name(s->ksm.names[i], name, sizeof name, &(const char *){ 0 },
					 &(double){ 0 });
			strncat(name, "_info", sizeof name - strlen(name) - 1);
			ks_prom_label_escape(v->s, esc, sizeof esc);
			snprintf(lab, sizeof lab, "value=\"%s\"", esc);
			ks_prom_metric(&p, name, "gauge", help, lab, 1);
		}
	}
	double x;
	if (ks_val_num(&d->saved, &x))
		ks_prom_metric(&p, "samepage_ksm_saved_bytes", "gauge",
			       "Memory KSM saves: pages_sharing (+ ksm_zero_pages with use_zero_pages=1) times the page size.",
			       "", x);
	if (ks_val_num(&d->ratio, &x))
		ks_prom_metric(&p, "samepage_ksm_sharing_ratio", "gauge",
			       "pages_sharing / pages_shared.", "", x);
	for (size_t i = 0; i < KS_CPU_N; i++) {
		char lab[32];
		snprintf(lab, sizeof lab, "mode=\"%s\"", cpu_modes[i]);
		if (ks_val_num(&d->cpu[i], &x))
			ks_prom_metric(&p, "samepage_host_cpu_ratio", "gauge",
				       "Share of all CPUs' time spent in each mode over the last interval.",
				       lab, x / 100);
	}
	if (ks_val_num(&d->ksmd, &x))
		ks_prom_metric(&p, "samepage_ksmd_cpu_ratio", "gauge",
			       "CPU used by ksmd over the last interval, in cores.", "", x / 100);
	if (d->ksmd_seconds_ok)
		ks_prom_metric(&p, "samepage_ksmd_cpu_seconds_total", "counter",
			       "CPU time used by ksmd since boot.", "", d->ksmd_seconds);
	for (size_t i = 0; i < ks_meminfo_count(); i++) {
		if (d->mem[i] < 0)
			continue;
		char name[96], help[96];
		snprintf(name, sizeof name, "samepage_mem_%s_bytes", ks_meminfo_name(i));
		snprintf(help, sizeof help, "/proc/meminfo %s.", ks_meminfo_name(i));
		ks_prom_metric(&p, name, "gauge", help, "", (double)d->mem[i]);
	}
	ks_prom_metric(&p, "samepage_vm_count", "gauge", "VMs and processes recorded.", "",
		       (double)s->nrows);
	/* per VM: one family per column, one sample per VM */
	char (*labels)[700] = calloc(s->nrows ? s->nrows : 1, sizeof *labels);
	if (!labels) {
		ks_prom_abort(&p);
		return -1;
	}
	for (size_t r = 0; r < s->nrows; r++) {
		char esc[600];
		ks_prom_label_escape(s->rows[r].name, esc, sizeof esc);
		snprintf(labels[r], sizeof labels[r], "vm=\"%s\",pid=\"%d\",source=\"%s\"", esc,
			 (int)s->rows[r].pid, s->rows[r].source);
	}
	for (size_t c = 0; c < KS_DS_N + KS_PS_N; c++) {
		const char *col = c < KS_DS_N ? ks_domstat_column(c) : ks_pidstat_column(c - KS_DS_N);
		char name[96], help[128];
		const char *type = "gauge";
		if (strstr(col, "_faults")) {
			snprintf(name, sizeof name, "samepage_vm_%s_total", col);
			type = "counter";
		} else if (strcmp(col, "ksm_process_profit") == 0) {
			snprintf(name, sizeof name, "samepage_vm_%s_bytes", col);
		} else {
			snprintf(name, sizeof name, "samepage_vm_%s", col);
		}
		snprintf(help, sizeof help, "Per VM or process: %s (see ksm-sample documentation).", col);
		for (size_t r = 0; r < s->nrows; r++) {
			const struct ks_val *v =
				c < KS_DS_N ? &s->rows[r].dom[c] : &s->rows[r].ps.v[c - KS_DS_N];
			if (ks_val_num(v, &x))
				ks_prom_metric(&p, name, type, help, labels[r], x);
		}
	}
	free(labels);
	return ks_prom_commit(&p);
}

/* returns 0, or -1 on an output error */
static int take_sample(struct state *s, double t0, bool *settled_now)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	double t = cm_now() - t0;
	char iso[48];
	ks_iso8601(iso, sizeof iso, (long long)wall.tv_sec, wall.tv_nsec);

	ks_ksm_read(&s->ksm);
	collect_vms(s);
	struct derived d;
	derive(s, t, &d);

	write_host_row(s, iso, t, &d);
	if (ks_out_check(&s->out, s->o.out_path) < 0)
		return -1;
	if (s->vm) {
		write_vm_rows(s, iso, t);
		if (ks_out_check(&s->vm, s->o.vm_path) < 0)
			return -1;
	}
	if (s->o.prom_path &&
	    write_prom(s, &d, (double)wall.tv_sec + (double)wall.tv_nsec / 1e9) < 0) {
		fprintf(stderr, KS_PROG ": %s: cannot write: %s\n", s->o.prom_path, strerror(errno));
		return -1;
	}

	*settled_now = false;
	long long fs, shared, sharing;
	if (s->o.settle && ks_ksm_get(&s->ksm, "full_scans", &fs) &&
	    ks_ksm_get(&s->ksm, "pages_shared", &shared) &&
	    ks_ksm_get(&s->ksm, "pages_sharing", &sharing) && d.saved.kind == KS_INT) {
		if (ks_settle_feed(&s->settle, t, fs, shared, sharing, d.saved.i)) {
			char mib[32];
			fmt_mib(mib, sizeof mib, s->settle.final_saved);
			double t90 = ks_settle_time_to(&s->settle, 0.9, s->settle.final_saved);
			fprintf(stderr,
				KS_PROG ": settled after %.2f s (full_scans %lld, pages_shared %lld, "
					"pages_sharing %lld, saved %s); ",
				t, fs, shared, sharing, mib);
			if (t90 >= 0)
				fprintf(stderr, "90%% of the final saving after %.2f s\n", t90);
			else
				fprintf(stderr, "nothing saved\n");
			*settled_now = true;
		}
	}
	return 0;
}

static int open_outputs(struct state *s)
{
	if (!s->o.out_path || strcmp(s->o.out_path, "-") == 0) {
		s->out = stdout;
		s->o.out_path = NULL;
	} else if (!(s->out = fopen(s->o.out_path, "w"))) {
		fprintf(stderr, KS_PROG ": %s: %s\n", s->o.out_path, strerror(errno));
		return -1;
	}
	if (s->o.vm_path) {
		if (strcmp(s->o.vm_path, "-") == 0) {
			s->vm = stdout;
			s->o.vm_path = NULL;
		} else if (!(s->vm = fopen(s->o.vm_path, "w"))) {
			fprintf(stderr, KS_PROG ": %s: %s\n", s->o.vm_path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct state *s)
{
	struct opts *o = &s->o;
	o->interval = 1;
	o->duration = -1;
	o->uri = NULL;
	o->libvirt = true;
	o->ksm_dir = KS_KSM_DIR;
	enum { OPT_PROM = 256, OPT_SETTLE, OPT_KSM, OPT_NO_LIBVIRT, OPT_KSM_DIR, OPT_VERSION,
	       OPT_STATE_DIR, OPT_RESTORE, OPT_TAKE, OPT_RELEASE };
	static const struct option lo[] = {
		{ "interval", required_argument, 0, 'i' },
		{ "duration", required_argument, 0, 'd' },
		{ "output", required_argument, 0, 'o' },
		{ "vm-output", required_argument, 0, 'V' },
		{ "prom", required_argument, 0, OPT_PROM },
		{ "settle", optional_argument, 0, OPT_SETTLE },
		{ "ksm", required_argument, 0, OPT_KSM },
		{ "connect", required_argument, 0, 'c' },
		{ "no-libvirt", no_argument, 0, OPT_NO_LIBVIRT },
		{ "pid", required_argument, 0, 'p' },
		{ "match", required_argument, 0, 'm' },
		{ "ksm-dir", required_argument, 0, OPT_KSM_DIR },
		{ "state-dir", required_argument, 0, OPT_STATE_DIR },
		{ "restore", no_argument, 0, OPT_RESTORE },
		{ "take", required_argument, 0, OPT_TAKE },
		{ "release", required_argument, 0, OPT_RELEASE },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, OPT_VERSION },
		{ 0, 0, 0, 0 },
	};
	bool no_libvirt = false;
	int c;
	char err[512];
	while ((c = getopt_long(argc, argv, "i:d:o:V:c:p:m:vh", lo, NULL)) != -1) {
		if ((c > 0 && c < 128 && strchr("idoVcpm", c)) || c == OPT_PROM || c == OPT_SETTLE || c == OPT_NO_LIBVIRT)
			o->sampling_opt = true;
		switch (c) {
		case 'i':
			if (!cm_parse_seconds(optarg, &o->interval, 0.001))
				return cm_usage_error(KS_PROG, "invalid interval '%s' (seconds, at least 0.001)", optarg);
			break;
		case 'd':
			if (!cm_parse_seconds(optarg, &o->duration, 0))
				return cm_usage_error(KS_PROG, "invalid duration '%s' (seconds)", optarg);
			break;
		case 'o': o->out_path = optarg; break;
		case 'V': o->vm_path = optarg; break;
		case OPT_PROM: o->prom_path = optarg; break;
		case OPT_SETTLE:
			if (!optarg)
				o->settle = 1;
			else if (strcmp(optarg, "stop") == 0)
				o->settle = 2;
			else
				return cm_usage_error(KS_PROG, "invalid --settle value '%s' (only 'stop')", optarg);
			break;
		case OPT_KSM:
			if (ks_knobs_parse(&s->knobs, optarg, err, sizeof err) < 0)
				return cm_usage_error(KS_PROG, "--ksm: %s", err);
			o->ksm = true;
			break;
		case 'c': o->uri = optarg; break;
		case OPT_NO_LIBVIRT: no_libvirt = true; break;
		case 'p':
			if (!ks_parse_pid_list(optarg, &o->pids, &o->npids))
				return cm_usage_error(KS_PROG, "invalid PID list '%s'", optarg);
			break;
		case 'm': {
			const char **m = realloc(o->match, (o->nmatch + 1) * sizeof *m);
			if (!m)
				return 1;
			o->match = m;
			o->match[o->nmatch++] = optarg;
			break;
		}
		case OPT_KSM_DIR: o->ksm_dir = optarg; break;
		case OPT_STATE_DIR: o->state_dir = optarg; break;
		case OPT_RESTORE:
		case OPT_TAKE:
		case OPT_RELEASE: {
			if (o->mode != MODE_SAMPLE)
				return cm_usage_error(KS_PROG, "%s", "--restore, --take and --release exclude each other");
			o->mode = c == OPT_RESTORE ? MODE_RESTORE : c == OPT_TAKE ? MODE_TAKE : MODE_RELEASE;
			if (c == OPT_RESTORE)
				break;
			pid_t *p = NULL;
			size_t np = 0;
			bool good = ks_parse_pid_list(optarg, &p, &np) && np == 1 && p[0] > 0;
			o->mode_pid = good ? p[0] : 0;
			free(p);
			if (!good)
				return cm_usage_error(KS_PROG, "invalid PID '%s'", optarg);
			break;
		}
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("ksm-sample (samepage) " KS_VERSION "\n"); return 0;
		default: fprintf(stderr, "Try 'ksm-sample --help' for more information.\n"); return 2;
		}
	}
	if (optind < argc)
		return cm_usage_error(KS_PROG, "unexpected argument '%s'", argv[optind]);
	if (no_libvirt && o->uri)
		return cm_usage_error(KS_PROG, "%s", "--connect and --no-libvirt exclude each other");
	if (o->mode != MODE_SAMPLE && (o->sampling_opt || (o->ksm && o->mode != MODE_TAKE)))
		return cm_usage_error(KS_PROG, "%s", "--restore, --take and --release take only --ksm-dir, --state-dir, -v "
				       "(and --take also --ksm)");
	/* processes named explicitly: libvirt only when asked for too */
	o->libvirt = !no_libvirt && (o->uri || (!o->npids && !o->nmatch));
	if (!o->uri)
		o->uri = "qemu:///system";
	return -1;
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = parse_args(argc, argv, &s);
	if (rc >= 0)
		return rc;
	if (s.o.mode != MODE_SAMPLE) {
		s.knobs.verbose = s.o.verbose;
		return ks_owner_main(s.o.state_dir, s.o.ksm_dir,
				     s.o.mode == MODE_TAKE ? s.o.mode_pid : 0,
				     s.o.mode == MODE_RELEASE ? s.o.mode_pid : 0, &s.knobs);
	}

	s.page_size = sysconf(_SC_PAGESIZE);
	s.hz = sysconf(_SC_CLK_TCK);
	if (s.page_size <= 0)
		s.page_size = 4096;
	if (s.hz <= 0)
		s.hz = 100;
	s.pid_warned = calloc(s.o.npids ? s.o.npids : 1, sizeof *s.pid_warned);
	if (!s.pid_warned || ks_ksm_open(&s.ksm, s.o.ksm_dir) < 0) {
		fprintf(stderr, KS_PROG ": out of memory\n");
		return 1;
	}
	if (!s.ksm.present)
		fprintf(stderr, KS_PROG ": %s: no such directory (kernel without KSM?); KSM columns stay empty\n",
			s.o.ksm_dir);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: sleeps and writes see EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = 0;
	if (s.o.ksm) {
		char err[1024];
		snprintf(s.knobs.dir, sizeof s.knobs.dir, "%s", s.o.ksm_dir);
		s.knobs.verbose = s.o.verbose;
		s.knobs.hook = ks_stop_point;
		ks_state_init(&s.owner, s.o.state_dir, s.o.ksm_dir);
		s.owner.hook = ks_stop_point;
		/* the record is on disk before the first write to KSM; a run
		 * refused for want of ownership leaves the outputs untouched */
		int r = ks_state_take(&s.owner, getpid(), &s.knobs, err, sizeof err);
		if (r == 0 && open_outputs(&s) < 0)
			status = 1;
		else if (r == 0)
			r = ks_knobs_set(&s.knobs, err, sizeof err);
		if (r != 0) {
			fprintf(stderr, KS_PROG ": %s%s\n", r == 1 ? "" : "--ksm: ", err);
			status = r == -2 ? 2 : 1;
		}
	} else if (open_outputs(&s) < 0) {
		status = 1;
	}
	if (status == 0) {
		if (s.o.libvirt)
			s.virt = ks_virt_open(s.o.uri);
		s.ksmd = ks_proc_find_ksmd();
		ks_settle_init(&s.settle, 0.01, 2);
		write_host_header(&s);
		if (s.vm)
			write_vm_header(s.vm);

		double t0 = cm_now();
		for (long long k = 0; !stop_signal;) {
			double target = (double)k * s.o.interval;
			if (s.o.duration >= 0 && target > s.o.duration + s.o.interval * 1e-6)
				break;
			if (k > 0 && !sleep_until(t0 + target))
				break;
			bool settled = false;
			if (take_sample(&s, t0, &settled) < 0) {
				status = 1;
				break;
			}
			if (settled && s.o.settle == 2)
				break;
			/* next slot still ahead of us; late slots are skipped, not bunched */
			double now = cm_now() - t0;
			k++;
			if ((double)k * s.o.interval < now)
				k = (long long)floor(now / s.o.interval) + 1;
		}
		if (s.o.settle && !s.settle.settled) {
			char mib[32];
			fmt_mib(mib, sizeof mib, s.settle.last_saved);
			double t90 = ks_settle_time_to(&s.settle, 0.9, s.settle.last_saved);
			fprintf(stderr, KS_PROG ": not settled after %.2f s (last saving %s", s.settle.last_t,
				mib);
			if (t90 >= 0)
				fprintf(stderr, ", 90%% of it after %.2f s", t90);
			fprintf(stderr, ")\n");
		}
	}

	/* restore with the stop signals held off: a second Ctrl-C must not cut it short */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (s.o.ksm) {
		/* the record stays when a knob did not come back */
		if (ks_knobs_restore(&s.knobs) < 0) {
			status = status ? status : 1;
		} else if (s.owner.written) {
			ks_stop_point("restored");
			if (ks_state_drop(&s.owner) < 0)
				status = status ? status : 1;
		}
	}
	if (ks_out_close(&s.out, s.o.out_path) < 0 || ks_out_close(&s.vm, s.o.vm_path) < 0)
		status = status ? status : 1;
	ks_virt_close(s.virt);
	ks_knobs_free(&s.knobs);
	ks_ksm_close(&s.ksm);
	ks_settle_free(&s.settle);
	free(s.rows);
	free(s.pid_warned);
	free(s.o.pids);
	free(s.o.match);
	return status;
}
