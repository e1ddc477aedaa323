/*
 * mkelf — write a small ELF core from a text spec, for tests whose expected
 * numbers are known by construction.
 *
 * Usage: mkelf SPEC OUT      (SPEC '-' = standard input)
 *
 * Spec lines (# comments):
 *   class 32|64            (default 64)
 *   endian le|be           (default le)
 *   machine N              (default 62, x86-64)
 *   type N                 e_type (default 4, ET_CORE)
 *   version N              e_ident[EI_VERSION] (default 1)
 *   flags N                e_flags (default 0)
 *   phoff N                where the program headers go (default: right after the ELF header)
 *   xnum                   store the program header count in section 0 (PN_XNUM)
 *   note NAME TEXT         a note of type 0 whose data is TEXT (\n allowed)
 *   load KEY=VALUE...      a PT_LOAD; keys:
 *        paddr=A           guest-physical address (default: after the previous one)
 *        data=P,P,...      page contents: 0 = zero page, k > 0 = pattern k (never zero);
 *                          k*n repeats a content n times
 *        filesz=N          bytes stored (default: 4096 per data page)
 *        memsz=N           bytes of guest RAM (default: filesz)
 *        offset=N          file offset of the data (default: appended); offset=same:I
 *                          reuses the data of PT_LOAD number I
 *        offset=ones       p_offset all ones (paging-mode header with nothing stored)
 *   phdr TYPE             an extra program header of another type (e.g. 6)
 *   truncate N             cut the file to N bytes at the end
 * Page pattern k: fx_fill() of fixture.h, the generator every builder uses
 * (distinct k give distinct pages, never a zero page).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define PAGE 4096
#define MAXSEG 256
#define MAXNOTE 16

struct seg {
	uint32_t type;
	uint64_t paddr, filesz, memsz, offset;
	int offset_mode; /* 0 append, 1 explicit, 2 same:I, 3 ones */
	int same;
	uint32_t *pages;
	size_t npages;
};

static int is64 = 1, be = 0, xnum = 0;
static unsigned machine = 62, etype = 4, eversion = 1, eflags = 0;
static uint64_t phoff_opt = 0;
static int have_phoff = 0;
static long long truncate_to = -1;
static struct seg segs[MAXSEG];
static size_t nseg;
static char *note_name[MAXNOTE], *note_text[MAXNOTE];
static size_t nnote;

static void die(const char *m, const char *a)
{
	fprintf(stderr, "mkelf: %s%s%s\n", m, a ? ": " : "", a ? a : "");
	exit(2);
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		die("bad number", s);
	return v;
}

static void parse_load(char *args, uint32_t type)
{
	if (nseg == MAXSEG)
		die("too many segments", NULL);
	struct seg *s = &segs[nseg];
	memset(s, 0, sizeof *s);
	s->type = type;
	s->paddr = nseg ? segs[nseg - 1].paddr + segs[nseg - 1].memsz : 0;
	int have_filesz = 0, have_memsz = 0;
	for (char *tok = strtok(args, " \t"); tok; tok = strtok(NULL, " \t")) {
		char *eq = strchr(tok, '=');
		if (!eq)
			die("expected KEY=VALUE", tok);
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		if (!strcmp(k, "paddr"))
			s->paddr = num(v);
		else if (!strcmp(k, "filesz")) {
			s->filesz = num(v);
			have_filesz = 1;
		} else if (!strcmp(k, "memsz")) {
			s->memsz = num(v);
			have_memsz = 1;
		} else if (!strcmp(k, "offset")) {
			if (!strcmp(v, "ones"))
				s->offset_mode = 3;
			else if (!strncmp(v, "same:", 5)) {
				s->offset_mode = 2;
				s->same = (int)num(v + 5);
			} else {
				s->offset_mode = 1;
				s->offset = num(v);
			}
		} else if (!strcmp(k, "data")) {
			char *save = NULL, *dup = strdup(v);
			for (char *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
				char *star = strchr(p, '*');
				uint64_t times = 1;
				if (star) {
					*star = 0;
					times = num(star + 1);
				}
				uint32_t content = (uint32_t)num(p);
				s->pages = realloc(s->pages, (s->npages + times) * sizeof *s->pages);
				while (times--)
					s->pages[s->npages++] = content;
			}
			free(dup);
		} else
			die("unknown load key", k);
	}
	if (!have_filesz)
		s->filesz = (uint64_t)s->npages * PAGE;
	if (!have_memsz)
		s->memsz = s->filesz;
	nseg++;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkelf SPEC OUT\n");
		return 2;
	}
	FILE *in = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
	if (!in)
		die("cannot open spec", argv[1]);
	char line[4096];
	while (fgets(line, sizeof line, in)) {
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = 0;
		if (!*p || *p == '#')
			continue;
		char *rest = p + strcspn(p, " \t");
		if (*rest)
			*rest++ = 0;
		rest += strspn(rest, " \t");
		if (!strcmp(p, "class"))
			is64 = num(rest) == 64;
		else if (!strcmp(p, "endian"))
			be = !strcmp(rest, "be");
		else if (!strcmp(p, "machine"))
			machine = (unsigned)num(rest);
		else if (!strcmp(p, "type"))
			etype = (unsigned)num(rest);
		else if (!strcmp(p, "version"))
			eversion = (unsigned)num(rest);
		else if (!strcmp(p, "flags"))
			eflags = (unsigned)num(rest);
		else if (!strcmp(p, "phoff")) {
			phoff_opt = num(rest);
			have_phoff = 1;
		} else if (!strcmp(p, "xnum"))
			xnum = 1;
		else if (!strcmp(p, "truncate"))
			truncate_to = (long long)num(rest);
		else if (!strcmp(p, "note")) {
			if (nnote == MAXNOTE)
				die("too many notes", NULL);
			char *sp = rest + strcspn(rest, " \t");
			if (*sp)
				*sp++ = 0;
			note_name[nnote] = strdup(rest);
			/* unescape \n */
			char *t = strdup(sp), *w = t;
			for (char *r = sp; *r; r++) {
				if (r[0] == '\\' && r[1] == 'n') {
					*w++ = '\n';
					r++;
				} else
					*w++ = *r;
			}
			*w = 0;
			note_text[nnote++] = t;
		} else if (!strcmp(p, "load"))
			parse_load(rest, 1);
		else if (!strcmp(p, "phdr")) {
			char empty[1] = "";
			parse_load(empty, (uint32_t)num(rest));
		} else
			die("unknown spec line", p);
	}
	if (in != stdin)
		fclose(in);

	size_t ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32, shent = is64 ? 64 : 40;
	size_t nph = nseg + (nnote ? 1 : 0);
	uint64_t phoff = have_phoff ? phoff_opt : ehsize;
	uint64_t shoff = xnum ? phoff + nph * phent : 0;
	uint64_t pos = (xnum ? shoff + shent : phoff + nph * phent);

	/* notes */
	size_t notesz = 0;
	for (size_t i = 0; i < nnote; i++)
		notesz += 12 + ((strlen(note_name[i]) + 1 + 3) & ~3u) + ((strlen(note_text[i]) + 3) & ~3u);
	uint64_t noteoff = pos;
	pos += notesz;

	/* data offsets */
	for (size_t i = 0; i < nseg; i++) {
		struct seg *s = &segs[i];
		if (s->type != 1)
			continue;
		if (s->offset_mode == 0) {
			s->offset = pos;
			pos += s->filesz;
		} else if (s->offset_mode == 2) {
			if (s->same < 0 || (size_t)s->same >= i)
				die("offset=same: refers to a later segment", NULL);
			s->offset = segs[s->same].offset;
		} else if (s->offset_mode == 3)
			s->offset = is64 ? UINT64_MAX : UINT32_MAX;
	}
	uint64_t total = pos;
	for (size_t i = 0; i < nseg; i++)
		if (segs[i].offset_mode == 1 && segs[i].offset + segs[i].filesz > total)
			total = segs[i].offset + segs[i].filesz;

	uint8_t *f = calloc(1, total ? total : 1);
	if (!f)
		die("out of memory", NULL);
	/* ELF header */
	memcpy(f, "\177ELF", 4);
	f[4] = is64 ? 2 : 1;
	f[5] = be ? 2 : 1;
	f[6] = (uint8_t)eversion;
	put(f + 16, etype, 2);
	put(f + 18, machine, 2);
	put(f + 20, 1, 4);
	uint16_t phnum_field = xnum ? 0xffff : (uint16_t)nph;
	if (is64) {
		put(f + 0x20, phoff, 8);
		put(f + 0x28, shoff, 8);
		put(f + 0x30, eflags, 4);
		put(f + 0x34, ehsize, 2);
		put(f + 0x36, phent, 2);
		put(f + 0x38, phnum_field, 2);
		put(f + 0x3a, xnum ? shent : 0, 2);
		put(f + 0x3c, xnum ? 1 : 0, 2);
	} else {
		put(f + 0x1c, phoff, 4);
		put(f + 0x20, shoff, 4);
		put(f + 0x24, eflags, 4);
		put(f + 0x28, ehsize, 2);
		put(f + 0x2a, phent, 2);
		put(f + 0x2c, phnum_field, 2);
		put(f + 0x2e, xnum ? shent : 0, 2);
		put(f + 0x30, xnum ? 1 : 0, 2);
	}
	if (xnum)
		put(f + shoff + (is64 ? 44 : 28), nph, 4);

	size_t k = 0;
	if (nnote) {
		uint8_t *ph = f + phoff;
		put(ph, 4, 4);
		if (is64) {
			put(ph + 8, noteoff, 8);
			put(ph + 32, notesz, 8);
		} else {
			put(ph + 4, noteoff, 4);
			put(ph + 16, notesz, 4);
		}
		uint8_t *n = f + noteoff;
		for (size_t i = 0; i < nnote; i++) {
			size_t nl = strlen(note_name[i]) + 1, dl = strlen(note_text[i]);
			put(n, nl, 4);
			put(n + 4, dl, 4);
			put(n + 8, 0, 4);
			memcpy(n + 12, note_name[i], nl);
			n += 12 + ((nl + 3) & ~3u);
			memcpy(n, note_text[i], dl);
			n += (dl + 3) & ~3u;
		}
		k = 1;
	}
	uint8_t page[PAGE];
	for (size_t i = 0; i < nseg; i++, k++) {
		struct seg *s = &segs[i];
		uint8_t *ph = f + phoff + k * phent;
		put(ph, s->type, 4);
		if (is64) {
			put(ph + 8, s->offset, 8);
			put(ph + 16, s->paddr, 8);
			put(ph + 24, s->paddr, 8);
			put(ph + 32, s->filesz, 8);
			put(ph + 40, s->memsz, 8);
		} else {
			put(ph + 4, s->offset, 4);
			put(ph + 8, s->paddr, 4);
			put(ph + 12, s->paddr, 4);
			put(ph + 16, s->filesz, 4);
			put(ph + 20, s->memsz, 4);
		}
		if (s->type != 1 || s->offset_mode >= 2)
			continue;
		for (uint64_t b = 0; b < s->filesz; b += PAGE) {
			size_t pi = (size_t)(b / PAGE);
			fx_fill(pi < s->npages ? s->pages[pi] : 0, page, PAGE);
			uint64_t len = s->filesz - b < PAGE ? s->filesz - b : PAGE;
			memcpy(f + s->offset + b, page, (size_t)len);
		}
	}
	if (truncate_to >= 0 && (uint64_t)truncate_to < total)
		total = (uint64_t)truncate_to;
	FILE *out = fopen(argv[2], "wb");
	if (!out || fwrite(f, 1, (size_t)total, out) != total || fclose(out))
		die("cannot write", argv[2]);
	free(f);
	return 0;
}
