/*
 * Unit tests of ksm-sample's parsers, convergence detector, output helpers
 * and --ksm knob handling (against a scratch directory, never real sysfs).
 * The collector sources are compiled in directly: they are not a library.
 */
#include "tap.h"

#include "../../collectors/ks_file.c"
#include "../../collectors/ks_ksm.c"
#include "../../collectors/ks_out.c"
#include "../../collectors/ks_proc.c"
#include "../../collectors/ks_settle.c"

#include <stdlib.h>
#include <sys/stat.h>

static void test_values(void)
{
	struct ks_val v;
	ks_ksm_parse_value("16320\n", &v);
	ok(v.kind == KS_INT && v.i == 16320, "sysfs number");
	ks_ksm_parse_value("-40960\n", &v);
	ok(v.kind == KS_INT && v.i == -40960, "negative general_profit");
	ks_ksm_parse_value("[none] scan-time\n", &v);
	ok(v.kind == KS_TEXT && strcmp(v.s, "none") == 0, "choice file gives the selected word");
	ks_ksm_parse_value("none [scan-time]\n", &v);
	is_str(v.s, "scan-time", "choice file, second option selected");
	ks_ksm_parse_value("\n", &v);
	ok(v.kind == KS_EMPTY, "empty file is an empty cell");
	ok(ks_ksm_is_counter("pages_sharing") && !ks_ksm_is_counter("pages_to_scan"),
	   "counters are not knobs");
}

static void test_cpu(void)
{
	struct ks_cpu a, b;
	ok(ks_proc_parse_cpu("cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 1 2 3 4\n", &a), "parse /proc/stat");
	ok(ks_proc_parse_cpu("cpu  160 20 70 1000 20 5 5 10 0 0\n", &b), "parse second /proc/stat");
	is_u64(b.steal, 10, "steal column");
	double pct[KS_CPU_N];
	ok(ks_cpu_pct(&a, &b, pct), "percentages over the interval");
	/* deltas: user 60+20, system 20+5+5, iowait 10, steal 10, idle 200: total 330 */
	ok(fabs(pct[KS_CPU_USER] - 100.0 * 80 / 330) < 1e-9, "user includes nice: %.3f", pct[KS_CPU_USER]);
	ok(fabs(pct[KS_CPU_SYSTEM] - 100.0 * 30 / 330) < 1e-9, "system includes irq and softirq");
	ok(fabs(pct[KS_CPU_IDLE] - 100.0 * 200 / 330) < 1e-9, "idle");
	double sum = 0;
	for (int i = 0; i < KS_CPU_N; i++)
		sum += pct[i];
	ok(fabs(sum - 100) < 1e-9, "modes add up to 100 %%");
	ok(!ks_cpu_pct(&a, &a, pct), "no time passed: no percentages");
	ok(!ks_proc_parse_cpu("intr 1 2 3\n", &a), "not a cpu line");
}

static void test_meminfo(void)
{
	const char *text = "MemTotal:       24683620 kB\nMemFree:        24469116 kB\n"
			   "MemAvailable:   24414228 kB\nActive(anon):       1512 kB\n"
			   "AnonPages:          6668 kB\nHugePages_Total:       0\n";
	long long v[32];
	ks_proc_parse_meminfo(text, v);
	size_t n = ks_meminfo_count();
	long long total = -2, anon = -2, shmem = -2;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ks_meminfo_name(i), "MemTotal") == 0)
			total = v[i];
		if (strcmp(ks_meminfo_name(i), "AnonPages") == 0)
			anon = v[i];
		if (strcmp(ks_meminfo_name(i), "Shmem") == 0)
			shmem = v[i];
	}
	is_u64(total, 24683620LL * 1024, "MemTotal in bytes");
	is_u64(anon, 6668LL * 1024, "AnonPages in bytes");
	ok(shmem == -1, "missing field is -1");
}

static void test_task_stat(void)
{
	unsigned long long ticks = 0;
	int ppid = 0;
	char comm[32];
	const char *st = "37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 25 5 1 0 21 0 0\n";
	ok(ks_proc_parse_task_stat(st, &ticks, &ppid, comm, sizeof comm), "parse task stat");
	is_u64(ticks, 30, "utime + stime");
	ok(ppid == 2, "ppid");
	is_str(comm, "ksmd", "comm");
	const char *odd = "99 (a) b) c) R 1 0 0 0 -1 0 0 0 0 0 7 8 0 0\n";
	ok(ks_proc_parse_task_stat(odd, &ticks, &ppid, comm, sizeof comm) && ticks == 15 && ppid == 1,
	   "comm with spaces and parentheses");
	is_str(comm, "a) b) c", "odd comm kept whole");
}

static void test_pid(void)
{
	struct ks_pidstat ps;
	memset(&ps, 0, sizeof ps);
	ks_proc_parse_ksm_stat("ksm_rmap_items 16384\nksm_zero_pages 0\nksm_merging_pages 16320\n"
			       "ksm_process_profit 65929216\nksm_merge_any: no\nksm_mergeable: yes\n",
			       &ps);
	is_u64(ps.v[KS_PS_RMAP_ITEMS].i, 16384, "ksm_rmap_items");
	is_u64(ps.v[KS_PS_MERGING_PAGES].i, 16320, "ksm_merging_pages");
	is_u64(ps.v[KS_PS_PROFIT].i, 65929216, "ksm_process_profit");
	ok(ps.v[KS_PS_MERGEABLE].kind == KS_INT && ps.v[KS_PS_MERGEABLE].i == 1, "mergeable yes -> 1");
	ok(ps.v[KS_PS_MERGE_ANY].kind == KS_INT && ps.v[KS_PS_MERGE_ANY].i == 0, "merge_any no -> 0");
	ok(ps.v[KS_PS_RSS].kind == KS_EMPTY, "rss not from ksm_stat");
	is_u64(ks_proc_parse_vmrss("Name:\tx\nVmPeak:\t 10 kB\nVmRSS:\t   70564 kB\n"), 70564LL * 1024,
	       "VmRSS in bytes");
	ok(ks_proc_parse_vmrss("Name:\tkthreadd\nState:\tS\n") == -1, "kernel thread has no VmRSS");
	is_u64(ks_proc_parse_statm("4450 1200 300 50 0 900 0\n", 4096), 1200LL * 4096,
	       "statm resident pages in bytes");
	ok(ks_proc_parse_statm("0 0 0 0 0 0 0\n", 4096) == -1, "statm of a kernel thread or zombie");

	pid_t *pids = NULL;
	size_t n = 0;
	ok(ks_parse_pid_list("12,34 56", &pids, &n) && n == 3 && pids[2] == 56, "pid list");
	ok(!ks_parse_pid_list("12,x", &pids, &n), "bad pid list");
	free(pids);
}

static void test_settle(void)
{
	struct ks_settle s;
	ks_settle_init(&s, 0.01, 2);
	/* scan 0: nothing; scan 1 (checksums only): nothing; scan 2: merged */
	ok(!ks_settle_feed(&s, 0, 0, 0, 0, 0), "t=0");
	ok(!ks_settle_feed(&s, 1, 0, 0, 0, 0), "same scan: no snapshot");
	ok(!ks_settle_feed(&s, 2, 1, 0, 0, 0), "scan 1");
	ok(!ks_settle_feed(&s, 3, 2, 40, 10000, 10000 * 4096LL), "scan 2: merging");
	ok(!ks_settle_feed(&s, 4, 3, 64, 16300, 16300 * 4096LL), "scan 3: 0 -> 16300 is no plateau");
	ok(!ks_settle_feed(&s, 5, 4, 64, 16320, 16320 * 4096LL), "scan 4: 10000 two scans ago");
	ok(ks_settle_feed(&s, 6, 5, 64, 16320, 16320 * 4096LL), "scan 5: flat over scans 3..5");
	ok(s.settled && s.t_settled == 6, "settled at t=6");
	ok(!ks_settle_feed(&s, 7, 6, 64, 16320, 16320 * 4096LL), "reported once");
	double t90 = ks_settle_time_to(&s, 0.9, s.final_saved);
	ok(t90 == 4, "90%% of the final saving first reached at t=4 (got %g)", t90);
	ok(ks_settle_time_to(&s, 0.9, 0) < 0, "no saving: no time");
	ks_settle_free(&s);

	/* sampled slower than KSM scans: consecutive samples span many scans */
	ks_settle_init(&s, 0.01, 2);
	ok(!ks_settle_feed(&s, 0, 10, 64, 16000, 1), "slow sampling, first");
	ok(!ks_settle_feed(&s, 1, 30, 64, 16320, 1), "2 %% change");
	ok(ks_settle_feed(&s, 2, 50, 64, 16330, 1), "0.06 %% change over 20 scans");
	ks_settle_free(&s);

	/* saw-tooth larger than 1 % never settles */
	ks_settle_init(&s, 0.01, 2);
	bool any = false;
	for (int i = 0; i < 40; i++)
		any |= ks_settle_feed(&s, i, i, 100, i % 2 ? 11600 : 24400, 1);
	ok(!any, "saw-tooth does not settle");
	ks_settle_free(&s);
}

static void test_output(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cm_csv_field(f, "plain");
	fputc('|', f);
	cm_csv_field(f, "a,b \"c\"");
	fputc('|', f);
	struct ks_val v = { 0 };
	ks_val_real(&v, 12.3456);
	ks_csv_val(f, &v, 2);
	fputc('|', f);
	v.kind = KS_EMPTY;
	ks_csv_val(f, &v, 2);
	fclose(f);
	is_str(buf, "plain|\"a,b \"\"c\"\"\"|12.35|", "CSV cells");
	free(buf);

	char iso[48];
	ks_iso8601(iso, sizeof iso, 1700000000LL, 123456789L);
	is_str(iso, "2023-11-14T22:13:20.123Z", "ISO-8601 UTC with milliseconds");

	char name[96];
	const char *type;
	double scale;
	ks_prom_ksm_name("full_scans", name, sizeof name, &type, &scale);
	ok(strcmp(name, "node_ksmd_full_scans_total") == 0 && strcmp(type, "counter") == 0,
	   "full_scans as node_exporter names it");
	ks_prom_ksm_name("sleep_millisecs", name, sizeof name, &type, &scale);
	ok(strcmp(name, "node_ksmd_sleep_seconds") == 0 && scale == 0.001, "sleep in seconds");
	ks_prom_ksm_name("pages_sharing", name, sizeof name, &type, &scale);
	is_str(name, "node_ksmd_pages_sharing", "pages_sharing");
	ks_prom_ksm_name("ksm_zero_pages", name, sizeof name, &type, &scale);
	is_str(name, "samepage_ksm_zero_pages", "newer counters under samepage_ksm_");
	ks_prom_label_escape("a\"b\\c\nd", name, sizeof name);
	is_str(name, "a\\\"b\\\\c\\nd", "label escaping");
}

static void put(const char *dir, const char *name, const char *val)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fprintf(f, "%s\n", val);
	fclose(f);
}

static char *get(const char *dir, const char *name)
{
	static char buf[128];
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return NULL;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void test_knobs(void)
{
	char dir[] = "/tmp/ksm-unit.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	put(dir, "run", "0");
	put(dir, "pages_to_scan", "100");
	put(dir, "sleep_millisecs", "20");
	put(dir, "max_page_sharing", "256");
	put(dir, "advisor_mode", "[none] scan-time");
	put(dir, "pages_sharing", "77");

	struct ks_knobs kn;
	memset(&kn, 0, sizeof kn);
	char err[256];
	snprintf(kn.dir, sizeof kn.dir, "%s", dir);
	ok(ks_knobs_parse(&kn, "run=1,max_page_sharing=512,pages_to_scan=1000", err, sizeof err) == 0,
	   "parse --ksm");
	ok(ks_knobs_apply(&kn, err, sizeof err) == 0, "apply: %s", err);
	is_str(get(dir, "run"), "1", "run set");
	is_str(get(dir, "max_page_sharing"), "512", "max_page_sharing set");
	is_str(get(dir, "pages_to_scan"), "1000", "pages_to_scan set");
	is_str(get(dir, "sleep_millisecs"), "20", "unrequested knob untouched");
	is_str(get(dir, "pages_sharing"), "77", "counter untouched");
	put(dir, "advisor_mode", "none [scan-time]"); /* something else changed it meanwhile */
	ok(ks_knobs_restore(&kn) == 0, "restore");
	is_str(get(dir, "run"), "0", "run restored");
	is_str(get(dir, "max_page_sharing"), "256", "max_page_sharing restored");
	is_str(get(dir, "pages_to_scan"), "100", "pages_to_scan restored");
	is_str(get(dir, "advisor_mode"), "none", "every knob restored, also unrequested ones");
	ks_knobs_free(&kn);

	memset(&kn, 0, sizeof kn);
	snprintf(kn.dir, sizeof kn.dir, "%s", dir);
	ok(ks_knobs_parse(&kn, "run=1,bogus_knob=3", err, sizeof err) == 0, "parse unknown knob");
	ok(ks_knobs_apply(&kn, err, sizeof err) == -2, "unknown knob refused");
	is_str(get(dir, "run"), "0", "nothing written before the check");
	ks_knobs_free(&kn);

	memset(&kn, 0, sizeof kn);
	ok(ks_knobs_parse(&kn, "run", err, sizeof err) < 0, "'run' alone is not key=value");
	ks_knobs_free(&kn);
	memset(&kn, 0, sizeof kn);
	ok(ks_knobs_parse(&kn, "../x=1", err, sizeof err) < 0, "no paths in knob names");
	ks_knobs_free(&kn);

	const char *names[] = { "run", "pages_to_scan", "sleep_millisecs", "max_page_sharing",
				"advisor_mode", "pages_sharing" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_values();
	test_cpu();
	test_meminfo();
	test_task_stat();
	test_pid();
	test_settle();
	test_output();
	test_knobs();
	return tap_done();
}
