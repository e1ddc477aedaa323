/*
 * mkxen SPEC OUT [--expect FILE] [--map FILE]: a Xen dump-core (xl/xm
 * dump-core: ELF64, no program headers, sections .note.Xen, .xen_prstatus,
 * .xen_pfn or .xen_p2m, .xen_pages, .shstrtab).  Options:
 *   table pfn|p2m       .xen_pfn (HVM) or .xen_p2m (PV; gmfn = pfn + 0x80000)
 *   endian le|be
 *   pagesize N          xch_page_size (default 4096)
 *   order sorted|reverse|shuffle   order of the table entries
 *   padding N           N more entries with the invalid-frame marker
 *   format 0xMMMMmmmm   FORMAT_VERSION note value (default 1, i.e. 0.1);
 *                       "none" leaves the note out
 * "ram PFN N" lines give frames in units of pagesize (PFN * pagesize).
 */
#include "fixture.h"

static bool be;

static size_t put(struct fx_buf *b, uint64_t v, unsigned n)
{
	uint8_t t[8];
	if (be)
		fx_set_be(t, v, n);
	else
		fx_set_le(t, v, n);
	return fx_put(b, t, n);
}

static void setv(struct fx_buf *b, size_t at, uint64_t v, unsigned n)
{
	if (be)
		fx_set_be(b->p + at, v, n);
	else
		fx_set_le(b->p + at, v, n);
}

static size_t note(struct fx_buf *b, uint32_t type, const void *desc, size_t len, const char *mapname)
{
	size_t at = b->len;
	put(b, 4, 4);
	put(b, len, 4);
	put(b, type, 4);
	fx_put(b, "Xen", 4);
	size_t d = fx_put(b, desc, len);
	fx_align(b, 4);
	if (mapname) {
		char n[64];
		snprintf(n, sizeof n, "note.%s", mapname);
		fx_field(b, n, at, 12);
		snprintf(n, sizeof n, "note.%s.descsz", mapname);
		fx_field(b, n, at + 4, 4);
	}
	return d;
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	be = strcmp(fx_opt(&m, "endian", "le"), "be") == 0;
	bool p2m = strcmp(fx_opt(&m, "table", "pfn"), "p2m") == 0;
	uint64_t ps = fx_optn(&m, "pagesize", 4096);
	const char *order = fx_opt(&m, "order", "sorted");
	uint64_t padding = fx_optn(&m, "padding", 0);
	const char *fmt = fx_opt(&m, "format", "1");
	if (ps % FX_PS)
		fx_die("page size must be a multiple of 4096");

	/* frames in units of ps; the model is in 4 KiB frames */
	uint64_t n = 0;
	for (size_t i = 0; i < m.nseg; i++) {
		if (m.seg[i].kind != FX_DATA)
			fx_die("Xen dumps only have ram lines");
		m.seg[i].addr = m.seg[i].addr / FX_PS * ps;
		m.seg[i].len = m.seg[i].len / FX_PS * ps;
		n += m.seg[i].len / ps;
	}
	uint64_t *pfn = fx_alloc((n + padding) * sizeof *pfn);
	size_t *seg = fx_alloc((n + padding) * sizeof *seg);
	uint64_t k = 0;
	for (size_t i = 0; i < m.nseg; i++)
		for (uint64_t p = 0; p < m.seg[i].len / ps; p++) {
			pfn[k] = m.seg[i].addr / ps + p;
			seg[k++] = i;
		}
	for (uint64_t i = 0; i < padding; i++) {
		pfn[k] = UINT64_MAX;
		seg[k++] = SIZE_MAX;
	}
	uint64_t total = k;
	if (strcmp(order, "reverse") == 0) {
		for (uint64_t i = 0; i < total / 2; i++) {
			uint64_t t = pfn[i];
			pfn[i] = pfn[total - 1 - i];
			pfn[total - 1 - i] = t;
			size_t s = seg[i];
			seg[i] = seg[total - 1 - i];
			seg[total - 1 - i] = s;
		}
	} else if (strcmp(order, "shuffle") == 0) {
		uint64_t x = 12345;
		for (uint64_t i = total; i > 1; i--) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t j = (x >> 33) % i;
			uint64_t t = pfn[i - 1];
			pfn[i - 1] = pfn[j];
			pfn[j] = t;
			size_t s = seg[i - 1];
			seg[i - 1] = seg[j];
			seg[j] = s;
		}
	}

	struct fx_buf b = { .map = fx_open_map(&a) };
	fx_put(&b, NULL, 64);
	memcpy(b.p, "\177ELF", 4);
	b.p[4] = 2;
	b.p[5] = be ? 2 : 1;
	b.p[6] = 1;
	setv(&b, 16, 4, 2);   /* ET_CORE */
	setv(&b, 18, 62, 2);  /* EM_X86_64 */
	setv(&b, 20, 1, 4);
	setv(&b, 0x34, 64, 2);
	setv(&b, 0x36, 56, 2);
	setv(&b, 0x3a, 64, 2);
	fx_field(&b, "ehdr.phnum", 0x38, 2);
	fx_field(&b, "ehdr.shoff", 0x28, 8);
	fx_field(&b, "ehdr.shentsize", 0x3a, 2);
	fx_field(&b, "ehdr.shnum", 0x3c, 2);
	fx_field(&b, "ehdr.shstrndx", 0x3e, 2);

	/* sections: 0 null, 1 .note.Xen, 2 .xen_prstatus, 3 table, 4 .xen_pages, 5 .shstrtab */
	uint64_t off[6] = { 0 }, size[6] = { 0 };
	off[1] = b.len;
	note(&b, 0x2000000, NULL, 0, NULL);
	uint8_t hdr[32];
	uint64_t magic = p2m ? 0xF00FEBEDu : 0xF00FEBEEu;
	uint64_t hv[4] = { magic, 1, total, ps };
	for (int i = 0; i < 4; i++) {
		if (be)
			fx_set_be(hdr + 8 * i, hv[i], 8);
		else
			fx_set_le(hdr + 8 * i, hv[i], 8);
	}
	size_t hd = note(&b, 0x2000001, hdr, 32, "hdr");
	fx_field(&b, "note.hdr.magic", hd, 8);
	fx_field(&b, "note.hdr.nrpages", hd + 16, 8);
	fx_field(&b, "note.hdr.pagesize", hd + 24, 8);
	uint8_t ver[1280] = { 0 };
	if (be) {
		fx_set_be(ver, 4, 8);
		fx_set_be(ver + 8, 17, 8);
		fx_set_be(ver + 1272, 4096, 8);
	} else {
		fx_set_le(ver, 4, 8);
		fx_set_le(ver + 8, 17, 8);
		fx_set_le(ver + 1272, 4096, 8);
	}
	note(&b, 0x2000002, ver, sizeof ver, NULL);
	if (strcmp(fmt, "none") != 0) {
		uint8_t f[8];
		if (be)
			fx_set_be(f, fx_num(fmt), 8);
		else
			fx_set_le(f, fx_num(fmt), 8);
		fx_field(&b, "note.fmt.version", note(&b, 0x2000003, f, 8, "fmt"), 8);
	}
	size[1] = b.len - off[1];
	fx_align(&b, 8);
	off[2] = b.len;
	size[2] = 5168; /* one x86-64 vcpu_guest_context */
	fx_put(&b, NULL, size[2]);
	fx_align(&b, 8);
	off[3] = b.len;
	for (uint64_t i = 0; i < total; i++) {
		size_t at = put(&b, pfn[i], 8);
		if (p2m)
			put(&b, pfn[i] == UINT64_MAX ? UINT64_MAX : pfn[i] + 0x80000, 8);
		if (i < 8) {
			char nm[32];
			snprintf(nm, sizeof nm, "entry%llu", (unsigned long long)i);
			fx_field(&b, nm, at, 8);
		}
	}
	size[3] = b.len - off[3];
	fx_align(&b, ps);
	off[4] = b.len;
	for (uint64_t i = 0; i < total; i++) {
		size_t at = fx_put(&b, NULL, ps);
		if (seg[i] == SIZE_MAX)
			continue; /* padding page: zero */
		const struct fx_seg *s = &m.seg[seg[i]];
		fx_seg_bytes(s, pfn[i] * ps - s->addr, b.p + at, ps);
	}
	size[4] = b.len - off[4];
	fx_field(&b, "pages", off[4], size[4]);
	static const char strtab[] = "\0.note.Xen\0.xen_prstatus\0.xen_pfn\0.xen_p2m\0.xen_pages\0.shstrtab";
	static const uint32_t nameoff[6] = { 0, 1, 11, 0, 43, 54 };
	off[5] = fx_put(&b, strtab, sizeof strtab);
	size[5] = sizeof strtab;
	fx_field(&b, "strtab", off[5], size[5]);
	fx_align(&b, 8);
	size_t shoff = b.len;
	setv(&b, 0x28, shoff, 8);
	setv(&b, 0x3c, 6, 2);
	setv(&b, 0x3e, 5, 2);
	static const char *const sname[6] = { "null", "note", "prstatus", "table", "pages", "strtab" };
	for (int i = 0; i < 6; i++) {
		size_t at = fx_put(&b, NULL, 64);
		uint32_t nm = nameoff[i];
		if (i == 3)
			nm = p2m ? 34 : 25;
		uint32_t type = i == 0 ? 0 : i == 1 ? 7 : i == 5 ? 3 : 1;
		setv(&b, at, nm, 4);
		setv(&b, at + 4, type, 4);
		setv(&b, at + 24, off[i], 8);
		setv(&b, at + 32, size[i], 8);
		setv(&b, at + 48, i == 4 ? ps : i ? 8 : 0, 8);
		char f[64];
		snprintf(f, sizeof f, "sh.%s", sname[i]);
		fx_field(&b, f, at, 64);
		snprintf(f, sizeof f, "sh.%s.name", sname[i]);
		fx_field(&b, f, at, 4);
		snprintf(f, sizeof f, "sh.%s.type", sname[i]);
		fx_field(&b, f, at + 4, 4);
		snprintf(f, sizeof f, "sh.%s.offset", sname[i]);
		fx_field(&b, f, at + 24, 8);
		snprintf(f, sizeof f, "sh.%s.size", sname[i]);
		fx_field(&b, f, at + 32, 8);
	}
	fx_field(&b, "file.end", b.len, 0);
	fx_write_file(a.out, b.p, b.len);
	if (b.map)
		fclose(b.map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_buf_free(&b);
	free(pfn);
	free(seg);
	fx_free_model(&m);
	return 0;
}
