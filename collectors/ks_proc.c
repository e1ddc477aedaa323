/*
 * /proc: host CPU (/proc/stat), memory (/proc/meminfo), ksmd's CPU time
 * (/proc/<ksmd>/stat) and per-process KSM figures (/proc/PID/ksm_stat,
 * /proc/PID/status).  Parsers take text so the unit tests can feed them.
 */
#include "ks.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- /proc/stat ---- */

bool ks_proc_parse_cpu(const char *text, struct ks_cpu *out)
{
	memset(out, 0, sizeof *out);
	if (strncmp(text, "cpu ", 4) != 0)
		return false;
	unsigned long long v[8] = { 0 };
	const char *p = text + 4;
	int n = 0;
	for (; n < 8; n++) {
		char *end;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		errno = 0;
		v[n] = strtoull(p, &end, 10);
		if (errno)
			return false;
		p = end;
	}
	if (n < 4) /* user nice system idle are there since forever */
		return false;
	out->user = v[0];
	out->nice = v[1];
	out->system = v[2];
	out->idle = v[3];
	out->iowait = v[4];
	out->irq = v[5];
	out->softirq = v[6];
	out->steal = v[7];
	out->ok = true;
	return true;
}

bool ks_proc_read_cpu(struct ks_cpu *out)
{
	char buf[512];
	if (ks_read_file("/proc/stat", buf, sizeof buf) < 0) {
		memset(out, 0, sizeof *out);
		return false;
	}
	return ks_proc_parse_cpu(buf, out);
}

static unsigned long long delta(unsigned long long a, unsigned long long b)
{
	return b >= a ? b - a : 0; /* a CPU going offline can step counters back */
}

bool ks_cpu_pct(const struct ks_cpu *a, const struct ks_cpu *b, double pct[KS_CPU_N])
{
	if (!a->ok || !b->ok)
		return false;
	/* guest time is already inside user and nice */
	unsigned long long user = delta(a->user, b->user) + delta(a->nice, b->nice);
	unsigned long long sys = delta(a->system, b->system) + delta(a->irq, b->irq) +
				 delta(a->softirq, b->softirq);
	unsigned long long iow = delta(a->iowait, b->iowait);
	unsigned long long steal = delta(a->steal, b->steal);
	unsigned long long idle = delta(a->idle, b->idle);
	unsigned long long total = user + sys + iow + steal + idle;
	if (total == 0)
		return false;
	pct[KS_CPU_USER] = 100.0 * (double)user / (double)total;
	pct[KS_CPU_SYSTEM] = 100.0 * (double)sys / (double)total;
	pct[KS_CPU_IOWAIT] = 100.0 * (double)iow / (double)total;
	pct[KS_CPU_STEAL] = 100.0 * (double)steal / (double)total;
	pct[KS_CPU_IDLE] = 100.0 * (double)idle / (double)total;
	return true;
}

/* ---- /proc/meminfo ---- */

/* What a memory-over-time chart of a KSM host needs: totals, what is free,
 * anonymous memory (where VM RAM lives), caches, and swap. */
static const char *const meminfo_fields[] = {
	"MemTotal", "MemFree",	  "MemAvailable", "Buffers",  "Cached",	  "AnonPages", "AnonHugePages",
	"Shmem",    "Slab",	  "PageTables",	  "SwapTotal", "SwapFree", "Committed_AS",
};

size_t ks_meminfo_count(void)
{
	return sizeof meminfo_fields / sizeof *meminfo_fields;
}

const char *ks_meminfo_name(size_t i)
{
	return i < ks_meminfo_count() ? meminfo_fields[i] : NULL;
}

void ks_proc_parse_meminfo(const char *text, long long *vals)
{
	size_t n = ks_meminfo_count();
	for (size_t i = 0; i < n; i++)
		vals[i] = -1;
	for (const char *line = text; line && *line;) {
		const char *colon = strchr(line, ':');
		const char *nl = strchr(line, '\n');
		if (colon && (!nl || colon < nl)) {
			size_t len = (size_t)(colon - line);
			for (size_t i = 0; i < n; i++) {
				if (strlen(meminfo_fields[i]) != len ||
				    strncmp(line, meminfo_fields[i], len) != 0)
					continue;
				char *end;
				errno = 0;
				long long v = strtoll(colon + 1, &end, 10);
				if (errno || end == colon + 1 || v < 0)
					break;
				while (*end == ' ')
					end++;
				/* every kept field is in kB (1024 bytes) */
				vals[i] = strncmp(end, "kB", 2) == 0 ? v * 1024 : v;
				break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

bool ks_proc_read_meminfo(long long *vals)
{
	char buf[8192];
	if (ks_read_file("/proc/meminfo", buf, sizeof buf) < 0) {
		for (size_t i = 0; i < ks_meminfo_count(); i++)
			vals[i] = -1;
		return false;
	}
	ks_proc_parse_meminfo(buf, vals);
	return true;
}

/* ---- /proc/PID/stat ---- */

bool ks_proc_parse_task_stat(const char *text, unsigned long long *ticks, int *ppid, char *comm,
			     size_t commlen)
{
	/* "pid (comm) state ppid ..."; comm may hold spaces and parentheses */
	const char *lp = strchr(text, '(');
	const char *rp = strrchr(text, ')');
	if (!lp || !rp || rp < lp)
		return false;
	if (comm && commlen) {
		size_t len = (size_t)(rp - lp - 1);
		if (len >= commlen)
			len = commlen - 1;
		memcpy(comm, lp + 1, len);
		comm[len] = 0;
	}
	const char *p = rp + 1;
	unsigned long long utime = 0, stime = 0;
	/* fields after the comm: state(3) ppid(4) ... utime(14) stime(15) */
	for (int field = 3; field <= 15; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		const char *tok = p;
		while (*p && *p != ' ')
			p++;
		if (field == 4 && ppid)
			*ppid = atoi(tok);
		else if (field == 14)
			utime = strtoull(tok, NULL, 10);
		else if (field == 15)
			stime = strtoull(tok, NULL, 10);
	}
	if (ticks)
		*ticks = utime + stime;
	return true;
}

bool ks_proc_task_ticks(pid_t pid, unsigned long long *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return false;
	return ks_proc_parse_task_stat(buf, ticks, NULL, NULL, 0);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

pid_t ks_proc_find_ksmd(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		char path[300], buf[1024], comm[32];
		int ppid = -1;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if (ks_read_file(path, buf, sizeof buf) < 0 ||
		    !ks_proc_parse_task_stat(buf, NULL, &ppid, comm, sizeof comm))
			continue;
		/* the kernel thread, child of kthreadd (pid 2) */
		if (strcmp(comm, "ksmd") == 0 && ppid == 2)
			found = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

/* ---- per process ---- */

static const char *const pidstat_columns[KS_PS_N] = {
	"ksm_rmap_items",     "ksm_zero_pages", "ksm_merging_pages", "ksm_process_profit",
	"ksm_mergeable",      "ksm_merge_any",	"rss_bytes",
};

const char *ks_pidstat_column(size_t i)
{
	return i < KS_PS_N ? pidstat_columns[i] : NULL;
}

void ks_proc_parse_ksm_stat(const char *text, struct ks_pidstat *ps)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = 0;
		while (line[len] && line[len] != ' ' && line[len] != ':' && line[len] != '\n')
			len++;
		for (size_t i = 0; i < KS_PS_RSS; i++) {
			if (strlen(pidstat_columns[i]) != len || strncmp(line, pidstat_columns[i], len))
				continue;
			const char *v = line + len;
			while (*v == ':' || *v == ' ')
				v++;
			struct ks_val *out = &ps->v[i];
			if (strncmp(v, "yes", 3) == 0) {
				ks_val_int(out, 1);
			} else if (strncmp(v, "no", 2) == 0) {
				ks_val_int(out, 0);
			} else {
				char *end;
				errno = 0;
				long long x = strtoll(v, &end, 10);
				if (end != v && !errno)
					ks_val_int(out, x);
			}
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
}

long long ks_proc_parse_vmrss(const char *text)
{
	const char *p = strstr(text, "\nVmRSS:");
	if (!p)
		return -1;
	char *end;
	long long kb = strtoll(p + 7, &end, 10);
	return end == p + 7 ? -1 : kb * 1024;
}

long long ks_proc_parse_statm(const char *text, long page_size)
{
	/* size resident shared text lib data dt, in pages; resident is the
	 * figure status calls VmRSS (anon + file + shmem) */
	char *end;
	long long size = strtoll(text, &end, 10);
	if (end == text)
		return -1;
	const char *p = end;
	long long resident = strtoll(p, &end, 10);
	if (end == p || size == 0) /* kernel threads and zombies have no mm */
		return -1;
	return resident * page_size;
}

bool ks_proc_read_pid(pid_t pid, struct ks_pidstat *ps)
{
	char path[64], buf[4096];
	memset(ps, 0, sizeof *ps);
	/* statm, not status: the same VmRSS for a tenth of the kernel's work */
	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return false;
	static long page_size;
	if (!page_size)
		page_size = sysconf(_SC_PAGESIZE);
	long long rss = ks_proc_parse_statm(buf, page_size);
	if (rss >= 0)
		ks_val_int(&ps->v[KS_PS_RSS], rss);
	snprintf(path, sizeof path, "/proc/%d/ksm_stat", (int)pid);
	if (ks_read_file(path, buf, sizeof buf) >= 0) {
		ks_proc_parse_ksm_stat(buf, ps);
	} else {
		/* kernels 5.19 and 6.0 have only this one */
		snprintf(path, sizeof path, "/proc/%d/ksm_merging_pages", (int)pid);
		if (ks_read_file(path, buf, sizeof buf) >= 0) {
			struct ks_val v;
			ks_ksm_parse_value(buf, &v);
			if (v.kind == KS_INT)
				ps->v[KS_PS_MERGING_PAGES] = v;
		}
	}
	return true;
}

bool ks_proc_comm(pid_t pid, char *comm, size_t len)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return false;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(comm, len, "%s", buf);
	return true;
}

static bool match_any(const char *const *pat, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pat[i], s, 0) == 0)
			return true;
	return false;
}

size_t ks_proc_match(const char *const *patterns, size_t npat, pid_t self, pid_t **out)
{
	*out = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid == self)
			continue;
		char comm[64];
		if (!ks_proc_comm(pid, comm, sizeof comm))
			continue;
		bool hit = match_any(patterns, npat, comm);
		if (!hit && strlen(comm) >= 15) {
			/* comm is cut at 15 characters: look at argv[0] too */
			char path[64], buf[512];
			snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
			if (ks_read_file(path, buf, sizeof buf) > 0) {
				const char *base = strrchr(buf, '/');
				hit = match_any(patterns, npat, base ? base + 1 : buf);
			}
		}
		if (!hit)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			pid_t *p = realloc(*out, cap * sizeof *p);
			if (!p)
				break;
			*out = p;
		}
		(*out)[n++] = pid;
	}
	closedir(d);
	return n;
}

bool ks_parse_pid_list(const char *s, pid_t **pids, size_t *n)
{
	const char *p = s;
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		if (!*p)
			break;
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v <= 0 || v > 0x7fffffffL || (*end && *end != ',' && *end != ' '))
			return false;
		pid_t *np = realloc(*pids, (*n + 1) * sizeof *np);
		if (!np)
			return false;
		*pids = np;
		(*pids)[(*n)++] = (pid_t)v;
		p = end;
	}
	return true;
}
