/* dumpparse core: the format registry, probing, opening, readers. */
#include "dp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static const struct dp_format_ops *probe(const uint8_t *head, size_t n, const char *path)
{
	for (size_t i = 0; i < dp_nformats; i++)
		if (dp_formats[i]->probe && dp_formats[i]->probe(head, n, path) == DP_PROBE_YES)
			return dp_formats[i];
	return NULL;
}

/* The back end for d: by name, or by probing the decoded head; when no
 * probe knows the raw bytes, they may be a bare zlib stream: decoded, probed again. */
static int choose(struct dp_dump *d, const char *name, const struct dp_format_ops **out, struct dp_error *err)
{
	uint8_t head[DP_PROBE_BYTES];
	size_t n = dp_src_head(d, head, sizeof head, err);
	if (n == (size_t)-1)
		return err->status;
	if (name) {
		*out = find_format(name);
		if (!*out)
			return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "unknown format name '%s'", name);
		/* a bare zlib stream of the named format */
		if ((*out)->probe && n && (*out)->probe(head, n, d->path) == DP_PROBE_NO &&
		    dp_src_retry_zlib(d, err) == DP_OK && dp_src_head(d, head, sizeof head, err) == (size_t)-1)
			return err->status;
		return DP_OK;
	}
	if (n == 0)
		return dp_fail(err, DP_E_CORRUPT, 0, "file is empty");
	*out = probe(head, n, d->path);
	if (!*out && dp_src_retry_zlib(d, err) == DP_OK) {
		uint8_t h2[DP_PROBE_BYTES];
		size_t n2 = dp_src_head(d, h2, sizeof h2, err);
		if (n2 != (size_t)-1 && n2 > 0)
			*out = probe(h2, n2, d->path);
	}
	if (!*out)
		return dp_fail(err, DP_E_UNKNOWN, 0,
			       "unknown dump format (first bytes %02x %02x %02x %02x); "
			       "a raw memory image needs --format=raw",
			       head[0], n > 1 ? head[1] : 0, n > 2 ? head[2] : 0, n > 3 ? head[3] : 0);
	return DP_OK;
}

/* what the byte stack did, for --info */
static void describe_source(struct dp_dump *d)
{
	if (d->src.flat_input)
		dp_add_detail(d, "flattened", "format version 1, %zu record(s)%s", d->src.flat_records,
			      d->src.flat_end ? "" : ", no end marker");
	if (d->src.spooled)
		dp_add_detail(d, "input", "read through a temporary copy (%llu bytes)",
			      (unsigned long long)d->src.spool_size);
	if (d->info.direct)
		dp_add_detail(d, "read", "page data around the page cache (O_DIRECT)%s",
			      d->opt.direct == DP_DIRECT_AUTO ? ": the file was mostly not cached" : "");
}

static int open_dump(struct dp_dump *d, const struct dp_options *opt, struct dp_error *err)
{
	const struct dp_format_ops *ops = NULL;
	int rc;
	if ((rc = dp_src_open(d, err)) || (rc = choose(d, opt->format, &ops, err)))
		return rc;
	if (!ops->open)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "%s: not supported yet", ops->description);
	if (ops->random_only || d->src.view.flat)
		if ((rc = dp_src_make_random(d, ops->flat_in_place, err)))
			return rc;
	d->ops = ops;
	d->info.format = ops->name;
	d->info.variant = ops->description;
	d->info.compression = dp_src_compression(d);
	d->info.file_size = d->src.stored_size;
	d->info.sequential = !dp_src_random(d);

	if ((rc = ops->open(d, err)))
		return rc;
	d->info.direct = d->src.view.dfd >= 0; /* known once a companion file (.vmem) is opened */
	describe_source(d);
	if (!d->info.page_size)
		d->info.page_size = 4096;
	/* no kernel uses pages above 1 MiB; a header claiming more is damaged,
	 * and would make every read unit that many times larger */
	if (!opt->page_size && d->info.page_size > (1u << 20))
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			       "the dump declares %u-byte pages (more than 1 MiB): give --page-size to analyze it",
			       d->info.page_size);
	if (d->mapped)
		d->info.nunits = d->info.sequential ? 0 : d->nunits;
	d->info.ranges = d->ranges;
	d->info.nranges = d->nranges;
	d->info.details = d->details;
	d->info.ndetails = d->ndetails;
	d->info.warnings = (const char *const *)d->warnings;
	d->info.nwarnings = d->nwarnings;
	return DP_OK;
}

/* dp_open, and dp_group_open with the other files of a split dump */
int dp_open_parts(const char *path, const struct dp_options *opt, const char *const *parts, size_t nparts,
		  struct dp_dump **out, struct dp_error *err)
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
	d->opt.format = NULL; /* not owned: resolved by open_dump */
	d->src.fd = d->src.view.fd = d->src.view.own_fd = -1;
	d->parts = parts;
	d->nparts = nparts;
	rc = open_dump(d, opt, err);
	d->parts = NULL;
	d->nparts = 0;
	if (rc) {
		dp_close(d);
		return rc;
	}
	*out = d;
	return DP_OK;
}

int dp_open(const char *path, const struct dp_options *opt, struct dp_dump **out, struct dp_error *err)
{
	return dp_open_parts(path, opt, NULL, 0, out, err);
}

const struct dp_info *dp_get_info(const struct dp_dump *d) { return &d->info; }

const char *dp_get_path(const struct dp_dump *d) { return d->path; }

struct dp_scratch *dp_scratch_new(void) { return calloc(1, sizeof(struct dp_scratch)); }

/* the buffers of m, not m itself */
static void release(struct dp_scratch *m)
{
	free(m->buf);
	free(m->state);
	free(m->pfns);
	free(m->win);
	free(m->dwin);
	free(m->dwin2);
}

void dp_scratch_free(struct dp_scratch *s)
{
	if (s)
		release(s);
	free(s);
}

int dp_reader_open_with(struct dp_dump *d, struct dp_scratch *s, struct dp_reader **out, struct dp_error *err)
{
	struct dp_reader *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	r->d = d;
	if (s) {
		r->scratch = s;
		r->mem = *s;
		memset(s, 0, sizeof *s);
	}
	if (d->ops->reader_open) {
		int rc = d->ops->reader_open(r, err);
		if (rc) {
			r->d = NULL; /* not opened: no reader_close */
			dp_reader_close(r);
			return rc;
		}
	}
	*out = r;
	return DP_OK;
}

int dp_reader_open(struct dp_dump *d, struct dp_reader **out, struct dp_error *err)
{
	return dp_reader_open_with(d, NULL, out, err);
}

void dp_reader_close(struct dp_reader *r)
{
	if (!r)
		return;
	if (r->d && r->d->ops->reader_close)
		r->d->ops->reader_close(r);
	dp_reader_prefetch_end(r);
	if (r->scratch)
		*r->scratch = r->mem;
	else
		release(&r->mem);
	free(r);
}

void dp_reader_ahead(struct dp_reader *r, size_t end, size_t next, size_t next_end)
{
	r->ahead = end;
	r->next = next;
	r->next_end = next_end;
	r->next_asked = false;
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
