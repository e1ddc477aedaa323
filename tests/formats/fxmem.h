/*
 * Memory, output buffers and files of the fixture builders (fixture.h):
 * zero pages of a large sparse model cost neither memory nor disk.
 */
#ifndef FXMEM_H
#define FXMEM_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
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

/* ---- sparse models ----
 * A model of many gigabytes of guest RAM that is mostly zero pages (e.g.
 * data past 4 GiB in a file) must cost neither memory nor disk.  Large
 * buffers come from calloc, which maps fresh memory that takes no RAM
 * until it is touched; the helpers below never write zeros over zeros,
 * frames that are all zero keep no data (fx_frames), and fx_write_file
 * leaves holes for zero blocks.  Even reading an untouched page makes some
 * kernels back it with memory (slowly), so "is it zero" first asks
 * /proc/self/pagemap: a page neither present nor swapped was never touched
 * and reads as zero.  A builder's memory and the file's disk blocks then
 * follow the non-zero data, plus a few dozen bytes per frame of the model.
 *
 * A window of pagemap entries is read per call of a helper, so what it
 * says holds at the start of that call: the call writes each byte at most
 * once, after looking at it, and a byte of a page untouched then is zero
 * whatever the call wrote beside it.  A call on fewer than FX_PM_MIN bytes
 * just reads them (a page or two, which the writes around it touch
 * anyway): a pagemap read costs more than that. */
#define FX_PM_MIN (4 * FX_PS)
struct fx_pm {
	uintptr_t first;          /* first page in e[] (address / page size) */
	size_t n;                 /* entries in e[] */
	uintptr_t last;           /* the last page of the call's range */
	bool direct;              /* read the bytes, ask no pagemap */
	uint64_t e[512];
};

static inline uintptr_t fx_sys_ps(void)
{
	static uintptr_t ps;
	if (!ps)
		ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static inline void fx_pm_init(struct fx_pm *pm, const void *p, size_t n)
{
	pm->n = 0;
	pm->direct = n < FX_PM_MIN;
	pm->last = ((uintptr_t)p + (n ? n - 1 : 0)) / fx_sys_ps();
}

static inline bool fx_untouched(struct fx_pm *pm, uintptr_t page)
{
	static int fd = -2;
	if (pm->direct)
		return false;
	if (fd == -2)
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (page < pm->first || page >= pm->first + pm->n) {
		const size_t cap = sizeof pm->e / sizeof pm->e[0];
		size_t want = page <= pm->last && pm->last - page < cap ? (size_t)(pm->last - page + 1) : cap;
		ssize_t r = pread(fd, pm->e, want * sizeof pm->e[0], (off_t)(page * sizeof pm->e[0]));
		pm->first = page;
		pm->n = r > 0 ? (size_t)r / sizeof pm->e[0] : 0;
		if (pm->n == 0)
			return false;
	}
	return (pm->e[page - pm->first] >> 62) == 0; /* bit 63 present, bit 62 swapped */
}

/* the n bytes at p are zero: those in untouched pages are, the others are
 * compared */
static const uint8_t fx_zeros[FX_PS];
static inline bool fx_blank(struct fx_pm *pm, const void *p, size_t n)
{
	const uint8_t *b = p, *e = b + n;
	while (b < e) {
		uintptr_t page = (uintptr_t)b / fx_sys_ps();
		const uint8_t *next = (const uint8_t *)((page + 1) * fx_sys_ps());
		if (next > e)
			next = e;
		if (!fx_untouched(pm, page))
			for (const uint8_t *q = b; q < next; q += sizeof fx_zeros) {
				size_t k = (size_t)(next - q) < sizeof fx_zeros ? (size_t)(next - q) : sizeof fx_zeros;
				if (memcmp(q, fx_zeros, k) != 0)
					return false;
			}
		b = next;
	}
	return true;
}

static inline bool fx_is_zero(const void *p, size_t n)
{
	struct fx_pm pm;
	fx_pm_init(&pm, p, n);
	return fx_blank(&pm, p, n);
}

/* memset(p, 0, n), writing only the 4 KiB pieces that are not zero */
static inline void fx_zero(void *p, size_t n)
{
	struct fx_pm pm;
	uint8_t *b = p;
	fx_pm_init(&pm, p, n);
	for (size_t k; n; b += k, n -= k) {
		k = n < FX_PS ? n : FX_PS;
		if (!fx_blank(&pm, b, k))
			memset(b, 0, k);
	}
}

/* memcpy(dst, src, n), skipping the 4 KiB pieces that are zero in both */
static inline void fx_copy(void *dst, const void *src, size_t n)
{
	struct fx_pm ps, pd;
	uint8_t *d = dst;
	const uint8_t *s = src;
	fx_pm_init(&ps, src, n);
	fx_pm_init(&pd, dst, n);
	for (size_t k; n; d += k, s += k, n -= k) {
		k = n < FX_PS ? n : FX_PS;
		if (!fx_blank(&ps, s, k))
			memcpy(d, s, k);
		else if (!fx_blank(&pd, d, k))
			memset(d, 0, k);
	}
}

/* ---- output buffer and field map ---- */
struct fx_buf {
	uint8_t *p;
	size_t len, cap;
	FILE *map;                /* "NAME OFFSET SIZE" lines, or NULL */
};

/* A buffer of FX_BIG bytes or more is mapped from the kernel: fresh memory
 * that stays untouched where it is zero, even under AddressSanitizer (whose
 * allocator writes the shadow of a whole block, an eighth of its size). */
#define FX_BIG ((size_t)64 << 20)
static inline uint8_t *fx_buf_mem(size_t cap)
{
	if (cap < FX_BIG)
		return fx_alloc(cap);
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		fx_die("out of memory (%zu bytes)", cap);
	return p;
}

static inline void fx_buf_unmem(uint8_t *p, size_t cap)
{
	if (cap < FX_BIG)
		free(p);
	else if (p)
		munmap(p, cap);
}

/* Room for n more bytes: a larger buffer into which only the non-zero
 * pieces are copied, so zero areas stay untouched (realloc would copy
 * them). */
static inline void fx_reserve(struct fx_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap;
	while (b->len + n > cap)
		cap = cap ? cap * 2 : 65536;
	uint8_t *p = fx_buf_mem(cap);
	if (b->p)
		fx_copy(p, b->p, b->cap);
	fx_buf_unmem(b->p, b->cap);
	b->p = p;
	b->cap = cap;
}

static inline void fx_buf_free(struct fx_buf *b)
{
	fx_buf_unmem(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
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

/* n bytes (zero when p is NULL) at offset off, the buffer grown (zero
 * filled) to hold them */
static inline void fx_put_at(struct fx_buf *b, size_t off, const void *p, size_t n)
{
	if (off + n > b->len) {
		fx_reserve(b, off + n - b->len);
		fx_zero(b->p + b->len, off + n - b->len);
		b->len = off + n;
	}
	if (p)
		fx_copy(b->p + off, p, n);
	else
		fx_zero(b->p + off, n);
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

/* The file path holds the n bytes at p; the all-zero 4 KiB blocks are
 * holes (a sparse file: gigabytes of zero pages take no disk). */
static inline void fx_write_file(const char *path, const void *p, size_t n)
{
	const uint8_t *b = p;
	struct fx_pm pm;
	fx_pm_init(&pm, p, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	bool ok = fd >= 0;
	for (size_t at = 0; ok && at < n;) {
		size_t end = at; /* a run of blocks to write, then one of holes */
		while (end < n && (n - end < FX_PS || !fx_blank(&pm, b + end, FX_PS)))
			end += n - end < FX_PS ? n - end : FX_PS;
		for (size_t w = at; ok && w < end;) {
			ssize_t r = pwrite(fd, b + w, end - w, (off_t)w);
			ok = r > 0;
			w += ok ? (size_t)r : 0;
		}
		at = end;
		while (at < n && n - at >= FX_PS && fx_blank(&pm, b + at, FX_PS))
			at += FX_PS;
	}
	/* a hole at the end: the size comes from the truncation */
	ok = ok && ftruncate(fd, (off_t)n) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (!ok)
		fx_die("%s: cannot write", path);
}

#endif
