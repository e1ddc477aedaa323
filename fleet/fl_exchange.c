/* The partitioned content table.  Every (content, dump) pair of the local
 * engine becomes a record (key, row, copies, class) for the rank that owns
 * the key; the records go in all-to-all rounds of at most c->round records
 * sent by each rank, so that no buffer grows with the fleet.  Each rank
 * then folds its records, dump by dump in row order, into an engine of its
 * own (dd_engine_add_fp, as a fingerprint of that dump restricted to the
 * slice): the slice engine the analyses' part() hooks read. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

struct rec {
	uint8_t key[DD_KEY];
	uint32_t copies;
	uint32_t row_cls; /* row << 4 | class (rows < 2^28, DD_MAX_DUMPS) */
};

/* the rank owning a key: 32 key bits, spread over the ranks */
static int owner_of(const uint8_t *key, int size)
{
	uint32_t v;
	memcpy(&v, key + 4, sizeof v);
	return (int)(((uint64_t)v * (uint64_t)size) >> 32);
}

static int by_row_key(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	if (a->row_cls >> 4 != b->row_cls >> 4)
		return a->row_cls >> 4 < b->row_cls >> 4 ? -1 : 1;
	return memcmp(a->key, b->key, DD_KEY);
}

/* where the next record comes from: local dump k, its content j */
struct cursor {
	const struct cli_run *r;
	const size_t *row_of;
	size_t k;
	uint64_t j;
};

static bool next_rec(struct cursor *cu, struct rec *out)
{
	const struct dd_table *t = dd_engine_table(cu->r->e);
	while (cu->k < cu->r->nrows) {
		const struct dd_dump_data *dd = dd_engine_dump(cu->r->e, cu->k);
		if (cu->j < dd->nids) {
			const struct dd_entry *en = dd_table_get(t, dd->ids[cu->j]);
			memcpy(out->key, en->key, DD_KEY);
			out->copies = dd->copies[cu->j];
			out->row_cls = (uint32_t)cu->row_of[cu->k] << 4 | en->cls;
			cu->j++;
			return true;
		}
		cu->k++;
		cu->j = 0;
	}
	return false;
}

struct xbuf {
	struct rec *tmp, *send, *got;
	int *dest, *scnt, *sdsp, *rcnt, *rdsp;
	uint64_t ngot, capgot;
};

static void xbuf_free(struct xbuf *x)
{
	free(x->tmp);
	free(x->send);
	free(x->dest);
	free(x->scnt);
	free(x->sdsp);
	free(x->rcnt);
	free(x->rdsp);
}

/* One round: up to `round` records out, whatever the others send in.
 * 0, or -1 out of memory (on any rank: every rank sees it). */
static int one_round(const struct fl_ctx *c, struct cursor *cu, struct xbuf *x, size_t round, MPI_Datatype rt,
		     struct fl_xstats *xs, bool *more)
{
	size_t n = 0;
	while (n < round && next_rec(cu, &x->tmp[n])) {
		x->dest[n] = owner_of(x->tmp[n].key, c->size);
		n++;
	}
	*more = n == round;
	memset(x->scnt, 0, (size_t)c->size * sizeof *x->scnt);
	for (size_t i = 0; i < n; i++)
		x->scnt[x->dest[i]]++;
	for (int d = 0, at = 0; d < c->size; d++) {
		x->sdsp[d] = at;
		at += x->scnt[d];
	}
	for (size_t i = 0; i < n; i++)
		x->send[x->sdsp[x->dest[i]]++] = x->tmp[i];
	for (int d = 0; d < c->size; d++)
		x->sdsp[d] -= x->scnt[d];
	MPI_Alltoall(x->scnt, 1, MPI_INT, x->rcnt, 1, MPI_INT, MPI_COMM_WORLD);
	uint64_t in = 0;
	for (int d = 0; d < c->size; d++) {
		x->rdsp[d] = (int)in;
		in += (uint64_t)x->rcnt[d];
	}
	if (x->ngot + in > x->capgot) {
		uint64_t nc = x->capgot + x->capgot / 2 + in + 1024;
		struct rec *ng = realloc(x->got, nc * sizeof *ng);
		if (ng) {
			x->got = ng;
			x->capgot = nc;
		}
	}
	if (fl_max(x->ngot + in > x->capgot))
		return -1;
	MPI_Alltoallv(x->send, x->scnt, x->sdsp, rt, x->got + x->ngot, x->rcnt, x->rdsp, rt, MPI_COMM_WORLD);
	x->ngot += in;
	xs->sent += n;
	xs->received += in;
	xs->bytes_out += (n - (uint64_t)x->scnt[c->rank]) * sizeof(struct rec);
	xs->rounds++;
	return 0;
}

/* the slice engine: the received records, dump by dump in row order */
static struct dd_engine *fold(const struct cli_run *r, struct rec *got, uint64_t ngot, size_t nrows,
			      const char *const *names, struct dp_error *err)
{
	struct dd_engine *e = dd_engine_new(1, dd_engine_hash(r->e), dd_engine_page_size(r->e));
	if (!e) {
		dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the slice of the content table");
		return NULL;
	}
	dd_engine_collect(e, DD_COLLECT_IDS);
	if (ngot)
		qsort(got, ngot, sizeof *got, by_row_key);
	uint64_t at = 0, most = 0;
	for (uint64_t i = 0, s = 0; i <= ngot; i++)
		if (i == ngot || (i > s && got[i].row_cls >> 4 != got[s].row_cls >> 4)) {
			most = i - s > most ? i - s : most;
			s = i;
		}
	struct dd_fp_content *fc = malloc((most ? most : 1) * sizeof *fc);
	int rc = fc ? 0 : dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t row = 0; row < nrows && !rc; row++) {
		struct dd_fp fp;
		memset(&fp, 0, sizeof fp);
		fp.path = (char *)(uintptr_t)names[row];
		fp.page_size = dd_engine_page_size(e);
		fp.hash = dd_engine_hash(e);
		fp.contents = fc;
		while (at < ngot && got[at].row_cls >> 4 == row) {
			struct dd_fp_content *x = &fc[fp.ncontents++];
			memcpy(x->key, got[at].key, DD_KEY);
			x->copies = got[at].copies;
			x->cls = (uint8_t)(got[at].row_cls & 15);
			fp.pages += got[at].copies;
			at++;
		}
		struct dd_dump_stats st;
		rc = dd_engine_add_fp(e, &fp, &st, err);
	}
	free(fc);
	if (rc) {
		dd_engine_free(e);
		return NULL;
	}
	return e;
}

int fl_exchange(const struct fl_ctx *c, const struct cli_run *r, const size_t *row_of, size_t nrows,
		const char *const *names, struct dd_engine **slice, struct fl_xstats *xs, struct dp_error *err)
{
	struct xbuf x;
	memset(&x, 0, sizeof x);
	memset(xs, 0, sizeof *xs);
	*slice = NULL;
	/* every rank may receive `round` records from every rank in one round:
	 * the counts and displacements must fit an int */
	size_t round = c->round;
	if (round > (size_t)INT_MAX / (size_t)c->size)
		round = (size_t)INT_MAX / (size_t)c->size;
	size_t ns = (size_t)c->size;
	x.tmp = malloc(round * sizeof *x.tmp);
	x.send = malloc(round * sizeof *x.send);
	x.dest = malloc(round * sizeof *x.dest);
	x.scnt = calloc(ns, sizeof(int));
	x.sdsp = calloc(ns, sizeof(int));
	x.rcnt = calloc(ns, sizeof(int));
	x.rdsp = calloc(ns, sizeof(int));
	int fail = !x.tmp || !x.send || !x.dest || !x.scnt || !x.sdsp || !x.rcnt || !x.rdsp;
	if (fl_max(fail)) {
		xbuf_free(&x);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the exchange buffers");
	}
	MPI_Datatype rt;
	MPI_Type_contiguous((int)sizeof(struct rec), MPI_BYTE, &rt);
	MPI_Type_commit(&rt);
	struct cursor cu = { r, row_of, 0, 0 };
	int rc = 0;
	for (;;) {
		bool more;
		if (one_round(c, &cu, &x, round, rt, xs, &more)) {
			rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the records of this slice");
			break;
		}
		if (!fl_max(more))
			break;
	}
	MPI_Type_free(&rt);
	xbuf_free(&x);
	if (!rc && !(*slice = fold(r, x.got, x.ngot, nrows, names, err)))
		rc = err->status ? (int)err->status : DP_E_NOMEM;
	free(x.got);
	return rc;
}
