/*
 * The one spec language of the fixture builders (tests/formats/mk*.c): a
 * guest model built from a text spec, the expected analysis of that model,
 * a map of the fields a builder wrote (so that tests can damage exactly one
 * of them), and the makedumpfile flattened framing.
 *
 * Spec lines ('#' starts a comment), kept in spec order (item[]):
 *   ram PFN N CONTENT        N present frames from PFN
 *   bytes ADDR LEN CONTENT   a byte range (LiME): frames it covers only partly
 *                            read as zero in the rest
 *   absent PFN N             frames of guest RAM the file does not store
 *   mmio PFN N               a device range (VirtualBox): not RAM
 *   block NAME LEN           a named memory block of LEN bytes (a QEMU RAM
 *                            block); a segment with the attribute in=NAME
 *                            lies in it, PFN counted from the block's start
 *   frame N                  the frame size in bytes (default 4096): the
 *                            unit of PFN and of a content page (a kdump
 *                            block, a QEMU target page)
 *   KEY VALUE...             a builder option (a builder may read the whole
 *                            rest of the line, and a key may repeat)
 * CONTENT: zero | same:K | seq:K | cycle:K:M | fill:B | ids:A,B,C...  Page
 * K is pattern K (fx_fill below: K = 0 all zero, distinct K distinct pages),
 * fill:B a page of byte B; in an ids list, K*N stands for N copies of K and
 * fB for a page of byte B.
 * A segment line may end in builder attributes KEY=VALUE or words (kept in
 * attr, see each builder's header comment), e.g. ELF "offset=same:0",
 * kdump "codec=raw".  SPEC '-' is standard input.
 *
 * Expectations (--expect FILE): "pages N", "absent N", "zero N",
 * "nonzero N", "distinct N", "intra N", "partial N", then "range START
 * PAGES STATE" per run of frames of the address space, computed from the
 * model alone.  In the address space the first description of a frame
 * wins (data before absent); in a block a later line wins (a page sent
 * again) and pages no line describes are zero.
 *
 * Models may be large and sparse (gigabytes of zero pages, files past
 * 4 GiB): see "sparse models" in fxmem.h for what keeps them cheap.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include "fxmem.h"

/* Page pattern K, the one page-content generator of every builder: K = 0
 * is all zero; FX_FILL(B) is every byte B (content "fill:B", "fB" in a
 * list); other K start with an 8-byte word that is a bijection of K (so
 * distinct K always give distinct pages, never a zero page) followed by runs
 * of 1 to 16 equal bytes from a xorshift sequence seeded by that word.  The
 * runs make pages compress about 4:1 with every codec, as real memory does,
 * and the sequence has no period that would make a page look like a
 * repeating pattern. */
#define FX_FILL(b) ((1ull << 63) | (uint64_t)(b))
static inline void fx_fill(uint64_t id, uint8_t *p, size_t n)
{
	if (id == 0 || (id >> 63)) {
		memset(p, (int)(id & 0xff), n);
		return;
	}
	uint64_t x = id * 0x9E3779B97F4A7C15ull ^ 0xD1B54A32D192ED03ull;
	if (x == 0)
		x = 1;
	size_t i = 0;
	for (; i < 8 && i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
	while (i < n) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t v = (uint8_t)x;
		size_t run = 1 + (size_t)((x >> 8) & 15);
		for (size_t k = 0; k < run && i < n; k++)
			p[i++] = v;
	}
}

/* ---- model ---- */
enum { FX_DATA, FX_ABSENT, FX_MMIO };
enum { FX_ITEM_SEG, FX_ITEM_OPT, FX_ITEM_BLOCK };

struct fx_seg {                   /* as written in the spec, in order */
	int kind;
	uint64_t addr, len;       /* bytes (in its block, when it has one) */
	uint32_t ps;              /* content page size: the model's frame */
	int block;                /* index of its block, -1: the address space */
	char in[64];              /* the block it names ("" for none) */
	char content[256];
	char attr[256];           /* builder attributes after the segment */
};

struct fx_block {                 /* a named memory block */
	char name[64];
	uint64_t len;             /* bytes */
	char attr[256];
};

struct fx_frame {
	int block;                /* -1: the address space */
	uint64_t pfn;
	uint8_t *data;            /* ps bytes, NULL when absent or all zero */
	uint32_t cov;             /* bytes covered by data */
	int absent;
	const struct fx_seg *seg; /* the segment that describes it */
};

struct fx_opt {
	char key[64], val[256];
	char rest[512];           /* the whole value: rest of the line */
};

struct fx_item {                  /* one spec line, in spec order */
	int type;                 /* FX_ITEM_* */
	size_t i;                 /* index in seg, opt or blk */
};

struct fx_model {
	uint32_t ps;              /* frame size ("frame N"), default FX_PS */
	struct fx_seg *seg;
	size_t nseg;
	struct fx_opt *opt;
	size_t nopt;
	struct fx_block *blk;
	size_t nblk;
	struct fx_item *item;
	size_t nitem;
};

static inline uint64_t fx_num(const char *s)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 0);
	if (errno || *e || !*s)
		fx_die("bad number '%s'", s);
	return v;
}

/* one element of a content list: K, fK (fill byte) */
static inline uint64_t fx_id_of(const char *s)
{
	return s[0] == 'f' ? FX_FILL(fx_num(s + 1) & 0xff) : fx_num(s);
}

/* content id of page i of a segment */
static inline uint64_t fx_content_id(const char *c, uint64_t i, uint64_t n)
{
	if (strcmp(c, "zero") == 0)
		return 0;
	if (strncmp(c, "same:", 5) == 0)
		return fx_num(c + 5);
	if (strncmp(c, "fill:", 5) == 0)
		return FX_FILL(fx_num(c + 5) & 0xff);
	if (strncmp(c, "seq:", 4) == 0)
		return fx_num(c + 4) + i;
	if (strncmp(c, "cycle:", 6) == 0) {
		char buf[64];
		snprintf(buf, sizeof buf, "%s", c + 6);
		char *colon = strchr(buf, ':');
		if (!colon)
			fx_die("cycle:K:M expected, got '%s'", c);
		*colon = 0;
		uint64_t k = fx_num(buf), m = fx_num(colon + 1);
		return m ? k + i % m : k;
	}
	if (strncmp(c, "ids:", 4) == 0) {
		const char *p = c + 4;
		uint64_t at = 0;
		for (;;) {
			char buf[48];
			size_t l = strcspn(p, ",");
			if (l == 0 || l >= sizeof buf)
				fx_die("bad ids list '%s'", c);
			memcpy(buf, p, l);
			buf[l] = 0;
			char *star = strchr(buf, '*');
			uint64_t times = 1;
			if (star) {
				*star = 0;
				times = fx_num(star + 1);
			}
			if (i < at + times)
				return fx_id_of(buf);
			at += times;
			if (!p[l])
				fx_die("ids list '%s' shorter than %llu", c, (unsigned long long)n);
			p += l + 1;
		}
	}
	fx_die("unknown content '%s'", c);
}

/* s after k blank-separated tokens, without trailing blanks */
static inline void fx_rest(const char *s, int k, char *out, size_t cap)
{
	for (int t = 0; t < k; t++) {
		s += strspn(s, " \t\r\n");
		s += strcspn(s, " \t\r\n");
	}
	s += strspn(s, " \t\r\n");
	size_t l = strlen(s);
	while (l && strchr(" \t\r\n", s[l - 1]))
		l--;
	if (l >= cap)
		fx_die("spec line too long: %s", s);
	memcpy(out, s, l);
	out[l] = 0;
}

/* Take the attribute "in=NAME" out of a segment's attributes. */
static inline void fx_take_in(struct fx_seg *s)
{
	char buf[sizeof s->attr], out[sizeof s->attr] = "";
	size_t w = 0;
	memcpy(buf, s->attr, sizeof buf);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (strncmp(t, "in=", 3) == 0)
			snprintf(s->in, sizeof s->in, "%s", t + 3);
		else
			w += (size_t)snprintf(out + w, sizeof out - w, "%s%s", w ? " " : "", t);
	}
	memcpy(s->attr, out, sizeof out);
}

static inline const char *fx_opt(const struct fx_model *m, const char *key, const char *def)
{
	for (size_t i = m->nopt; i-- > 0;)
		if (strcmp(m->opt[i].key, key) == 0)
			return m->opt[i].val;
	return def;
}

static inline uint64_t fx_optn(const struct fx_model *m, const char *key, uint64_t def)
{
	const char *v = fx_opt(m, key, NULL);
	return v ? fx_num(v) : def;
}

/* Whether the attributes attr hold the word w or w=VALUE; the value (""
 * for a bare word) is copied to val when val is not NULL. */
static inline bool fx_attr(const char *attr, const char *w, char *val, size_t cap)
{
	size_t l = strlen(w);
	for (const char *p = attr; *p;) {
		size_t t = strcspn(p, " \t");
		if (t >= l && strncmp(p, w, l) == 0 && (t == l || p[l] == '=')) {
			if (val) {
				size_t vl = t > l ? t - l - 1 : 0;
				if (vl >= cap)
					fx_die("attribute value too long: %s", p);
				memcpy(val, p + t - vl, vl);
				val[vl] = 0;
			}
			return true;
		}
		p += t;
		p += strspn(p, " \t");
	}
	return false;
}

static inline void fx_add_item(struct fx_model *m, int type, size_t i)
{
	if (m->nitem >= 4096)
		fx_die("too many spec lines");
	m->item[m->nitem++] = (struct fx_item){ type, i };
}

/* Addresses in frames become bytes once the frame size is known (a
 * "frame" line may come anywhere); blocks are resolved by name (the first
 * of that name; a name no block has stays unresolved, block -1 with "in"
 * set, for builders that write records naming no block). */
static inline void fx_resolve(struct fx_model *m, const bool *bytes)
{
	m->ps = (uint32_t)fx_optn(m, "frame", FX_PS);
	if (m->ps == 0 || (m->ps & (m->ps - 1)))
		fx_die("frame %u is not a power of two", m->ps);
	for (size_t i = 0; i < m->nseg; i++) {
		struct fx_seg *s = &m->seg[i];
		s->ps = m->ps;
		if (!bytes[i]) {
			s->addr *= m->ps;
			s->len *= m->ps;
		}
		s->block = -1;
		for (size_t b = 0; s->in[0] && b < m->nblk && s->block < 0; b++)
			if (strcmp(m->blk[b].name, s->in) == 0)
				s->block = (int)b;
	}
}

static inline void fx_read_spec(const char *path, struct fx_model *m)
{
	bool in = strcmp(path, "-") == 0;
	FILE *f = in ? stdin : fopen(path, "r");
	if (!f)
		fx_die("%s: %s", path, strerror(errno));
	char line[1024];
	memset(m, 0, sizeof *m);
	m->seg = fx_alloc(1024 * sizeof *m->seg);
	m->opt = fx_alloc(1024 * sizeof *m->opt);
	m->blk = fx_alloc(64 * sizeof *m->blk);
	m->item = fx_alloc(4096 * sizeof *m->item);
	bool *bytes = fx_alloc(1024 * sizeof *bytes);
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char a[64] = "", b[256] = "", c[256] = "", d[256] = "";
		int n = sscanf(line, "%63s %255s %255s %255s", a, b, c, d);
		if (n <= 0)
			continue;
		if (strcmp(a, "ram") == 0 || strcmp(a, "absent") == 0 || strcmp(a, "mmio") == 0 ||
		    strcmp(a, "bytes") == 0) {
			if (m->nseg >= 1024)
				fx_die("too many segments");
			struct fx_seg *s = &m->seg[m->nseg];
			bytes[m->nseg] = strcmp(a, "bytes") == 0;
			s->kind = a[0] == 'a' ? FX_ABSENT : a[0] == 'm' ? FX_MMIO : FX_DATA;
			if (n < 3 || ((s->kind == FX_DATA) && n < 4))
				fx_die("bad line: %s", line);
			s->addr = fx_num(b);
			s->len = fx_num(c);
			snprintf(s->content, sizeof s->content, "%s", s->kind == FX_DATA ? d : "zero");
			fx_rest(line, s->kind == FX_DATA ? 4 : 3, s->attr, sizeof s->attr);
			fx_take_in(s);
			fx_add_item(m, FX_ITEM_SEG, m->nseg++);
		} else if (strcmp(a, "block") == 0 && n >= 3) {
			if (m->nblk >= 64)
				fx_die("too many blocks");
			struct fx_block *k = &m->blk[m->nblk];
			snprintf(k->name, sizeof k->name, "%s", b);
			k->len = fx_num(c);
			fx_rest(line, 3, k->attr, sizeof k->attr);
			fx_add_item(m, FX_ITEM_BLOCK, m->nblk++);
		} else {
			if (m->nopt >= 1024)
				fx_die("too many options");
			snprintf(m->opt[m->nopt].key, sizeof m->opt[0].key, "%s", a);
			snprintf(m->opt[m->nopt].val, sizeof m->opt[0].val, "%s", b);
			fx_rest(line, 1, m->opt[m->nopt].rest, sizeof m->opt[0].rest);
			fx_add_item(m, FX_ITEM_OPT, m->nopt++);
		}
	}
	if (!in)
		fclose(f);
	fx_resolve(m, bytes);
	free(bytes);
}

static inline void fx_free_model(struct fx_model *m)
{
	free(m->seg);
	free(m->opt);
	free(m->blk);
	free(m->item);
	memset(m, 0, sizeof *m);
}

/* The bytes of segment s from offset o (within the segment), n bytes, to
 * out.  Zero content pages are not written where out is zero already
 * (out_zero: the caller knows it is, e.g. fresh memory; else it is
 * read).  Returns whether a content page it wrote from is not zero. */
static inline bool fx_seg_write(const struct fx_seg *s, uint64_t o, uint8_t *out, size_t n, bool out_zero)
{
	uint8_t *page = NULL, *run = out; /* run: zero content from there to out */
	uint64_t npages = (s->len + s->ps - 1) / s->ps, have = 0;
	bool nonzero = false;
	while (n) {
		/* content pages are aligned to the segment's start */
		uint64_t i = o / s->ps, in = o % s->ps;
		uint64_t id = fx_content_id(s->content, i, npages);
		size_t k = s->ps - in < n ? (size_t)(s->ps - in) : n;
		if (id != 0 && id != FX_FILL(0)) {
			if (!out_zero && run < out)
				fx_zero(run, (size_t)(out - run));
			if (!page)
				page = fx_alloc(s->ps);
			if (have != id)
				fx_fill(id, page, s->ps);
			have = id;
			memcpy(out, page + in, k);
			nonzero = true;
			run = out + k;
		}
		out += k;
		o += k;
		n -= k;
	}
	if (!out_zero && run < out)
		fx_zero(run, (size_t)(out - run));
	free(page);
	return nonzero;
}

static inline void fx_seg_bytes(const struct fx_seg *s, uint64_t o, uint8_t *out, size_t n)
{
	fx_seg_write(s, o, out, n, false);
}

/* ---- expected frames ---- */
struct fx_piece {                 /* a segment's share of one frame */
	int block;
	uint32_t seg;             /* index in the model's seg[] */
	uint64_t pfn;
	uint64_t ord;             /* the order segments describe frames in */
};

static inline int fx_cmp_piece(const void *a, const void *b)
{
	const struct fx_piece *x = a, *y = b;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static size_t fx_cmp_len = FX_PS;
static inline int fx_cmp_data(const void *a, const void *b)
{
	const struct fx_frame *const *x = a, *const *y = b;
	return memcmp((*x)->data, (*y)->data, fx_cmp_len);
}

/* Frame f from its pieces p[0..n), in the order they describe it (rules:
 * fx_frames); page is a scratch frame, zero on entry and on return. */
static inline void fx_frame_from(const struct fx_model *m, const struct fx_piece *p, size_t n, uint8_t *page,
				 struct fx_frame *f)
{
	const uint64_t ps = m->ps, at = p[0].pfn * ps;
	bool dirty = false;       /* page may hold non-zero bytes */
	memset(f, 0, sizeof *f);
	f->block = p[0].block;
	f->pfn = p[0].pfn;
	for (size_t k = 0; k < n; k++) {
		const struct fx_seg *s = &m->seg[p[k].seg];
		if (k == 0) {
			f->absent = s->kind != FX_DATA;
			f->seg = s;
		} else if (s->block >= 0 && s->kind == FX_DATA && !f->absent) {
			if (dirty) /* sent again: the last copy wins */
				memset(page, 0, ps);
			dirty = false;
			f->cov = 0;
			f->seg = s;
		} else if (s->kind != FX_DATA || f->absent || f->cov == ps) {
			continue; /* first description wins */
		}
		if (s->kind == FX_DATA) {
			uint64_t a = s->addr, b = s->addr + s->len;
			uint64_t fa = at > a ? at : a, fb = at + ps < b ? at + ps : b;
			dirty |= fx_seg_write(s, fa - a, page + (fa - at), (size_t)(fb - fa), !dirty);
			f->cov += (uint32_t)(fb - fa);
		}
	}
	if (dirty && !fx_is_zero(page, ps)) {
		f->data = fx_alloc(ps);
		memcpy(f->data, page, ps);
	}
	if (dirty)
		memset(page, 0, ps);
}

/* Frames of the model, by block and frame number: data segments first
 * (they win), absent ones after; in the address space a frame partly
 * covered by a byte range takes the bytes of later ranges too (merged), a
 * fully covered one keeps its first description.  In a block, a later data
 * line replaces an earlier one (a page sent again), and pages no line
 * describes are zero.  A frame's data is NULL when it is absent or all
 * zero (no memory for zero frames: see "sparse models"). */
static inline struct fx_frame *fx_frames(const struct fx_model *m, size_t *nout)
{
	const uint64_t ps = m->ps;
	size_t np = 0, cap = 16;
	struct fx_piece *p = fx_alloc(cap * sizeof *p);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->nseg; i++) {
			const struct fx_seg *s = &m->seg[i];
			if ((pass == 0) != (s->kind == FX_DATA) || s->kind == FX_MMIO)
				continue;
			if (s->in[0] && s->block < 0)
				fx_die("a segment names block '%s', which no block line declares", s->in);
			if (s->block >= 0 && s->addr + s->len > m->blk[s->block].len)
				fx_die("a segment runs past the end of block '%s'", s->in);
			for (uint64_t pfn = s->addr / ps; pfn * ps < s->addr + s->len; pfn++) {
				if (np == cap) {
					cap *= 2;
					p = realloc(p, cap * sizeof *p);
					if (!p)
						fx_die("out of memory");
				}
				p[np] = (struct fx_piece){ s->block, (uint32_t)i, pfn, np };
				np++;
			}
		}
	qsort(p, np, sizeof *p, fx_cmp_piece);
	struct fx_frame *f = fx_alloc((np ? np : 1) * sizeof *f);
	uint8_t *page = fx_alloc(ps);
	size_t n = 0;
	for (size_t i = 0, j; i < np; i = j) {
		for (j = i + 1; j < np && p[j].block == p[i].block && p[j].pfn == p[i].pfn; j++)
			;
		fx_frame_from(m, p + i, j - i, page, &f[n++]);
	}
	free(page);
	free(p);
	*nout = n;
	return f;
}

static inline void fx_free_frames(struct fx_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].data);
	free(f);
}

/* "pages", "absent", "zero", "nonzero", "distinct", "intra", "partial"
 * of the model, then "range START PAGES STATE" per run of frames of the
 * address space (a builder that maps blocks to addresses appends its own
 * range lines). */
static inline void fx_write_expect(const struct fx_model *m, const char *path)
{
	size_t n;
	struct fx_frame *f = fx_frames(m, &n);
	const uint64_t ps = m->ps;
	uint64_t pages = 0, absent = 0, zero = 0, partial = 0;
	const struct fx_frame **nz = fx_alloc(n * sizeof *nz);
	size_t nnz = 0;
	for (size_t b = 0; b < m->nblk; b++) { /* pages of a block never described: zero */
		uint64_t never = m->blk[b].len / ps;
		for (size_t i = 0; i < n; i++)
			never -= f[i].block == (int)b;
		pages += never;
		zero += never;
	}
	for (size_t i = 0; i < n; i++) {
		if (f[i].absent) {
			absent++;
			continue;
		}
		pages++;
		if (f[i].cov < ps)
			partial++;
		if (!f[i].data)
			zero++;
		else
			nz[nnz++] = &f[i];
	}
	fx_cmp_len = ps;
	qsort(nz, nnz, sizeof *nz, fx_cmp_data);
	uint64_t distinct = 0;
	for (size_t i = 0; i < nnz; i++)
		if (i == 0 || memcmp(nz[i]->data, nz[i - 1]->data, ps) != 0)
			distinct++;
	FILE *o = fopen(path, "w");
	if (!o)
		fx_die("%s: %s", path, strerror(errno));
	fprintf(o, "pages %llu\nabsent %llu\nzero %llu\nnonzero %llu\ndistinct %llu\nintra %llu\npartial %llu\n",
		(unsigned long long)pages, (unsigned long long)absent, (unsigned long long)zero,
		(unsigned long long)nnz, (unsigned long long)distinct, (unsigned long long)(nnz - distinct),
		(unsigned long long)partial);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && f[j].block == f[i].block && f[j].pfn == f[j - 1].pfn + 1 && f[j].absent == f[i].absent)
			j++;
		if (f[i].block < 0)
			fprintf(o, "range %llu %llu %s\n", (unsigned long long)(f[i].pfn * ps),
				(unsigned long long)(j - i), f[i].absent ? "absent" : "data");
		i = j;
	}
	fclose(o);
	fx_free_frames(f, n);
	free(nz);
}

/* ---- makedumpfile's flattened framing ---- */
struct fx_rec {
	uint64_t off, len;        /* bytes of the plain file */
};

enum {
	FX_FLAT_REVERSE = 1,      /* records from the last to the first */
	FX_FLAT_JUNK = 2,         /* a bogus 64-byte record for offset 0 first */
	FX_FLAT_REWRITE = 4,      /* record 0 written with garbage, and again right at the end */
	FX_FLAT_NO_END = 8,       /* no end marker */
};

static inline void fx_flat_record(struct fx_buf *out, uint64_t off, const uint8_t *p, uint64_t len, uint8_t junk)
{
	uint8_t rh[16];
	fx_set_be(rh, off, 8);
	fx_set_be(rh + 8, len, 8);
	fx_put(out, rh, sizeof rh);
	size_t at = fx_put(out, junk ? NULL : p, (size_t)len);
	if (junk)
		memset(out->p + at, junk, (size_t)len);
}

/* The flattened form of in: a 4096-byte header ("makedumpfile", type 1,
 * version 1, big-endian), then records of a be64 offset, a be64 size and
 * the bytes, in the order given (see FX_FLAT_*), then an end marker of two
 * -1.  The map gets "flat.rec.N" (N: index in rec) and "flat.end". */
static inline void fx_flatten(const uint8_t *in, const struct fx_rec *rec, size_t n, unsigned flags,
			      struct fx_buf *out)
{
	uint8_t h[4096] = { 0 };
	memcpy(h, "makedumpfile", 12);
	fx_set_be(h + 16, 1, 8);
	fx_set_be(h + 24, 1, 8);
	fx_put(out, h, sizeof h);
	if (flags & FX_FLAT_JUNK)
		fx_flat_record(out, 0, NULL, 64, 0x5a);
	for (size_t i = 0; i < n; i++) {
		size_t r = (flags & FX_FLAT_REVERSE) ? n - 1 - i : i;
		char nm[32];
		snprintf(nm, sizeof nm, "flat.rec.%zu", r);
		fx_field(out, nm, out->len, 16);
		fx_flat_record(out, rec[r].off, in + rec[r].off, rec[r].len, (flags & FX_FLAT_REWRITE) && r == 0 ? 0xa5 : 0);
	}
	if ((flags & FX_FLAT_REWRITE) && n)
		fx_flat_record(out, rec[0].off, in + rec[0].off, rec[0].len, 0);
	if (flags & FX_FLAT_NO_END)
		return;
	fx_field(out, "flat.end", out->len, 16);
	uint8_t end[16];
	memset(end, 0xff, sizeof end);
	fx_put(out, end, sizeof end);
}

/* Common command line: mkX SPEC OUT [--expect FILE] [--map FILE] */
struct fx_args {
	const char *spec, *out, *expect, *map;
};

static inline void fx_args(int argc, char **argv, struct fx_args *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
			a->expect = argv[++i];
		else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			a->map = argv[++i];
		else if (!a->spec)
			a->spec = argv[i];
		else if (!a->out)
			a->out = argv[i];
		else
			fx_die("usage: %s SPEC OUT [--expect FILE] [--map FILE]", argv[0]);
	}
	if (!a->spec || !a->out)
		fx_die("usage: %s SPEC OUT [--expect FILE] [--map FILE]", argv[0]);
}

static inline FILE *fx_open_map(const struct fx_args *a)
{
	if (!a->map)
		return NULL;
	FILE *f = fopen(a->map, "w");
	if (!f)
		fx_die("%s: %s", a->map, strerror(errno));
	return f;
}

#endif
