/*
 * libvirt: the running domains, their QEMU process and virDomainMemoryStats.
 *
 * The connection is read-only (nothing here changes a domain).  When libvirt
 * is missing or goes away, the handle says so once on stderr and retries
 * every few seconds; the caller keeps sampling the host meanwhile.
 *
 * libvirt has no API for the QEMU PID.  The driver's pid file
 * (<state dir>/NAME.pid) is tried first; the PID is accepted only when that
 * process's command line carries the domain's UUID (libvirt always passes
 * -uuid), and /proc is searched for that UUID when the pid file does not
 * fit.  Found PIDs are cached per domain ID.
 *
 * libvirtd answers slowly while a domain is being started or destroyed (the
 * memory-stats call waits for the domain's job, seconds at times), so the
 * queries run in a worker thread: each sample asks for a fresh answer and
 * waits for it only a bounded time, keeping the sampling schedule.  The
 * connection is used by the worker alone.
 */
#include "ks.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_SECONDS 5.0
#define SLOW_SECONDS 10.0

struct pid_cache {
	int id;
	char uuid[VIR_UUID_STRING_BUFLEN];
	pid_t pid;
	int tries;   /* lookups that found nothing (remote URIs never will) */
	bool seen;
};

struct ks_virt {
	char uri[1024];
	/* worker only */
	virConnectPtr conn;
	bool warned;          /* the "not reachable" warning was printed */
	bool lost;            /* connection dropped after having worked */
	double next_try;
	struct ks_dom *doms;  /* the query being built */
	size_t cap;
	struct pid_cache *cache;
	size_t ncache, capcache;
	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, quit, exited;
	unsigned long req_seq, done_seq;
	double asked_at;      /* when the pending request was made */
	bool slow_warned;
	struct ks_dom *res;   /* last answer */
	size_t capres;
	int nres;             /* -1: libvirt not reachable */
	/* the caller's copy */
	struct ks_dom *out;
	size_t capout;
};

static const char *const domstat_columns[KS_DS_N] = {
	"dom_actual_bytes",	 "dom_rss_bytes",     "dom_unused_bytes",   "dom_available_bytes",
	"dom_usable_bytes",	 "dom_disk_caches_bytes", "dom_swap_in_bytes", "dom_swap_out_bytes",
	"dom_major_faults",	 "dom_minor_faults",
};

const char *ks_domstat_column(size_t i)
{
	return i < KS_DS_N ? domstat_columns[i] : NULL;
}

static void quiet_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err; /* reported by us, once, in our own words */
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();
	return m && *m ? m : "unknown error";
}

static void try_connect(struct ks_virt *v)
{
	v->next_try = cm_now() + RETRY_SECONDS;
	v->conn = virConnectOpenReadOnly(v->uri);
	if (!v->conn) {
		if (!v->warned) {
			fprintf(stderr, KS_PROG ": libvirt: cannot connect to %s: %s; recording host columns only\n",
				v->uri, last_error());
			v->warned = true;
		}
		return;
	}
	if (v->lost)
		fprintf(stderr, KS_PROG ": libvirt: connected to %s again\n", v->uri);
	v->lost = false;
}

static bool cmdline_has(pid_t pid, const char *needle)
{
	char path[64];
	static char buf[65536];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	ssize_t n = ks_read_file(path, buf, sizeof buf);
	if (n <= 0)
		return false;
	size_t nl = strlen(needle);
	for (ssize_t i = 0; i + (ssize_t)nl <= n; i++)
		if (memcmp(buf + i, needle, nl) == 0)
			return true;
	return false;
}

static pid_t pid_from_file(const char *path, const char *uuid)
{
	char buf[64];
	if (ks_read_file(path, buf, sizeof buf) <= 0)
		return 0;
	long pid = strtol(buf, NULL, 10);
	if (pid <= 0 || !cmdline_has((pid_t)pid, uuid))
		return 0;
	return (pid_t)pid;
}

static pid_t find_qemu_pid(const struct ks_virt *v, const char *name, const char *uuid)
{
	char path[4096];
	pid_t pid;
	/* system instance; session instance */
	snprintf(path, sizeof path, "/run/libvirt/qemu/%s.pid", name);
	if ((pid = pid_from_file(path, uuid)))
		return pid;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && strstr(v->uri, "session")) {
		snprintf(path, sizeof path, "%s/libvirt/qemu/run/%s.pid", xdg, name);
		if ((pid = pid_from_file(path, uuid)))
			return pid;
	}
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *de;
	pid = 0;
	while (!pid && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t p = (pid_t)atoi(de->d_name);
		char comm[64];
		if (!ks_proc_comm(p, comm, sizeof comm) || strncmp(comm, "qemu", 4) != 0)
			continue;
		if (cmdline_has(p, uuid))
			pid = p;
	}
	closedir(d);
	return pid;
}

static pid_t cached_pid(struct ks_virt *v, int id, const char *name, const char *uuid)
{
	for (size_t i = 0; i < v->ncache; i++) {
		struct pid_cache *c = &v->cache[i];
		if (c->id == id && strcmp(c->uuid, uuid) == 0) {
			c->seen = true;
			if (!c->pid && c->tries < 3) {
				c->pid = find_qemu_pid(v, name, uuid);
				c->tries += !c->pid;
			}
			return c->pid;
		}
	}
	if (v->ncache == v->capcache) {
		size_t cap = v->capcache ? 2 * v->capcache : 16;
		struct pid_cache *p = realloc(v->cache, cap * sizeof *p);
		if (!p)
			return 0;
		v->cache = p;
		v->capcache = cap;
	}
	struct pid_cache *c = &v->cache[v->ncache++];
	c->id = id;
	snprintf(c->uuid, sizeof c->uuid, "%s", uuid);
	c->pid = find_qemu_pid(v, name, uuid);
	c->tries = !c->pid;
	c->seen = true;
	return c->pid;
}

static void drop_unseen(struct ks_virt *v)
{
	size_t o = 0;
	for (size_t i = 0; i < v->ncache; i++) {
		if (!v->cache[i].seen)
			continue;
		v->cache[i].seen = false;
		v->cache[o++] = v->cache[i];
	}
	v->ncache = o;
}

static void lose(struct ks_virt *v)
{
	if (!v->warned)
		fprintf(stderr, KS_PROG ": libvirt: lost the connection to %s: %s; recording host columns only\n",
			v->uri, last_error());
	v->warned = true;
	v->lost = true;
	virConnectClose(v->conn);
	v->conn = NULL;
	v->next_try = cm_now() + RETRY_SECONDS;
}

/* One answer: the running domains with their stats, or -1. */
static int query(struct ks_virt *v)
{
	if (!v->conn) {
		if (cm_now() < v->next_try)
			return -1;
		try_connect(v);
		if (!v->conn)
			return -1;
	}
	virDomainPtr *list = NULL;
	int n = virConnectListAllDomains(v->conn, &list, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		lose(v);
		return -1;
	}
	if ((size_t)n > v->cap) {
		struct ks_dom *p = realloc(v->doms, (size_t)n * sizeof *p);
		if (!p) {
			for (int i = 0; i < n; i++)
				virDomainFree(list[i]);
			free(list);
			return -1;
		}
		v->doms = p;
		v->cap = (size_t)n;
	}
	int kept = 0;
	for (int i = 0; i < n; i++) {
		virDomainPtr dom = list[i];
		struct ks_dom *d = &v->doms[kept];
		memset(d, 0, sizeof *d);
		const char *name = virDomainGetName(dom);
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (!name || virDomainGetUUIDString(dom, uuid) < 0) {
			virDomainFree(dom);
			continue;
		}
		snprintf(d->name, sizeof d->name, "%s", name);
		virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
		/* a domain that stopped between the list and here simply fails */
		int ns = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
		if (ns < 0) {
			virDomainFree(dom);
			continue;
		}
		for (int s = 0; s < ns; s++) {
			long long val = (long long)st[s].val;
			int col = -1;
			long long scale = 1024; /* memory figures come in KiB */
			switch (st[s].tag) {
			case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON: col = KS_DS_ACTUAL; break;
			case VIR_DOMAIN_MEMORY_STAT_RSS: col = KS_DS_RSS; break;
			case VIR_DOMAIN_MEMORY_STAT_UNUSED: col = KS_DS_UNUSED; break;
			case VIR_DOMAIN_MEMORY_STAT_AVAILABLE: col = KS_DS_AVAILABLE; break;
			case VIR_DOMAIN_MEMORY_STAT_USABLE: col = KS_DS_USABLE; break;
			case VIR_DOMAIN_MEMORY_STAT_DISK_CACHES: col = KS_DS_DISK_CACHES; break;
			case VIR_DOMAIN_MEMORY_STAT_SWAP_IN: col = KS_DS_SWAP_IN; break;
			case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT: col = KS_DS_SWAP_OUT; break;
			case VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT: col = KS_DS_MAJOR_FAULT; scale = 1; break;
			case VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT: col = KS_DS_MINOR_FAULT; scale = 1; break;
			default: break;
			}
			if (col >= 0)
				ks_val_int(&d->stat[col], val * scale);
		}
		d->pid = cached_pid(v, (int)virDomainGetID(dom), name, uuid);
		virDomainFree(dom);
		kept++;
	}
	free(list);
	drop_unseen(v);
	return kept;
}

static bool grow(struct ks_dom **a, size_t *cap, size_t n)
{
	if (n <= *cap)
		return true;
	struct ks_dom *p = realloc(*a, n * sizeof *p);
	if (!p)
		return false;
	*a = p;
	*cap = n;
	return true;
}

static void *worker(void *arg)
{
	struct ks_virt *v = arg;
	/* connect here, not in the caller: a hung libvirtd must not hold up
	 * sampling (nor the restore of KSM knobs at exit) */
	try_connect(v);
	pthread_mutex_lock(&v->mu);
	while (!v->quit) {
		if (v->done_seq == v->req_seq) {
			pthread_cond_wait(&v->cv, &v->mu);
			continue;
		}
		unsigned long seq = v->req_seq;
		pthread_mutex_unlock(&v->mu);
		int n = query(v);
		pthread_mutex_lock(&v->mu);
		if (n > 0 && !grow(&v->res, &v->capres, (size_t)n))
			n = -1;
		if (n > 0)
			memcpy(v->res, v->doms, (size_t)n * sizeof *v->res);
		v->nres = n;
		v->done_seq = seq;
		pthread_cond_broadcast(&v->cv);
	}
	v->exited = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

static void deadline_in(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	long long ns = ts->tv_nsec + (long long)(s * 1e9);
	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

int ks_virt_sample(struct ks_virt *v, double wait, const struct ks_dom **out, bool *fresh)
{
	*out = NULL;
	*fresh = false;
	if (!v->started)
		return -1;
	pthread_mutex_lock(&v->mu);
	unsigned long mine = 0;
	if (v->done_seq == v->req_seq) {
		mine = ++v->req_seq;
		v->asked_at = cm_now();
		pthread_cond_broadcast(&v->cv);
	} else if (!v->slow_warned && cm_now() - v->asked_at > SLOW_SECONDS) {
		/* a hung libvirtd: say so once, keep sampling the host */
		fprintf(stderr, KS_PROG ": libvirt: no answer from %s for %.0f s; recording host columns meanwhile\n",
			v->uri, SLOW_SECONDS);
		v->slow_warned = true;
	}
	struct timespec until;
	deadline_in(&until, wait);
	while (mine && v->done_seq < mine)
		if (pthread_cond_timedwait(&v->cv, &v->mu, &until) == ETIMEDOUT)
			break;
	*fresh = mine && v->done_seq >= mine;
	int n = v->nres;
	if (n > 0 && !grow(&v->out, &v->capout, (size_t)n))
		n = -1;
	if (n > 0)
		memcpy(v->out, v->res, (size_t)n * sizeof *v->out);
	pthread_mutex_unlock(&v->mu);
	*out = v->out;
	return n;
}

struct ks_virt *ks_virt_open(const char *uri)
{
	struct ks_virt *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	snprintf(v->uri, sizeof v->uri, "%s", uri);
	virSetErrorFunc(NULL, quiet_errors);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, &ca);
	pthread_condattr_destroy(&ca);
	v->nres = -1; /* until the first answer */
	v->started = pthread_create(&v->thread, NULL, worker, v) == 0;
	if (v->started) {
		/* a first answer before the first sample, so that it has the
		 * domains; a hung libvirtd delays the start by 2 s at most */
		pthread_mutex_lock(&v->mu);
		v->req_seq = 1;
		v->asked_at = cm_now();
		pthread_cond_broadcast(&v->cv);
		struct timespec until;
		deadline_in(&until, 2.0);
		while (v->done_seq < 1)
			if (pthread_cond_timedwait(&v->cv, &v->mu, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&v->mu);
	}
	return v;
}

void ks_virt_close(struct ks_virt *v)
{
	if (!v)
		return;
	if (v->started) {
		/* a worker stuck in a libvirt call must not hold up the exit */
		pthread_mutex_lock(&v->mu);
		v->quit = true;
		pthread_cond_broadcast(&v->cv);
		struct timespec until;
		deadline_in(&until, 2.0);
		while (!v->exited)
			if (pthread_cond_timedwait(&v->cv, &v->mu, &until) == ETIMEDOUT)
				break;
		bool exited = v->exited;
		pthread_mutex_unlock(&v->mu);
		if (!exited)
			return;
		pthread_join(v->thread, NULL);
	}
	if (v->conn)
		virConnectClose(v->conn);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mu);
	free(v->doms);
	free(v->res);
	free(v->out);
	free(v->cache);
	free(v);
}
