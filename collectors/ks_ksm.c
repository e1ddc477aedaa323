/*
 * KSM sysfs: read every file of /sys/kernel/mm/ksm as one column each, and
 * set/restore its knobs for --ksm.
 *
 * The column list is a fixed core (so CSVs of different kernels line up and a
 * counter an older kernel lacks is an empty cell) united with whatever the
 * directory holds (so counters of newer kernels appear by themselves).
 */
#include "ks.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Always present as columns, whatever the kernel offers. */
static const char *const core_files[] = {
	"full_scans",	   "general_profit", "ksm_zero_pages",	   "max_page_sharing",
	"merge_across_nodes", "pages_shared", "pages_sharing",	   "pages_to_scan",
	"pages_unshared",  "pages_volatile", "run",		   "sleep_millisecs",
	"stable_node_chains", "stable_node_dups", "use_zero_pages",
};

/* Files that report state.  Writable files that are not listed here are
 * knobs; the list matters only for test directories, where every file is
 * writable. */
static const char *const counter_files[] = {
	"full_scans",	  "general_profit",	"ksm_zero_pages", "pages_scanned",
	"pages_shared",	  "pages_sharing",	"pages_skipped",  "pages_unshared",
	"pages_volatile", "stable_node_chains", "stable_node_dups", "zero_pages_sharing",
};

bool ks_ksm_is_counter(const char *name)
{
	for (size_t i = 0; i < sizeof counter_files / sizeof *counter_files; i++)
		if (strcmp(name, counter_files[i]) == 0)
			return true;
	return false;
}

bool ks_val_num(const struct ks_val *v, double *out)
{
	switch (v->kind) {
	case KS_INT: *out = (double)v->i; return true;
	case KS_REAL: *out = v->d; return true;
	default: return false;
	}
}

void ks_ksm_parse_value(const char *raw, struct ks_val *out)
{
	memset(out, 0, sizeof *out);
	/* a choice file lists every option and brackets the selected one */
	const char *lb = strchr(raw, '[');
	const char *rb = lb ? strchr(lb, ']') : NULL;
	const char *b = raw, *e;
	if (lb && rb) {
		b = lb + 1;
		e = rb;
	} else {
		while (isspace((unsigned char)*b))
			b++;
		e = b + strlen(b);
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
	}
	size_t len = (size_t)(e - b);
	if (len == 0)
		return;
	if (len >= sizeof out->s)
		len = sizeof out->s - 1;
	memcpy(out->s, b, len);
	out->s[len] = 0;
	char *end;
	errno = 0;
	long long v = strtoll(out->s, &end, 10);
	if (*end == 0 && errno == 0 && end != out->s) {
		out->kind = KS_INT;
		out->i = v;
	} else {
		out->kind = KS_TEXT;
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static bool has_name(char (*names)[KS_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int ks_ksm_open(struct ks_ksm *k, const char *dir)
{
	memset(k, 0, sizeof *k);
	snprintf(k->dir, sizeof k->dir, "%s", dir);
	size_t cap = 64;
	k->names = calloc(cap, sizeof *k->names);
	if (!k->names)
		return -1;
	for (size_t i = 0; i < sizeof core_files / sizeof *core_files; i++)
		snprintf(k->names[k->n++], KS_NAME_MAX, "%s", core_files[i]);
	DIR *d = opendir(dir);
	if (d) {
		k->present = true;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || de->d_type == DT_DIR ||
			    strlen(de->d_name) >= KS_NAME_MAX || has_name(k->names, k->n, de->d_name))
				continue;
			if (k->n == cap) {
				void *p = realloc(k->names, 2 * cap * sizeof *k->names);
				if (!p) {
					closedir(d);
					return -1;
				}
				k->names = p;
				cap *= 2;
			}
			memcpy(k->names[k->n++], de->d_name, strlen(de->d_name) + 1);
		}
		closedir(d);
	}
	qsort(k->names, k->n, sizeof *k->names, cmp_name);
	k->vals = calloc(k->n, sizeof *k->vals);
	return k->vals ? 0 : -1;
}

void ks_ksm_close(struct ks_ksm *k)
{
	free(k->names);
	free(k->vals);
	memset(k, 0, sizeof *k);
}

void ks_ksm_read(struct ks_ksm *k)
{
	char path[4096 + KS_NAME_MAX + 2], buf[256];
	for (size_t i = 0; i < k->n; i++) {
		snprintf(path, sizeof path, "%s/%s", k->dir, k->names[i]);
		if (ks_read_file(path, buf, sizeof buf) < 0)
			memset(&k->vals[i], 0, sizeof k->vals[i]);
		else
			ks_ksm_parse_value(buf, &k->vals[i]);
	}
}

bool ks_ksm_get(const struct ks_ksm *k, const char *name, long long *out)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->names[i], name) == 0) {
			if (k->vals[i].kind != KS_INT)
				return false;
			*out = k->vals[i].i;
			return true;
		}
	return false;
}

/* ---- knobs ---- */

static struct ks_knob *knob_find(struct ks_knobs *kn, const char *name)
{
	for (size_t i = 0; i < kn->n; i++)
		if (strcmp(kn->k[i].name, name) == 0)
			return &kn->k[i];
	return NULL;
}

static struct ks_knob *knob_add(struct ks_knobs *kn, const char *name)
{
	struct ks_knob *k = knob_find(kn, name);
	if (k)
		return k;
	struct ks_knob *p = realloc(kn->k, (kn->n + 1) * sizeof *p);
	if (!p)
		return NULL;
	kn->k = p;
	k = p + kn->n;
	kn->n++;
	memset(k, 0, sizeof *k);
	size_t len = strlen(name);
	if (len >= sizeof k->name)
		len = sizeof k->name - 1;
	memcpy(k->name, name, len);
	k->name[len] = 0;
	return k;
}

int ks_knobs_parse(struct ks_knobs *kn, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t order = kn->n;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1]) {
			snprintf(err, errlen, "'%s' is not key=value", item);
			free(copy);
			return -1;
		}
		*eq = 0;
		const char *val = eq + 1;
		if (strlen(item) >= KS_NAME_MAX || strchr(item, '/') || strlen(val) >= KS_VALUE_MAX ||
		    strpbrk(val, " \t\n")) {
			snprintf(err, errlen, "'%s=%s' is not a valid setting", item, val);
			free(copy);
			return -1;
		}
		struct ks_knob *k = knob_add(kn, item);
		if (!k) {
			snprintf(err, errlen, "out of memory");
			free(copy);
			return -1;
		}
		snprintf(k->want, sizeof k->want, "%s", val);
		k->requested = true;
		k->order = order++;
	}
	free(copy);
	if (kn->n == 0) {
		snprintf(err, errlen, "no setting given");
		return -1;
	}
	return 0;
}

static int knob_read(const struct ks_knobs *kn, const char *name, char *out, size_t len)
{
	char path[4096 + KS_NAME_MAX + 2], buf[256];
	snprintf(path, sizeof path, "%s/%s", kn->dir, name);
	if (ks_read_file(path, buf, sizeof buf) < 0)
		return -1;
	struct ks_val v;
	ks_ksm_parse_value(buf, &v);
	if (v.kind == KS_EMPTY)
		return -1;
	snprintf(out, len, "%s", v.s);
	return 0;
}

static int knob_write(const struct ks_knobs *kn, const char *name, const char *value,
		      const char *was, char *err, size_t errlen)
{
	char path[4096 + KS_NAME_MAX + 2], line[KS_VALUE_MAX + 2];
	snprintf(path, sizeof path, "%s/%s", kn->dir, name);
	int len = snprintf(line, sizeof line, "%s\n", value);
	if (kn->verbose)
		fprintf(stderr, KS_PROG ": ksm: %s=%s (was %s)\n", name, value, was);
	/* unmerging (run=2) stops early when a signal arrives: try again */
	for (int tries = 0;; tries++) {
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		ssize_t w = write(fd, line, (size_t)len);
		int e = errno;
		close(fd);
		if (w == len)
			return 0;
		if (w < 0 && e == EINTR && tries < 1000)
			continue;
		snprintf(err, errlen, "cannot set %s=%s: %s", name, value,
			 w < 0 ? strerror(e) : "short write");
		return -1;
	}
}

static bool is_knob_file(const char *dir, const char *name)
{
	char path[4096 + KS_NAME_MAX + 2];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0222))
		return false;
	return !ks_ksm_is_counter(name);
}

/* Settings that the kernel accepts only while nothing is merged. */
static bool needs_unmerged(const char *name)
{
	return strcmp(name, "max_page_sharing") == 0 || strcmp(name, "merge_across_nodes") == 0;
}

/* 0: advisor off; 1: settings that need nothing merged; 2: the rest;
 * 3: advisor on; -1: run, written last of all */
static int write_pass(const char *name, const char *want)
{
	if (strcmp(name, "advisor_mode") == 0)
		return strcmp(want, "none") == 0 ? 0 : 3;
	if (strcmp(name, "run") == 0)
		return -1;
	return needs_unmerged(name) ? 1 : 2;
}

/* Stop point for tests (see ks_knobs.hook): the moment is named. */
static void knob_hook(const struct ks_knobs *kn, const char *point)
{
	if (kn->hook)
		kn->hook(point);
}

int ks_knobs_save(struct ks_knobs *kn, char *err, size_t errlen)
{
	/* save every knob the kernel offers */
	DIR *d = opendir(kn->dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", kn->dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= KS_NAME_MAX ||
		    !is_knob_file(kn->dir, de->d_name))
			continue;
		struct ks_knob *k = knob_add(kn, de->d_name);
		if (!k) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	for (size_t i = 0; i < kn->n; i++) {
		struct ks_knob *k = &kn->k[i];
		if (!is_knob_file(kn->dir, k->name)) {
			snprintf(err, errlen, "'%s' is not a KSM setting in %s", k->name, kn->dir);
			return -2;
		}
		if (knob_read(kn, k->name, k->saved, sizeof k->saved) < 0) {
			snprintf(err, errlen, "cannot read %s/%s", kn->dir, k->name);
			return -1;
		}
	}
	kn->saved = true;
	return 0;
}

int ks_knobs_set(struct ks_knobs *kn, char *err, size_t errlen)
{
	/* write the requested values that differ, in a safe order */
	size_t *req = calloc(kn->n + 1, sizeof *req);
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t nreq = 0;
	bool unmerge = false;
	for (size_t i = 0; i < kn->n; i++) {
		const struct ks_knob *k = &kn->k[i];
		if (!k->requested || strcmp(k->want, k->saved) == 0)
			continue;
		req[nreq++] = i;
		if (needs_unmerged(k->name))
			unmerge = true;
	}
	/* in --ksm order */
	for (size_t i = 1; i < nreq; i++)
		for (size_t j = i; j > 0 && kn->k[req[j - 1]].order > kn->k[req[j]].order; j--) {
			size_t t = req[j];
			req[j] = req[j - 1];
			req[j - 1] = t;
		}
	const struct ks_knob *run = knob_find(kn, "run");
	int rc = 0;
	if (unmerge && run) {
		knob_hook(kn, "apply-unmerge");
		rc = knob_write(kn, "run", "2", run->saved, err, errlen);
	}
	/* pages_to_scan is refused while the scan-time advisor runs: the
	 * advisor goes off first and on last */
	for (int pass = 0; pass < 4 && rc == 0; pass++) {
		for (size_t i = 0; i < nreq && rc == 0; i++) {
			const struct ks_knob *k = &kn->k[req[i]];
			if (write_pass(k->name, k->want) == pass)
				rc = knob_write(kn, k->name, k->want, k->saved, err, errlen);
		}
	}
	if (rc == 0 && run) {
		if (run->requested && strcmp(run->want, run->saved) != 0)
			rc = knob_write(kn, "run", run->want, unmerge ? "2" : run->saved, err, errlen);
		else if (unmerge)
			rc = knob_write(kn, "run", run->saved, "2", err, errlen);
	}
	free(req);
	return rc;
}

int ks_knobs_apply(struct ks_knobs *kn, char *err, size_t errlen)
{
	int rc = ks_knobs_save(kn, err, errlen);
	return rc < 0 ? rc : ks_knobs_set(kn, err, errlen);
}

int ks_knobs_restore(struct ks_knobs *kn)
{
	if (!kn->saved)
		return 0;
	char err[512];
	int rc = 0;
	char (*cur)[KS_VALUE_MAX] = calloc(kn->n ? kn->n : 1, sizeof *cur);
	if (!cur)
		return -1;
	for (size_t i = 0; i < kn->n; i++)
		if (knob_read(kn, kn->k[i].name, cur[i], sizeof cur[i]) < 0)
			cur[i][0] = 0;

	struct ks_knob *run = knob_find(kn, "run");
	size_t run_i = run ? (size_t)(run - kn->k) : 0;
	bool unmerge = false;
	for (size_t i = 0; i < kn->n; i++)
		if (needs_unmerged(kn->k[i].name) && strcmp(cur[i], kn->k[i].saved) != 0)
			unmerge = true;
	/* KSM was not merging before: take back what merged during the run */
	if (run && strcmp(run->saved, "1") != 0 && strcmp(cur[run_i], "1") == 0)
		unmerge = true;
	if (unmerge && run) {
		knob_hook(kn, "restore-unmerge");
		if (knob_write(kn, "run", "2", cur[run_i], err, sizeof err) < 0) {
			fprintf(stderr, KS_PROG ": %s\n", err);
			rc = -1;
		} else {
			snprintf(cur[run_i], sizeof cur[run_i], "2");
		}
	}
	struct ks_knob *adv = knob_find(kn, "advisor_mode");
	size_t adv_i = adv ? (size_t)(adv - kn->k) : 0;
	if (adv && strcmp(cur[adv_i], adv->saved) != 0 && strcmp(cur[adv_i], "none") != 0) {
		if (knob_write(kn, "advisor_mode", "none", cur[adv_i], err, sizeof err) == 0)
			snprintf(cur[adv_i], sizeof cur[adv_i], "none");
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < kn->n; i++) {
			struct ks_knob *k = &kn->k[i];
			if (k == run || k == adv || (needs_unmerged(k->name) ? 0 : 1) != pass ||
			    strcmp(cur[i], k->saved) == 0)
				continue;
			if (knob_write(kn, k->name, k->saved, cur[i], err, sizeof err) < 0) {
				fprintf(stderr, KS_PROG ": %s\n", err);
				rc = -1;
			}
		}
	}
	if (adv && strcmp(cur[adv_i], adv->saved) != 0 &&
	    knob_write(kn, "advisor_mode", adv->saved, cur[adv_i], err, sizeof err) < 0) {
		fprintf(stderr, KS_PROG ": %s\n", err);
		rc = -1;
	}
	if (run && strcmp(cur[run_i], run->saved) != 0 &&
	    knob_write(kn, "run", run->saved, cur[run_i], err, sizeof err) < 0) {
		fprintf(stderr, KS_PROG ": %s\n", err);
		rc = -1;
	}
	/* check: the kernel may have refused something silently */
	bool advisor_on = adv && strcmp(adv->saved, "none") != 0;
	for (size_t i = 0; i < kn->n; i++) {
		struct ks_knob *k = &kn->k[i];
		char now[KS_VALUE_MAX];
		if (advisor_on && strcmp(k->name, "pages_to_scan") == 0)
			continue; /* the advisor tunes it by itself */
		if (knob_read(kn, k->name, now, sizeof now) < 0 || strcmp(now, k->saved) != 0) {
			fprintf(stderr, KS_PROG ": could not restore %s/%s to %s\n", kn->dir, k->name,
				k->saved);
			rc = -1;
		}
	}
	free(cur);
	kn->saved = false;
	return rc;
}

void ks_knobs_free(struct ks_knobs *kn)
{
	free(kn->k);
	kn->k = NULL;
	kn->n = 0;
}
