/*
 * Shared by the fixture builders (tests/formats/mk*.c): a guest model built
 * from a text spec, the expected analysis of that model, and a map of the
 * fields a builder wrote (so that tests can damage exactly one of them).
 *
 * Spec lines ('#' starts a comment):
 *   ram PFN N CONTENT        N present frames from PFN
 *   bytes ADDR LEN CONTENT   a byte range (LiME): frames it covers only partly
 *                            read as zero in the rest
 *   absent PFN N             frames of guest RAM the file does not store
 *   mmio PFN N               a device range (VirtualBox): not RAM
 *   KEY VALUE...             a builder option (a builder may read the whole
 *                            rest of the line, and a key may repeat)
 * CONTENT: zero | same:K | seq:K | cycle:K:M | ids:A,B,C...  Page K is
 * pattern K (fx_fill below: K = 0 all zero, distinct K distinct pages); in
 * an ids list, K*N stands for N copies of K.
 * A segment line may end in builder attributes KEY=VALUE (kept in attr, see
 * each builder's header comment), e.g. ELF "offset=same:0".  SPEC '-' is
 * standard input.
 *
 * Expectations (--expect FILE): "pages N", "absent N", "zero N",
 * "nonzero N", "distinct N", "intra N", "partial N", then "range START
 * PAGES STATE" per run of frames, computed from the model alone.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#define FX_PS 4096u

static inline void fx_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static inline void fx_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fixture: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static inline void *fx_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		fx_die("out of memory");
	return p;
}

/* Page pattern K, the one page-content generator of every builder: K = 0
 * is all zero; K > 0 starts with an 8-byte word that is a bijection of K (so
 * distinct K always give distinct pages, never a zero page) followed by runs
 * of 1 to 16 equal bytes from a xorshift sequence seeded by that word.  The
 * runs make pages compress about 4:1 with every codec, as real memory does,
 * and the sequence has no period that would make a page look like a
 * repeating pattern. */
/* Large sparse dumps (gigabytes of zero pages) are built in memory that
 * stays mostly untouched: buffers come from calloc (fresh zero pages), zero
 * content is never written there, and the file is written with holes.
 * Touching such memory even by reading it makes it resident on some
 * kernels, so "is it zero" asks /proc/self/pagemap first: a page neither
 * present nor swapped has never been touched and reads as zero. */
/* A window of /proc/self/pagemap, read 1024 pages at a time.  Each call
 * below reads its own, so what it says holds at the start of that call:
 * the call writes each byte at most once, and a byte of a page that was
 * untouched then is zero whatever the call wrote beside it. */
struct fx_pm {
	uintptr_t first;          /* first page read (address / page size) */
	size_t n;
	uintptr_t last;           /* last page of the call's range: no reading past it */
	uint64_t e[1024];
};

static inline void fx_pm_init(struct fx_pm *pm, const void *p, size_t n)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	pm->n = 0;
	pm->last = ((uintptr_t)p + (n ? n - 1 : 0)) / ps;
}

static inline bool fx_untouched_page(struct fx_pm *pm, uintptr_t page)
{
	static int fd = -2;
	if (fd == -2)
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (pm->n == 0 || page < pm->first || page >= pm->first + pm->n) {
		size_t want = page <= pm->last && pm->last - page < 1024 ? (size_t)(pm->last - page + 1) : 1024;
		ssize_t r = pread(fd, pm->e, want * 8, (off_t)(page * 8));
		pm->first = page;
		pm->n = r > 0 ? (size_t)r / 8 : 0;
		if (pm->n == 0)
			return false;
	}
	return (pm->e[page - pm->first] >> 62) == 0; /* bit 63 present, bit 62 swapped */
}

/* n bytes at p are all zero: the parts in untouched pages are, the others
 * are compared (only pages already resident are read) */
static inline bool fx_blank(struct fx_pm *pm, const void *p, size_t n)
{
	static const uint8_t z[4096];
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	const uint8_t *b = p, *e = b + n;
	while (b < e) {
		uintptr_t page = (uintptr_t)b / ps;
		const uint8_t *next = (const uint8_t *)((page + 1) * ps);
		if (next > e)
			next = e;
		if (!fx_untouched_page(pm, page))
			for (const uint8_t *q = b; q < next; q += sizeof z)
				if (memcmp(q, z, (size_t)(next - q) < sizeof z ? (size_t)(next - q) : sizeof z))
					return false;
		b = next;
	}
	return true;
}

/* Zero n bytes at p, writing only the 4 KiB blocks that are not zero */
static inline void fx_zero(uint8_t *p, size_t n)
{
	struct fx_pm pm;
	fx_pm_init(&pm, p, n);
	while (n) {
		size_t k = n < 4096 ? n : 4096;
		if (!fx_blank(&pm, p, k))
			memset(p, 0, k);
		p += k;
		n -= k;
	}
}

/* memcpy, skipping the all-zero 4 KiB blocks of src where dst is zero */
static inline void fx_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	struct fx_pm ps, pd;
	fx_pm_init(&ps, src, n);
	fx_pm_init(&pd, dst, n);
	while (n) {
		size_t k = n < 4096 ? n : 4096;
		if (!fx_blank(&ps, src, k))
			memcpy(dst, src, k);
		else if (!fx_blank(&pd, dst, k))
			memset(dst, 0, k);
		dst += k;
		src += k;
		n -= k;
	}
}

static inline void fx_fill(uint64_t id, uint8_t *p, size_t n)
{
	if (id == 0) {
		fx_zero(p, n);
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

struct fx_seg {                   /* as written in the spec, in order */
	int kind;
	uint64_t addr, len;       /* bytes */
	char content[256];
	char attr[256];           /* builder attributes after the segment */
};

struct fx_frame {
	uint64_t pfn;
	uint8_t *data;            /* FX_PS bytes, NULL when absent */
	uint32_t cov;             /* bytes covered by data */
	int absent;
};

struct fx_opt {
	char key[64], val[256];
	char rest[512];           /* the whole value: rest of the line */
};

struct fx_model {
	struct fx_seg *seg;
	size_t nseg;
	struct fx_opt *opt;
	size_t nopt;
};

static inline uint64_t fx_num(const char *s)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 0);
	if (errno || *e)
		fx_die("bad number '%s'", s);
	return v;
}

/* content id of page i of a segment */
static inline uint64_t fx_content_id(const char *c, uint64_t i, uint64_t n)
{
	if (strcmp(c, "zero") == 0)
		return 0;
	if (strncmp(c, "same:", 5) == 0)
		return fx_num(c + 5);
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
				return fx_num(buf);
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

static inline void fx_read_spec(const char *path, struct fx_model *m)
{
	bool in = strcmp(path, "-") == 0;
	FILE *f = in ? stdin : fopen(path, "r");
	if (!f)
		fx_die("%s: %s", path, strerror(errno));
	char line[1024];
	memset(m, 0, sizeof *m);
	m->seg = fx_alloc(1024 * sizeof *m->seg);
	m->opt = fx_alloc(256 * sizeof *m->opt);
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
			struct fx_seg *s = &m->seg[m->nseg++];
			bool bytes = strcmp(a, "bytes") == 0;
			s->kind = a[0] == 'a' ? FX_ABSENT : a[0] == 'm' ? FX_MMIO : FX_DATA;
			if (n < 3 || ((s->kind == FX_DATA) && n < 4))
				fx_die("bad line: %s", line);
			s->addr = bytes ? fx_num(b) : fx_num(b) * FX_PS;
			s->len = bytes ? fx_num(c) : fx_num(c) * FX_PS;
			snprintf(s->content, sizeof s->content, "%s", s->kind == FX_DATA ? d : "zero");
			fx_rest(line, s->kind == FX_DATA ? 4 : 3, s->attr, sizeof s->attr);
		} else {
			if (m->nopt >= 256)
				fx_die("too many options");
			snprintf(m->opt[m->nopt].key, sizeof m->opt[0].key, "%s", a);
			snprintf(m->opt[m->nopt].val, sizeof m->opt[0].val, "%s", b);
			fx_rest(line, 1, m->opt[m->nopt].rest, sizeof m->opt[0].rest);
			m->nopt++;
		}
	}
	if (!in)
		fclose(f);
}

static inline void fx_free_model(struct fx_model *m)
{
	free(m->seg);
	free(m->opt);
	memset(m, 0, sizeof *m);
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

/* The bytes of segment s from offset o (within the segment), n bytes. */
static inline void fx_seg_bytes(const struct fx_seg *s, uint64_t o, uint8_t *out, size_t n)
{
	uint8_t page[FX_PS];
	uint64_t npages = (s->len + FX_PS - 1) / FX_PS;
	while (n) {
		/* content pages are aligned to the segment's start */
		uint64_t i = o / FX_PS, in = o % FX_PS;
		uint64_t id = fx_content_id(s->content, i, npages);
		size_t k = FX_PS - in < n ? (size_t)(FX_PS - in) : n;
		if (id == 0) {
			fx_zero(out, k);
		} else {
			fx_fill(id, page, FX_PS);
			memcpy(out, page + in, k);
		}
		out += k;
		o += k;
		n -= k;
	}
}

/* ---- expected frames ---- */
static inline int fx_cmp_frame_pfn(const void *a, const void *b)
{
	const struct fx_frame *x = a, *y = b;
	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static inline int fx_cmp_data(const void *a, const void *b)
{
	const struct fx_frame *const *x = a, *const *y = b;
	return memcmp((*x)->data, (*y)->data, FX_PS);
}

/* Frames of the model: data segments first (they win), absent ones after;
 * a frame partly covered by a byte range takes the bytes of later ranges too
 * (merged), a fully covered one keeps its first description. */
static inline struct fx_frame *fx_frames(const struct fx_model *m, size_t *nout)
{
	size_t cap = 16, n = 0;
	struct fx_frame *f = fx_alloc(cap * sizeof *f);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->nseg; i++) {
			const struct fx_seg *s = &m->seg[i];
			if ((pass == 0) != (s->kind == FX_DATA) || s->kind == FX_MMIO)
				continue;
			uint64_t a = s->addr, b = s->addr + s->len;
			for (uint64_t pfn = a / FX_PS; pfn * FX_PS < b; pfn++) {
				uint64_t fa = pfn * FX_PS > a ? pfn * FX_PS : a;
				uint64_t fb = (pfn + 1) * FX_PS < b ? (pfn + 1) * FX_PS : b;
				size_t k;
				for (k = 0; k < n && f[k].pfn != pfn; k++)
					;
				if (k == n) {
					if (n == cap) {
						cap *= 2;
						f = realloc(f, cap * sizeof *f);
						if (!f)
							fx_die("out of memory");
					}
					memset(&f[n], 0, sizeof f[n]);
					f[n].pfn = pfn;
					f[n].absent = s->kind != FX_DATA;
					if (s->kind == FX_DATA)
						f[n].data = fx_alloc(FX_PS);
					n++;
				} else if (s->kind != FX_DATA || f[k].absent || f[k].cov == FX_PS) {
					continue; /* first description wins */
				}
				if (s->kind == FX_DATA) {
					fx_seg_bytes(s, fa - a, f[k].data + (fa - pfn * FX_PS), (size_t)(fb - fa));
					f[k].cov += (uint32_t)(fb - fa);
				}
			}
		}
	qsort(f, n, sizeof *f, fx_cmp_frame_pfn);
	*nout = n;
	return f;
}

static inline void fx_write_expect(const struct fx_model *m, const char *path)
{
	size_t n;
	struct fx_frame *f = fx_frames(m, &n);
	uint64_t pages = 0, absent = 0, zero = 0, partial = 0;
	const struct fx_frame **nz = fx_alloc(n * sizeof *nz);
	size_t nnz = 0;
	static const uint8_t zpage[FX_PS];
	for (size_t i = 0; i < n; i++) {
		if (f[i].absent) {
			absent++;
			continue;
		}
		pages++;
		if (f[i].cov < FX_PS)
			partial++;
		if (memcmp(f[i].data, zpage, FX_PS) == 0)
			zero++;
		else
			nz[nnz++] = &f[i];
	}
	qsort(nz, nnz, sizeof *nz, fx_cmp_data);
	uint64_t distinct = 0;
	for (size_t i = 0; i < nnz; i++)
		if (i == 0 || memcmp(nz[i]->data, nz[i - 1]->data, FX_PS) != 0)
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
		while (j < n && f[j].pfn == f[j - 1].pfn + 1 && f[j].absent == f[i].absent)
			j++;
		fprintf(o, "range %llu %llu %s\n", (unsigned long long)(f[i].pfn * FX_PS), (unsigned long long)(j - i),
			f[i].absent ? "absent" : "data");
		i = j;
	}
	fclose(o);
	for (size_t i = 0; i < n; i++)
		free(f[i].data);
	free(f);
	free(nz);
}

/* ---- output buffer and field map ---- */
struct fx_buf {
	uint8_t *p;
	size_t len, cap;
	FILE *map;                /* "NAME OFFSET SIZE" lines, or NULL */
};

/* Grows into fresh zeroed memory (calloc), so zero areas stay unbacked
 * (fx_zero). */
static inline void fx_reserve(struct fx_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap;
	while (b->len + n > cap)
		cap = cap ? cap * 2 : 65536;
	uint8_t *p = calloc(1, cap);
	if (!p)
		fx_die("out of memory");
	if (b->p)
		fx_copy(p, b->p, b->cap);
	free(b->p);
	b->p = p;
	b->cap = cap;
}

static inline size_t fx_put(struct fx_buf *b, const void *p, size_t n)
{
	fx_reserve(b, n);
	size_t at = b->len;
	if (p)
		fx_copy(b->p + at, p, n);
	else
		fx_zero(b->p + at, n);
	b->len += n;
	return at;
}

static inline void fx_field(struct fx_buf *b, const char *name, size_t off, size_t size)
{
	if (b->map)
		fprintf(b->map, "%s %zu %zu\n", name, off, size);
}

static inline void fx_set_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fx_set_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

static inline size_t fx_le(struct fx_buf *b, uint64_t v, unsigned n)
{
	uint8_t t[8];
	fx_set_le(t, v, n);
	return fx_put(b, t, n);
}

static inline void fx_align(struct fx_buf *b, size_t a)
{
	while (b->len % a)
		fx_put(b, NULL, 1);
}

/* Writes n bytes of p to path, leaving holes for the all-zero 4 KiB
 * blocks (a sparse file: a dump of many gigabytes of zero pages takes
 * little disk). */
static inline void fx_write_file(const char *path, const void *p, size_t n)
{
	const uint8_t *b = p;
	struct fx_pm pm;
	fx_pm_init(&pm, p, n);
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL;
	for (size_t at = 0; ok && at < n;) {
		size_t k = n - at < 4096 ? n - at : 4096;
		if (k == 4096 && fx_blank(&pm, b + at, k))
			ok = fseeko(f, (off_t)k, SEEK_CUR) == 0;
		else
			ok = fwrite(b + at, 1, k, f) == k;
		at += k;
	}
	/* a hole at the end: the size comes from the truncation */
	ok = ok && fflush(f) == 0 && ftruncate(fileno(f), (off_t)n) == 0;
	if (!f || fclose(f) != 0 || !ok)
		fx_die("%s: cannot write", path);
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
