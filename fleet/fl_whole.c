/* Analyses that cannot be computed from slices of the content table (no
 * part() hook: the huge page what-if, placement and diff walk every dump's
 * page map or content list).  Every rank sends each of its dumps to rank 0
 * as a fingerprint would hold it (contents with their copies and class, and
 * the page map), and rank 0 rebuilds from them, in row order, the engine
 * dedup-analyze would have had (dd_engine_add_fp).  Exact, but rank 0 then
 * holds the whole content table and every page map (docs/fleet.md). */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

/* index of id in the ascending list ids[0..n) */
static uint32_t index_of(const uint32_t *ids, uint64_t n, uint32_t id)
{
	uint64_t lo = 0, hi = n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

static void pack(struct fl_buf *b, const struct cli_run *r, size_t k, size_t row)
{
	const struct dd_dump_data *dd = dd_engine_dump(r->e, k);
	const struct dd_table *t = dd_engine_table(r->e);
	const struct dd_dump_stats *st = &r->rows[k].st;
	uint64_t head[7] = { row, st->pages, st->absent_pages, st->zero_pages, st->known_zero, dd->nids, dd->npages };
	fl_put(b, head, sizeof head);
	for (uint64_t i = 0; i < dd->nids; i++) {
		struct dd_fp_content fc;
		memset(&fc, 0, sizeof fc);
		const struct dd_entry *en = dd_table_get(t, dd->ids[i]);
		memcpy(fc.key, en->key, DD_KEY);
		fc.copies = dd->copies[i];
		fc.cls = (uint8_t)en->cls;
		fl_put(b, &fc, sizeof fc);
	}
	fl_put(b, dd->pfn, dd->npages * sizeof *dd->pfn);
	for (uint64_t i = 0; i < dd->npages; i++) {
		uint32_t ci = dd->pid[i] == DD_ID_ZERO ? DD_ID_ZERO : index_of(dd->ids, dd->nids, dd->pid[i]);
		fl_put(b, &ci, sizeof ci);
	}
}

/* one dump from the packed bytes into the engine; 0 or -1 */
static int unpack_one(struct fl_rd *rd, struct dd_engine *e, const struct fl_rows *rows, struct dp_error *err)
{
	uint64_t head[7];
	struct dd_fp fp;
	memset(&fp, 0, sizeof fp);
	if (!fl_get(rd, head, sizeof head) || head[0] >= rows->n)
		return -1;
	fp.path = (char *)(uintptr_t)rows->names[head[0]];
	fp.page_size = dd_engine_page_size(e);
	fp.hash = dd_engine_hash(e);
	fp.pages = head[1];
	fp.absent_pages = head[2];
	fp.zero_pages = head[3];
	fp.known_zero = head[4];
	fp.ncontents = head[5];
	fp.npages = head[6];
	fp.has_pages = 1;
	fp.contents = malloc((fp.ncontents ? fp.ncontents : 1) * sizeof *fp.contents);
	fp.page_pfn = malloc((fp.npages ? fp.npages : 1) * sizeof *fp.page_pfn);
	fp.page_content = malloc((fp.npages ? fp.npages : 1) * sizeof *fp.page_content);
	int rc = -1;
	if (fp.contents && fp.page_pfn && fp.page_content && fl_get(rd, fp.contents, fp.ncontents * sizeof *fp.contents) &&
	    fl_get(rd, fp.page_pfn, fp.npages * sizeof *fp.page_pfn) &&
	    fl_get(rd, fp.page_content, fp.npages * sizeof *fp.page_content)) {
		struct dd_dump_stats st;
		rc = dd_engine_add_fp(e, &fp, &st, err) ? -1 : 0;
	}
	free(fp.contents);
	free(fp.page_pfn);
	free(fp.page_content);
	return rc;
}

int fl_whole(const struct fl_ctx *c, const struct cli_run *r, const struct fl_rows *rows, const size_t *row_of,
	     unsigned collect, struct dd_engine **whole)
{
	*whole = NULL;
	struct fl_buf b = { 0 };
	for (size_t k = 0; k < r->nrows; k++)
		pack(&b, r, k, row_of[k]);
	char *all = NULL;
	size_t *off = NULL;
	int fail = b.oom || fl_gather0(b.b, b.n, &all, &off);
	free(b.b);
	if (fl_max(fail)) {
		if (c->rank == 0)
			fprintf(stderr, PROG ": out of memory gathering the dumps on rank 0\n");
		return -1;
	}
	if (c->rank == 0) {
		/* the dumps arrive by rank: find each row's place first */
		const char **place = calloc(rows->n ? rows->n : 1, sizeof *place);
		struct dd_engine *e = dd_engine_new(1, dd_engine_hash(r->e), dd_engine_page_size(r->e));
		struct dp_error err = { 0 };
		fail = !place || !e;
		if (e)
			dd_engine_collect(e, collect);
		struct fl_rd rd = { all, all + off[c->size] };
		while (!fail && rd.p < rd.end) {
			uint64_t head[7];
			const char *start = rd.p;
			if (!fl_get(&rd, head, sizeof head) || head[0] >= rows->n || head[5] > (uint64_t)(rd.end - rd.p) ||
			    head[6] > (uint64_t)(rd.end - rd.p)) {
				fail = 1;
				break;
			}
			place[head[0]] = start;
			size_t skip = head[5] * sizeof(struct dd_fp_content) + head[6] * (sizeof(uint64_t) + sizeof(uint32_t));
			if (skip > (size_t)(rd.end - rd.p))
				fail = 1;
			else
				rd.p += skip;
		}
		for (size_t i = 0; !fail && i < rows->n; i++) {
			struct fl_rd one = { place[i], all + off[c->size] };
			if (!place[i] || unpack_one(&one, e, rows, &err))
				fail = 1;
		}
		if (fail) {
			fprintf(stderr, PROG ": cannot rebuild the dumps on rank 0%s%s\n", *err.msg ? ": " : "", err.msg);
			dd_engine_free(e);
		} else
			*whole = e;
		free(place);
	}
	free(all);
	free(off);
	return fl_max(fail) ? -1 : 0;
}
