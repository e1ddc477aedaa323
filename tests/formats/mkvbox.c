/*
 * mkvbox SPEC OUT [--expect FILE] [--map FILE]: ELF cores shaped like the
 * ones VirtualBox (`VBoxManage debugvm VM dumpvmcore`) and vmss2core write.
 * "ram PFN N CONTENT" and "mmio PFN N" lines become PT_LOADs in spec order.
 * Options:
 *   producer vbox        VirtualBox: e_ident[EI_VERSION] 0, one PT_NOTE then a
 *                        PT_LOAD per range (MMIO ranges with p_filesz 0),
 *                        VBCORE + VBCPU notes with 8-byte alignment
 *   producer vmss2core-n vmss2core -N: a physical core for crash (CORE notes,
 *                        p_vaddr in the kernel direct map)
 *   producer linear      vmss2core without options: one vCPU's virtual view,
 *                        every p_paddr 0
 *   producer linear-high the same with p_paddr = p_vaddr (kernel addresses)
 *   producer process     a process core (NT_AUXV note)
 *   ncpu N               vCPU notes (default 2)
 *   eversion N           e_version (default 1)
 */
#include "fixture.h"

static size_t note(struct fx_buf *b, const char *name, uint32_t type, size_t desclen, unsigned align)
{
	size_t at = b->len, nl = strlen(name);
	bool vbox = align == 8;
	fx_le(b, vbox ? nl : nl + 1, 4); /* VirtualBox leaves the NUL out of namesz */
	fx_le(b, (desclen + align - 1) / align * align, 4);
	fx_le(b, type, 4);
	fx_put(b, name, nl + 1);
	fx_align(b, vbox ? 8 : 4);
	size_t d = fx_put(b, NULL, desclen);
	fx_align(b, vbox ? 8 : 4);
	(void)at;
	return d;
}

int main(int argc, char **argv)
{
	struct fx_args a;
	fx_args(argc, argv, &a);
	struct fx_model m;
	fx_read_spec(a.spec, &m);
	const char *prod = fx_opt(&m, "producer", "vbox");
	bool vbox = strcmp(prod, "vbox") == 0;
	unsigned ncpu = (unsigned)fx_optn(&m, "ncpu", 2);
	uint32_t eversion = (uint32_t)fx_optn(&m, "eversion", 1);
	size_t nph = 1 + m.nseg;

	struct fx_buf b = { .map = fx_open_map(&a) };
	fx_put(&b, NULL, 64);
	memcpy(b.p, "\177ELF", 4);
	b.p[4] = 2;
	b.p[5] = 1;
	b.p[6] = vbox ? 0 : 1; /* VirtualBox leaves EI_VERSION 0 */
	fx_set_le(b.p + 16, 4, 2);
	fx_set_le(b.p + 18, 62, 2);
	fx_set_le(b.p + 20, eversion, 4);
	fx_set_le(b.p + 0x20, 64, 8);
	fx_set_le(b.p + 0x34, 64, 2);
	fx_set_le(b.p + 0x36, 56, 2);
	fx_set_le(b.p + 0x38, nph, 2);
	fx_set_le(b.p + 0x3a, 64, 2); /* VirtualBox fills e_shentsize without sections */
	fx_field(&b, "ehdr.ident", 0, 16);
	fx_field(&b, "ehdr.phoff", 0x20, 8);
	fx_field(&b, "ehdr.phentsize", 0x36, 2);
	fx_field(&b, "ehdr.phnum", 0x38, 2);
	size_t ph = fx_put(&b, NULL, nph * 56);

	/* notes */
	size_t notes = b.len;
	if (vbox) {
		size_t d = note(&b, "VBCORE", 0xb00, 24, 8);
		fx_set_le(b.p + d, 0xc01ac0de, 4);
		fx_set_le(b.p + d + 4, 1, 4);
		fx_set_le(b.p + d + 8, 24, 4);
		fx_set_le(b.p + d + 20, ncpu, 4);
		for (unsigned c = 0; c < ncpu; c++)
			note(&b, "VBCPU", 0xb01, 0x3a0, 8);
	} else {
		for (unsigned c = 0; c < ncpu; c++)
			note(&b, "CORE", 1, 336, 4);
		if (strcmp(prod, "process") == 0)
			note(&b, "CORE", 6, 64, 4);
	}
	size_t nlen = b.len - notes;
	fx_set_le(b.p + ph, 4, 4);
	fx_set_le(b.p + ph + 8, notes, 8);
	fx_set_le(b.p + ph + 32, nlen, 8);
	fx_set_le(b.p + ph + 40, nlen, 8);
	fx_field(&b, "ph0.offset", ph + 8, 8);
	fx_field(&b, "ph0.filesz", ph + 32, 8);
	fx_field(&b, "notes", notes, nlen);

	/* ranges */
	for (size_t i = 0; i < m.nseg; i++) {
		const struct fx_seg *s = &m.seg[i];
		size_t p = ph + 56 * (i + 1);
		bool mmio = s->kind == FX_MMIO;
		if (s->kind == FX_ABSENT)
			fx_die("no absent lines here");
		uint64_t paddr = s->addr, vaddr = 0;
		if (strcmp(prod, "vmss2core-n") == 0)
			vaddr = 0xffff888000000000ull + s->addr;
		else if (strcmp(prod, "linear") == 0) {
			vaddr = 0xffffffff81000000ull + i * 0x1000000;
			paddr = 0;
		} else if (strcmp(prod, "linear-high") == 0)
			vaddr = paddr = 0xffffffff81000000ull + i * 0x1000000;
		size_t off = b.len;
		if (!mmio) {
			size_t at = fx_put(&b, NULL, s->len);
			fx_seg_bytes(s, 0, b.p + at, s->len);
		}
		fx_set_le(b.p + p, 1, 4);
		fx_set_le(b.p + p + 4, 4, 4); /* PF_R */
		fx_set_le(b.p + p + 8, off, 8);
		fx_set_le(b.p + p + 16, vaddr, 8);
		fx_set_le(b.p + p + 24, paddr, 8);
		fx_set_le(b.p + p + 32, mmio ? 0 : s->len, 8);
		fx_set_le(b.p + p + 40, s->len, 8);
		char n[64];
		snprintf(n, sizeof n, "ph%zu.offset", i + 1);
		fx_field(&b, n, p + 8, 8);
		snprintf(n, sizeof n, "ph%zu.paddr", i + 1);
		fx_field(&b, n, p + 24, 8);
		snprintf(n, sizeof n, "ph%zu.filesz", i + 1);
		fx_field(&b, n, p + 32, 8);
		snprintf(n, sizeof n, "ph%zu.memsz", i + 1);
		fx_field(&b, n, p + 40, 8);
		snprintf(n, sizeof n, "data%zu", i + 1);
		fx_field(&b, n, off, mmio ? 0 : s->len);
	}
	fx_field(&b, "file.end", b.len, 0);
	fx_write_file(a.out, b.p, b.len);
	if (b.map)
		fclose(b.map);
	if (a.expect)
		fx_write_expect(&m, a.expect);
	fx_buf_free(&b);
	fx_free_model(&m);
	return 0;
}
