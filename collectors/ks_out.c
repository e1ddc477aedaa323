/*
 * Output helpers: CSV cells (quoting in common.h), ISO-8601 timestamps, and the Prometheus text
 * exposition file (written beside the target and renamed over it, so a
 * scraper such as node_exporter's textfile collector never sees half a file).
 */
#include "ks.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ks_csv_val(FILE *f, const struct ks_val *v, int prec)
{
	switch (v->kind) {
	case KS_INT: fprintf(f, "%lld", v->i); break;
	case KS_REAL:
		if (isfinite(v->d))
			fprintf(f, "%.*f", prec, v->d);
		break;
	case KS_TEXT: cm_csv_field(f, v->s); break;
	case KS_EMPTY: break;
	}
}

void ks_iso8601(char *buf, size_t len, long long sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	char date[32];
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", date, nsec / 1000000);
}

/* ---- Prometheus ---- */

int ks_prom_begin(struct ks_prom *p, const char *path)
{
	snprintf(p->path, sizeof p->path, "%s", path);
	/* ".tmp" keeps the textfile collector (which reads *.prom) away from it */
	snprintf(p->tmp, sizeof p->tmp, "%s.%d.tmp", path, (int)getpid());
	p->last_family[0] = 0;
	p->f = fopen(p->tmp, "w");
	return p->f ? 0 : -1;
}

void ks_prom_metric(struct ks_prom *p, const char *name, const char *type, const char *help,
		    const char *labels, double value)
{
	if (!p->f || !isfinite(value))
		return;
	if (strcmp(p->last_family, name) != 0) {
		fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
		snprintf(p->last_family, sizeof p->last_family, "%s", name);
	}
	if (labels && *labels)
		fprintf(p->f, "%s{%s} %.17g\n", name, labels, value);
	else
		fprintf(p->f, "%s %.17g\n", name, value);
}

int ks_prom_commit(struct ks_prom *p)
{
	if (!p->f)
		return -1;
	int bad = ferror(p->f);
	if (fclose(p->f) != 0)
		bad = 1;
	p->f = NULL;
	if (bad || rename(p->tmp, p->path) != 0) {
		int e = errno;
		unlink(p->tmp);
		errno = e;
		return -1;
	}
	return 0;
}

void ks_prom_abort(struct ks_prom *p)
{
	if (p->f) {
		fclose(p->f);
		p->f = NULL;
		unlink(p->tmp);
	}
}

void ks_prom_ksm_name(const char *file, char *out, size_t len, const char **type, double *scale)
{
	/* node_exporter's ksmd collector: these nine files, these names */
	static const char *const node_files[] = {
		"full_scans", "merge_across_nodes", "pages_shared", "pages_sharing", "pages_to_scan",
		"pages_unshared", "pages_volatile", "run", "sleep_millisecs",
	};
	*type = "gauge";
	*scale = 1;
	for (size_t i = 0; i < sizeof node_files / sizeof *node_files; i++) {
		if (strcmp(file, node_files[i]) != 0)
			continue;
		if (strcmp(file, "full_scans") == 0) {
			snprintf(out, len, "node_ksmd_full_scans_total");
			*type = "counter";
		} else if (strcmp(file, "sleep_millisecs") == 0) {
			snprintf(out, len, "node_ksmd_sleep_seconds");
			*scale = 0.001;
		} else {
			snprintf(out, len, "node_ksmd_%s", file);
		}
		return;
	}
	if (strcmp(file, "pages_scanned") == 0) {
		snprintf(out, len, "samepage_ksm_pages_scanned_total");
		*type = "counter";
		return;
	}
	if (strcmp(file, "general_profit") == 0) {
		snprintf(out, len, "samepage_ksm_general_profit_bytes");
		return;
	}
	/* anything else keeps its file name; only [a-zA-Z0-9_] is legal */
	size_t o = (size_t)snprintf(out, len, "samepage_ksm_");
	if (strncmp(file, "ksm_", 4) == 0)
		file += 4;
	for (const char *c = file; *c && o + 1 < len; c++)
		out[o++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
					  (*c >= '0' && *c <= '9')
				  ? *c
				  : '_');
	out[o < len ? o : len - 1] = 0;
}

void ks_prom_label_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in && o + 2 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}
