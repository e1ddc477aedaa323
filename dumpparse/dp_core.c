/* dumpparse core: probing, opening, readers, errors, info bookkeeping. */
#include "dp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *dp_status_name(enum dp_status s)
{
	switch (s) {
	case DP_OK: return "ok";
	case DP_END: return "end";
	case DP_E_IO: return "I/O error";
	case DP_E_TRUNCATED: return "truncated";
	case DP_E_CORRUPT: return "corrupt";
	case DP_E_UNSUPPORTED: return "not supported";
	case DP_E_UNKNOWN: return "unknown format";
	case DP_E_NOMEM: return "out of memory";
	case DP_E_USAGE: return "bad usage";
	case DP_E_SPLIT_PART: return "part of a split dump";
	}
	return "?";
}

const char *dp_error_text(const struct dp_error *e, const char *path, char *buf, size_t len)
{
	/* say whether the file is cut short or holds impossible values */
	const char *kind = e->status == DP_E_TRUNCATED ? "truncated: "
			 : e->status == DP_E_CORRUPT   ? "corrupt: "
						       : "";
	if (e->offset >= 0)
		snprintf(buf, len, "%s: %s%s (at offset %lld)", path, kind, e->msg, (long long)e->offset);
	else
		snprintf(buf, len, "%s: %s%s", path, kind, e->msg);
	return buf;
}

int dp_fail(struct dp_error *err, enum dp_status st, int64_t off, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->status = st;
		err->offset = off;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -1;
		n *= 2;
	}
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

int dp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return grow(p, cap, need, elem);
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int dp_add_detail(struct dp_dump *d, const char *key, const char *fmt, ...)
{
	va_list ap;
	if (grow((void **)&d->details, &d->cap_details, d->ndetails + 1, sizeof *d->details))
		return DP_E_NOMEM;
	va_start(ap, fmt);
	char *v = vfmt(fmt, ap);
	va_end(ap);
	if (!v)
		return DP_E_NOMEM;
	d->details[d->ndetails].key = key;
	d->details[d->ndetails].value = v;
	d->ndetails++;
	return DP_OK;
}

int dp_add_warning(struct dp_dump *d, const char *fmt, ...)
{
	va_list ap;
	if (grow((void **)&d->warnings, &d->cap_warnings, d->nwarnings + 1, sizeof *d->warnings))
		return DP_E_NOMEM;
	va_start(ap, fmt);
	char *v = vfmt(fmt, ap);
	va_end(ap);
	if (!v)
		return DP_E_NOMEM;
	d->warnings[d->nwarnings++] = v;
	return DP_OK;
}

int dp_set_variant(struct dp_dump *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->variant_buf, sizeof d->variant_buf, fmt, ap);
	va_end(ap);
	d->info.variant = d->variant_buf;
	return DP_OK;
}

uint8_t *dp_reader_buf(struct dp_reader *r, size_t len, struct dp_error *err)
{
	if (len > r->bufcap) {
		uint8_t *b = realloc(r->buf, len);
		if (!b) {
			dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for a %zu-byte buffer", len);
			return NULL;
		}
		r->buf = b;
		r->bufcap = len;
	}
	return r->buf;
}

uint8_t *dp_reader_states(struct dp_reader *r, size_t n, struct dp_error *err)
{
	if (n > r->statecap) {
		uint8_t *b = realloc(r->state, n);
		if (!b) {
			dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			return NULL;
		}
		r->state = b;
		r->statecap = n;
	}
	return r->state;
}

uint64_t *dp_reader_pfns(struct dp_reader *r, size_t n, struct dp_error *err)
{
	if (n > r->pfncap) {
		uint64_t *b = realloc(r->pfns, n * sizeof *b);
		if (!b) {
			dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			return NULL;
		}
		r->pfns = b;
		r->pfncap = n;
	}
	return r->pfns;
}

/* ---- format registry ---- */

size_t dp_format_count(void) { return dp_nformats; }

const char *dp_format_name(size_t i) { return i < dp_nformats ? dp_formats[i]->name : NULL; }

const char *dp_format_description(size_t i)
{
	return i < dp_nformats ? dp_formats[i]->description : NULL;
}

int dp_format_readable(size_t i) { return i < dp_nformats && dp_formats[i]->open != NULL; }

static const struct dp_format_ops *find_format(const char *name)
{
	for (size_t i = 0; i < dp_nformats; i++)
		if (strcmp(dp_formats[i]->name, name) == 0)
			return dp_formats[i];
	return NULL;
}

/* ---- open / close ---- */

static void free_info(struct dp_dump *d)
{
	for (size_t i = 0; i < d->ndetails; i++)
		free((void *)(uintptr_t)d->details[i].value); /* we allocated it */
	free(d->details);
	for (size_t i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->warnings);
	free(d->ranges);
}

void dp_close(struct dp_dump *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	dp_map_free(d);
	dp_src_close(d);
	free_info(d);
	free(d->path);
	free(d);
}

static int check_page_size(uint32_t ps, struct dp_error *err)
{
	if (ps < 512 || ps > (1u << 24) || (ps & (ps - 1)))
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
			       "page size %u is not a power of two between 512 and 16 MiB", ps);
	return DP_OK;
}

int dp_open(const char *path, const struct dp_options *opt, struct dp_dump **out, struct dp_error *err)
{
	struct dp_options none = { 0 };
	int rc;

	*out = NULL;
	if (!opt)
		opt = &none;
	if (opt->page_size && (rc = check_page_size(opt->page_size, err)))
		return rc;

	struct dp_dump *d = calloc(1, sizeof *d);
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	d->opt = *opt;
	d->opt.format = NULL; /* not owned: resolved below */
	d->src.fd = -1;

	if ((rc = dp_src_open(d, err)))
		goto fail;

	uint8_t head[DP_PROBE_BYTES];
	size_t n = dp_src_head(d, head, sizeof head, err);
	if (n == (size_t)-1) {
		rc = err->status;
		goto fail;
	}

	const struct dp_format_ops *ops = NULL;
	if (opt->format) {
		ops = find_format(opt->format);
		if (!ops) {
			rc = dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "unknown format name '%s'", opt->format);
			goto fail;
		}
	} else {
		if (n == 0) {
			rc = dp_fail(err, DP_E_CORRUPT, 0, "file is empty");
			goto fail;
		}
		for (size_t i = 0; i < dp_nformats && !ops; i++)
			if (dp_formats[i]->probe && dp_formats[i]->probe(head, n, path) == DP_PROBE_YES)
				ops = dp_formats[i];
		if (!ops) {
			rc = dp_fail(err, DP_E_UNKNOWN, 0,
				     "unknown dump format (first bytes %02x %02x %02x %02x); "
				     "a raw memory image needs --format=raw",
				     head[0], n > 1 ? head[1] : 0, n > 2 ? head[2] : 0, n > 3 ? head[3] : 0);
			goto fail;
		}
	}
	if (!ops->open) {
		rc = dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "%s: not supported yet", ops->description);
		goto fail;
	}
	d->ops = ops;
	d->info.format = ops->name;
	d->info.variant = ops->description;
	d->info.compression = dp_src_compression(d);
	d->info.file_size = d->src.stored_size;
	d->info.sequential = !dp_src_random(d);

	if ((rc = ops->open(d, err)))
		goto fail;
	if (!d->info.page_size)
		d->info.page_size = 4096;
	/* no kernel uses pages above 1 MiB; a header claiming more is damaged,
	 * and would make every read unit that many times larger */
	if (!opt->page_size && d->info.page_size > (1u << 20)) {
		rc = dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			     "the dump declares %u-byte pages (more than 1 MiB): give --page-size to analyze it",
			     d->info.page_size);
		goto fail;
	}
	if (d->mapped) {
		d->info.nunits = d->info.sequential ? 0 : d->nunits;
	}
	d->info.ranges = d->ranges;
	d->info.nranges = d->nranges;
	d->info.details = d->details;
	d->info.ndetails = d->ndetails;
	d->info.warnings = (const char *const *)d->warnings;
	d->info.nwarnings = d->nwarnings;
	*out = d;
	return DP_OK;
fail:
	dp_close(d);
	return rc;
}

const struct dp_info *dp_get_info(const struct dp_dump *d) { return &d->info; }

const char *dp_get_path(const struct dp_dump *d) { return d->path; }

int dp_reader_open(struct dp_dump *d, struct dp_reader **out, struct dp_error *err)
{
	struct dp_reader *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	r->d = d;
	if (d->ops->reader_open) {
		int rc = d->ops->reader_open(r, err);
		if (rc) {
			free(r);
			return rc;
		}
	}
	*out = r;
	return DP_OK;
}

void dp_reader_close(struct dp_reader *r)
{
	if (!r)
		return;
	if (r->d->ops->reader_close)
		r->d->ops->reader_close(r);
	free(r->buf);
	free(r->state);
	free(r->pfns);
	free(r);
}

int dp_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	memset(c, 0, sizeof *c);
	if (d->info.sequential)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "sequential dump: use dp_read_next");
	if (unit >= d->info.nunits)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "unit %zu out of range", unit);
	if (d->ops->read_unit)
		return d->ops->read_unit(r, unit, c, err);
	return dp_map_read_unit(r, unit, c, err);
}

static int read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	if (d->ops->read_next)
		return d->ops->read_next(r, c, err);
	size_t n = d->mapped ? d->nunits : d->info.nunits;
	if (d->next_unit >= n)
		return DP_END;
	size_t u = d->next_unit++;
	if (d->ops->read_unit)
		return d->ops->read_unit(r, u, c, err);
	return dp_map_read_unit(r, u, c, err);
}

int dp_read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	memset(c, 0, sizeof *c);
	/* a stream that failed stays failed: its parser stopped mid-record */
	if (d->next_failed) {
		*err = d->next_err;
		return err->status;
	}
	int rc = read_next(r, c, err);
	if (rc != DP_OK && rc != DP_END) {
		d->next_failed = true;
		d->next_err = *err;
	}
	return rc;
}
