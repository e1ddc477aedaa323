/*
 * mkelf — write a small ELF core from a fixture spec (fixture.h's language),
 * for tests whose expected numbers are known by construction.
 *
 * Usage: mkelf SPEC OUT [--expect FILE] [--map FILE]    (SPEC '-' = stdin)
 *
 * Segments: every ram, bytes or absent line is one PT_LOAD, in spec order:
 *   ram PFN N CONTENT      p_filesz = p_memsz = N pages
 *   bytes ADDR LEN CONTENT p_filesz = p_memsz = LEN (a partly stored frame)
 *   absent PFN N           right after a ram/bytes line that it continues:
 *                          that PT_LOAD's p_memsz > p_filesz tail; else a
 *                          PT_LOAD of its own with p_filesz 0, p_offset 0
 * Segment attributes (after the segment):
 *   offset=N               the data's file offset (default: appended)
 *   offset=same:I          reuse the file bytes of PT_LOAD I (counted from 0,
 *                          notes not counted); CONTENT must be what is there
 *   offset=ones            p_offset all ones (nothing stored)
 * Options:
 *   class 32|64            (default 64)
 *   endian le|be           (default le)
 *   machine N              (default 62, x86-64)
 *   type N                 e_type (default 4, ET_CORE)
 *   version N              e_ident[EI_VERSION] (default 1)
 *   flags N                e_flags (default 0)
 *   phoff N                where the program headers go (default: right
 *                          after the ELF header)
 *   xnum 1                 program header count in section 0 (PN_XNUM)
 *   note NAME TEXT         a note of type 0 whose data is TEXT (\n allowed);
 *                          repeatable, in order, all in one PT_NOTE
 *   truncate N             cut the file to N bytes at the end
 * --expect counts 4 KiB frames of the model, whatever page size a
 * VMCOREINFO note announces; an offset=ones header is left out of it (the
 * reader skips such a header).
 */
#include "fixture.h"

#define MAXLOAD 1024
#define MAXNOTE 16

enum { OFF_APPEND, OFF_AT, OFF_SAME, OFF_ONES };

struct load {
	uint64_t paddr, filesz, memsz, offset;
	int mode, same, tail;
	const struct fx_seg *seg; /* data, or NULL */
};

static int is64 = 1, be;

static void put(uint8_t *p, uint64_t v, int n)
{
	if (be)
		fx_set_be(p, v, (unsigned)n);
	else
		fx_set_le(p, v, (unsigned)n);
}

static void parse_attr(struct load *l, const char *attr)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", attr);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (strncmp(t, "offset=", 7) != 0)
			fx_die("mkelf: unknown segment attribute '%s'", t);
		const char *v = t + 7;
		if (strcmp(v, "ones") == 0)
			l->mode = OFF_ONES;
		else if (strncmp(v, "same:", 5) == 0) {
			l->mode = OFF_SAME;
			l->same = (int)fx_num(v + 5);
		} else {
			l->mode = OFF_AT;
			l->offset = fx_num(v);
		}
	}
}

static size_t make_loads(const struct fx_model *m, struct load *ld)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nseg; i++) {
		const struct fx_seg *s = &m->seg[i];
		if (s->kind == FX_MMIO)
			fx_die("mkelf: an ELF core has no mmio ranges");
		struct load *p = n ? &ld[n - 1] : NULL;
		if (s->kind == FX_ABSENT && p && p->seg && !p->tail && p->paddr + p->memsz == s->addr && !s->attr[0]) {
			p->memsz += s->len;
			p->tail = 1;
			continue;
		}
		if (n == MAXLOAD)
			fx_die("mkelf: too many segments");
		struct load *l = &ld[n++];
		memset(l, 0, sizeof *l);
		l->paddr = s->addr;
		l->memsz = s->len;
		if (s->kind == FX_DATA) {
			l->seg = s;
			l->filesz = s->len;
		} else {
			l->mode = OFF_AT;
		}
		parse_attr(l, s->attr);
	}
	return n;
}

/* notes from the options, in order: name and unescaped text */
static size_t read_notes(const struct fx_model *m, char **name, char **text)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nopt; i++) {
		if (strcmp(m->opt[i].key, "note") != 0)
			continue;
		if (n == MAXNOTE)
			fx_die("mkelf: too many notes");
		const char *r = m->opt[i].rest;
		size_t nl = strcspn(r, " \t");
		name[n] = fx_alloc(nl + 1);
		memcpy(name[n], r, nl);
		r += nl + strspn(r + nl, " \t");
		char *w = text[n] = fx_alloc(strlen(r) + 1);
		for (; *r; r++) {
			if (r[0] == '\\' && r[1] == 'n') {
				*w++ = '\n';
				r++;
			} else
				*w++ = *r;
		}
		n++;
	}
	return n;
}

static void write_ehdr(uint8_t *f, const struct fx_model *m, uint64_t phoff, uint64_t shoff, size_t nph, int xnum)
{
	size_t ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32, shent = is64 ? 64 : 40;
	memcpy(f, "\177ELF", 4);
	f[4] = is64 ? 2 : 1;
	f[5] = be ? 2 : 1;
	f[6] = (uint8_t)fx_optn(m, "version", 1);
	put(f + 16, fx_optn(m, "type", 4), 2);
	put(f + 18, fx_optn(m, "machine", 62), 2);
	put(f + 20, 1, 4);
	uint16_t phnum_field = xnum ? 0xffff : (uint16_t)nph;
	uint8_t *h = f + (is64 ? 0x20 : 0x1c);
	int w = is64 ? 8 : 4;
	put(h, phoff, w);
	put(h + w, shoff, w);
	put(h + 2 * w, fx_optn(m, "flags", 0), 4);
	put(h + 2 * w + 4, ehsize, 2);
	put(h + 2 * w + 6, phent, 2);
	put(h + 2 * w + 8, phnum_field, 2);
	put(h + 2 * w + 10, xnum ? shent : 0, 2);
	put(h + 2 * w + 12, xnum ? 1 : 0, 2);
	if (xnum)
		put(f + shoff + (is64 ? 44 : 28), nph, 4);
}

static void write_phdr(uint8_t *ph, uint32_t type, uint64_t off, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	put(ph, type, 4);
	if (is64) {
		put(ph + 8, off, 8);
		put(ph + 16, paddr, 8);
		put(ph + 24, paddr, 8);
		put(ph + 32, filesz, 8);
		put(ph + 40, memsz, 8);
	} else {
		put(ph + 4, off, 4);
		put(ph + 8, paddr, 4);
		put(ph + 12, paddr, 4);
		put(ph + 16, filesz, 4);
		put(ph + 20, memsz, 4);
	}
}

static size_t write_notes(uint8_t *n, char **name, char **text, size_t nnote)
{
	uint8_t *start = n;
	for (size_t i = 0; i < nnote; i++) {
		size_t nl = strlen(name[i]) + 1, dl = strlen(text[i]);
		put(n, nl, 4);
		put(n + 4, dl, 4);
		put(n + 8, 0, 4);
		memcpy(n + 12, name[i], nl);
		n += 12 + ((nl + 3) & ~(size_t)3);
		memcpy(n, text[i], dl);
		n += (dl + 3) & ~(size_t)3;
	}
	return (size_t)(n - start);
}

/* file offsets of the data; returns the file size */
static uint64_t place(struct load *ld, size_t n, uint64_t pos)
{
	for (size_t i = 0; i < n; i++) {
		struct load *l = &ld[i];
		if (l->mode == OFF_APPEND) {
			l->offset = pos;
			pos += l->filesz;
		} else if (l->mode == OFF_SAME) {
			if (l->same < 0 || (size_t)l->same >= i)
				fx_die("mkelf: offset=same:%d refers to a later segment", l->same);
			l->offset = ld[l->same].offset;
		} else if (l->mode == OFF_ONES)
			l->offset = is64 ? UINT64_MAX : UINT32_MAX;
	}
	uint64_t total = pos;
	for (size_t i = 0; i < n; i++)
		if (ld[i].mode == OFF_AT && ld[i].offset + ld[i].filesz > total)
			total = ld[i].offset + ld[i].filesz;
	return total;
}

static void write_data(uint8_t *f, const struct load *ld, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct load *l = &ld[i];
		if (!l->seg || l->mode == OFF_ONES)
			continue;
		if (l->mode != OFF_SAME) {
			fx_seg_bytes(l->seg, 0, f + l->offset, (size_t)l->filesz);
			continue;
		}
		uint8_t *want = fx_alloc((size_t)l->filesz);
		fx_seg_bytes(l->seg, 0, want, (size_t)l->filesz);
		if (memcmp(want, f + l->offset, (size_t)l->filesz) != 0)
			fx_die("mkelf: PT_LOAD %zu: its content is not what offset=same:%d holds", i, l->same);
		free(want);
	}
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	is64 = fx_optn(&m, "class", 64) == 64;
	be = strcmp(fx_opt(&m, "endian", "le"), "be") == 0;
	int xnum = fx_optn(&m, "xnum", 0) != 0;
	static struct load ld[MAXLOAD];
	size_t nld = make_loads(&m, ld);
	char *name[MAXNOTE], *text[MAXNOTE];
	size_t nnote = read_notes(&m, name, text);

	size_t ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32, shent = is64 ? 64 : 40;
	size_t nph = nld + (nnote ? 1 : 0);
	uint64_t phoff = fx_optn(&m, "phoff", ehsize);
	uint64_t shoff = xnum ? phoff + nph * phent : 0;
	uint64_t noteoff = xnum ? shoff + shent : phoff + nph * phent;
	size_t notesz = 0;
	for (size_t i = 0; i < nnote; i++)
		notesz += 12 + ((strlen(name[i]) + 1 + 3) & ~(size_t)3) + ((strlen(text[i]) + 3) & ~(size_t)3);
	uint64_t total = place(ld, nld, noteoff + notesz);
	uint64_t need = phoff + nph * phent > total ? phoff + nph * phent : total;
	struct fx_buf fb = { 0 }; /* zero filled, untouched where it stays zero */
	fx_put(&fb, NULL, (size_t)need);
	uint8_t *f = fb.p;

	struct fx_buf map = {.map = fx_open_map(&a)};
	write_ehdr(f, &m, phoff, shoff, nph, xnum);
	fx_field(&map, "e_phoff", is64 ? 0x20 : 0x1c, is64 ? 8 : 4);
	size_t k = 0;
	if (nnote) {
		write_phdr(f + phoff, 4, noteoff, 0, 0, 0);
		put(f + phoff + (is64 ? 32 : 16), notesz, is64 ? 8 : 4);
		put(f + phoff + (is64 ? 40 : 20), 0, is64 ? 8 : 4);
		write_notes(f + noteoff, name, text, nnote);
		fx_field(&map, "notes", (size_t)noteoff, notesz);
		k = 1;
	}
	for (size_t i = 0; i < nld; i++, k++) {
		write_phdr(f + phoff + k * phent, 1, ld[i].offset, ld[i].paddr, ld[i].filesz, ld[i].memsz);
		char nm[32];
		snprintf(nm, sizeof nm, "phdr%zu", k);
		fx_field(&map, nm, (size_t)(phoff + k * phent), phent);
	}
	write_data(f, ld, nld);
	uint64_t cut = fx_optn(&m, "truncate", total);
	if (cut < total)
		total = cut;
	fx_write_file(a.out, f, (size_t)total);
	if (a.expect) {
		/* a header with p_offset all ones describes nothing: not in RAM */
		for (size_t i = 0; i < m.nseg; i++)
			if (strstr(m.seg[i].attr, "offset=ones"))
				m.seg[i].kind = FX_MMIO;
		fx_write_expect(&m, a.expect);
	}
	if (map.map)
		fclose(map.map);
	for (size_t i = 0; i < nnote; i++) {
		free(name[i]);
		free(text[i]);
	}
	fx_buf_free(&fb);
	fx_free_model(&m);
	return 0;
}
