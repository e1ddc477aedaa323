/*
 * ELF cores: QEMU dump-guest-memory / virsh dump --memory-only, Linux
 * /proc/vmcore and makedumpfile -E, VirtualBox dumpvmcore, vmss2core -N/-M.
 *
 * Guest frames come from PT_LOAD p_paddr.  [p_offset, +p_filesz) holds the
 * data; the tail up to p_memsz belongs to guest RAM but is not stored
 * (absent, never zero).  Headers whose p_offset is all ones (QEMU paging
 * mode, physical address outside RAM) describe nothing stored and are
 * skipped.  Data wins over absent tails, and earlier headers over later
 * ones, where physical ranges repeat.
 *
 * VirtualBox (notes "VBCORE"/"VBCPU") writes one PT_LOAD per guest range,
 * MMIO ranges included with p_filesz 0: those are not RAM, so they are
 * skipped rather than counted absent; its e_ident[EI_VERSION] is 0.
 * Cores of virtual address spaces (process cores, vmss2core's per-vCPU
 * "linear" cores) are refused: their p_paddr is not a guest frame.
 */
#include "dp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ET_CORE 4
#define PT_LOAD 1
#define PT_NOTE 4
#define PN_XNUM 0xffffu
#define MAX_STREAM_PHDRS_BYTES (256u << 20)

static enum dp_probe elf_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	/* ELF magic; the e_type and the rest are checked by open, so that a
	 * non-core ELF gets a precise message instead of "unknown format". */
	return n >= 4 && memcmp(h, "\177ELF", 4) == 0 ? DP_PROBE_YES : DP_PROBE_NO;
}

static const char *machine_name(uint16_t m)
{
	switch (m) {
	case 3: return "i386";
	case 62: return "x86-64";
	case 183: return "AArch64";
	case 40: return "ARM";
	case 22: return "s390";
	case 21: return "PowerPC64";
	case 20: return "PowerPC";
	case 243: return "RISC-V";
	case 258: return "LoongArch";
	case 8: return "MIPS";
	}
	return "unknown machine";
}

struct notes_seen {
	bool qemu, core, vmcoreinfo, vbox, xen, process;
	uint32_t pagesize;
	unsigned ncpu;
};

static void scan_vmcoreinfo(const uint8_t *p, size_t n, struct notes_seen *ns)
{
	/* KEY=VALUE lines; only PAGESIZE matters for page enumeration */
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '\n')
			j++;
		if (j - i > 9 && memcmp(p + i, "PAGESIZE=", 9) == 0) {
			uint64_t v = 0;
			for (size_t k = i + 9; k < j && p[k] >= '0' && p[k] <= '9' && v < (1u << 30); k++)
				v = v * 10 + (uint64_t)(p[k] - '0');
			ns->pagesize = (uint32_t)v;
		}
		i = j + 1;
	}
}

static int parse_notes(struct dp_dump *d, const struct dp_ehdr *e, uint64_t off, uint64_t size,
		       struct notes_seen *ns, struct dp_error *err)
{
	if (size == 0)
		return DP_OK;
	if (size > (64u << 20))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)off, "PT_NOTE segment of %llu bytes is implausibly large",
			       (unsigned long long)size);
	uint8_t *buf = malloc((size_t)size);
	if (!buf)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	int rc = dp_src_read(d, off, buf, (size_t)size, "ELF note segment", err);
	if (rc) {
		free(buf);
		return rc;
	}
	uint64_t pos = 0;
	while (pos + 12 <= size) {
		uint32_t namesz = dp_get32(e->be, buf + pos), descsz = dp_get32(e->be, buf + pos + 4);
		uint64_t name_at = pos + 12;
		uint64_t desc_at = name_at + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~3ull);
		if (namesz == 0 && descsz == 0 && dp_get32(e->be, buf + pos + 8) == 0)
			break; /* padding at the end of the segment */
		if (desc_at > size || next > size + 3) {
			rc = dp_fail(err, DP_E_CORRUPT, (int64_t)(off + pos),
				     "ELF note (name %u bytes, data %u bytes) runs past its PT_NOTE segment",
				     namesz, descsz);
			break;
		}
		if (desc_at + descsz > size) {
			rc = dp_fail(err, DP_E_CORRUPT, (int64_t)(off + pos),
				     "ELF note data runs past its PT_NOTE segment");
			break;
		}
		const char *name = (const char *)buf + name_at;
		size_t nl = namesz ? namesz - 1 : 0;
		if (namesz && buf[name_at + namesz - 1] != 0)
			nl = namesz;
#define IS(s) (nl == sizeof(s) - 1 && memcmp(name, s, nl) == 0)
		if (IS("QEMU"))
			ns->qemu = true;
		else if (IS("CORE")) {
			ns->core = true;
			uint32_t t = dp_get32(e->be, buf + pos + 8);
			if (t == 1)
				ns->ncpu++;
			else if (t == 6 || t == 0x46494c45u) /* NT_AUXV, NT_FILE: a process core */
				ns->process = true;
		} else if (IS("VMCOREINFO")) {
			ns->vmcoreinfo = true;
			scan_vmcoreinfo(buf + desc_at, descsz, ns);
		} else if (IS("VBCORE") || IS("VBCPU"))
			ns->vbox = true;
		else if (IS("Xen"))
			ns->xen = true;
#undef IS
		pos = next;
	}
	free(buf);
	return rc;
}

static int read_ehdr(struct dp_dump *d, struct dp_ehdr *e, struct dp_error *err)
{
	uint64_t size = d->src.size;
	if (size != UINT64_MAX && size < 52)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)size,
			       "ELF header: file is %llu bytes, shorter than an ELF header",
			       (unsigned long long)size);
	int rc = dp_ehdr_read(d, e, err);
	if (rc)
		return rc;
	size_t ehsize = e->is64 ? 64 : 52;
	if (e->version != 1) {
		if (e->version != 0)
			return dp_fail(err, DP_E_CORRUPT, 6, "ELF version %u is not 1", e->version);
		dp_add_warning(d, "ELF header version is 0 (VirtualBox writes this); read as version 1");
	}
	if (e->type != ET_CORE)
		return dp_fail(err, DP_E_UNSUPPORTED, 16,
			       "ELF file is not a core dump (e_type %u, a core is 4): not a memory dump", e->type);
	if (e->phnum == PN_XNUM) {
		/* extended numbering: the count is sh_info of section header 0 */
		uint8_t sh[64];
		size_t shsz = e->is64 ? 64 : 40;
		if (e->shoff == 0)
			return dp_fail(err, DP_E_CORRUPT, e->is64 ? 0x28 : 0x20,
				       "e_phnum is PN_XNUM but there is no section header 0 to hold the count");
		if (e->shentsize != shsz)
			return dp_fail(err, DP_E_CORRUPT, e->is64 ? 0x3a : 0x2e,
				       "section header size %u, expected %zu", e->shentsize, shsz);
		if ((rc = dp_src_read(d, e->shoff, sh, shsz, "section header 0 (program header count)", err)))
			return rc;
		e->phnum = dp_get32(e->be, sh + (e->is64 ? 44 : 28));
	}
	if (e->phnum == 0)
		return dp_fail(err, DP_E_UNSUPPORTED, e->is64 ? 0x38 : 0x2c,
			       "ELF core has no program headers, so no memory segments%s",
			       e->shnum ? " (a Xen xl/xm dump-core keeps memory in sections: "
					  "read it with --format=xen-xc-core)"
					: "");
	size_t want = e->is64 ? 56 : 32;
	if (e->phentsize != want)
		return dp_fail(err, DP_E_CORRUPT, e->is64 ? 0x36 : 0x2a,
			       "program header size %u, expected %zu for ELF%d", e->phentsize, want,
			       e->is64 ? 64 : 32);
	if (e->phoff < ehsize)
		return dp_fail(err, DP_E_CORRUPT, e->is64 ? 0x20 : 0x1c,
			       "program headers at offset %llu overlap the ELF header",
			       (unsigned long long)e->phoff);
	return DP_OK;
}

struct elf_counts {
	unsigned nload, nnote, nskipped, nmmio;
};

/* the program header table: in the mapping, or read into *own */
static int read_phdrs(struct dp_dump *d, const struct dp_ehdr *ep, const uint8_t **php, uint8_t **own,
		      struct dp_error *err)
{
	const struct dp_ehdr e = *ep;
	int rc;
	uint64_t tbl = (uint64_t)e.phnum * e.phentsize, tend;
	const uint64_t fsize = d->src.size;
	if (dp_add_overflows(e.phoff, tbl, &tend) || (fsize != UINT64_MAX && tend > fsize))
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)(e.phoff > fsize ? fsize : e.phoff),
			       "program header table (%u entries at offset %llu) runs past the end of "
			       "the file (%llu bytes)",
			       e.phnum, (unsigned long long)e.phoff, (unsigned long long)fsize);
	if (dp_src_random(d)) {
		*php = dp_src_ptr(d, e.phoff, tbl, "program headers", err);
		if (!*php)
			return err->status;
	} else {
		if (tbl > MAX_STREAM_PHDRS_BYTES)
			return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)e.phoff,
				       "%u program headers: too many to read from a stream", e.phnum);
		*own = malloc((size_t)tbl);
		if (!*own)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		if ((rc = dp_src_read(d, e.phoff, *own, (size_t)tbl, "program headers", err)))
			return rc;
		*php = *own;
	}
	return DP_OK;
}

/* notes first: they may set the page size */
static int read_notes(struct dp_dump *d, const struct dp_ehdr *ep, const uint8_t *ph, struct notes_seen *ns,
		      struct elf_counts *n, struct dp_error *err)
{
	const struct dp_ehdr e = *ep;
	const uint64_t fsize = d->src.size;
	int rc = DP_OK;
	for (uint32_t i = 0; i < e.phnum && !rc; i++) {
		const uint8_t *p = ph + (size_t)i * e.phentsize;
		uint64_t at = e.phoff + (uint64_t)i * e.phentsize;
		uint32_t type = dp_get32(e.be, p);
		if (type != PT_NOTE)
			continue;
		uint64_t off = e.is64 ? dp_get64(e.be, p + 8) : dp_get32(e.be, p + 4);
		uint64_t fsz = e.is64 ? dp_get64(e.be, p + 32) : dp_get32(e.be, p + 16);
		uint64_t end;
		n->nnote++;
		if (dp_add_overflows(off, fsz, &end) || (fsize != UINT64_MAX && end > fsize))
			rc = dp_fail(err, DP_E_TRUNCATED, (int64_t)at,
				     "PT_NOTE %u: notes at offset %llu..%llu lie past the end of the file "
				     "(%llu bytes)",
				     i, (unsigned long long)off, (unsigned long long)end, (unsigned long long)fsize);
		else
			rc = parse_notes(d, ep, off, fsz, ns, err);
	}
	return rc;
}

/* a process core, or a core of virtual addresses, is not guest memory */
static int check_physical(const struct dp_ehdr *ep, const uint8_t *ph, const struct notes_seen *nsp,
			  struct dp_error *err)
{
	const struct dp_ehdr e = *ep;
	const struct notes_seen ns = *nsp;
	const uint64_t all_ones = e.is64 ? UINT64_MAX : UINT32_MAX;
	int rc = DP_OK;
	if (ns.process)
		rc = dp_fail(err, DP_E_UNSUPPORTED, (int64_t)e.phoff,
			     "this is a process core (NT_AUXV/NT_FILE notes): a program's virtual memory, "
			     "not guest-physical memory");
	/* virtual-address cores: several segments at physical 0 with different
	 * virtual addresses, or p_paddr = p_vaddr beyond any physical address */
	unsigned at_zero = 0;
	uint64_t zero_va = 0, high_pa = 0;
	bool va_differs = false;
	for (uint32_t i = 0; i < e.phnum && !rc; i++) {
		const uint8_t *p = ph + (size_t)i * e.phentsize;
		if (dp_get32(e.be, p) != PT_LOAD)
			continue;
		uint64_t off = e.is64 ? dp_get64(e.be, p + 8) : dp_get32(e.be, p + 4);
		uint64_t va = e.is64 ? dp_get64(e.be, p + 16) : dp_get32(e.be, p + 8);
		uint64_t pa = e.is64 ? dp_get64(e.be, p + 24) : dp_get32(e.be, p + 12);
		uint64_t fsz = e.is64 ? dp_get64(e.be, p + 32) : dp_get32(e.be, p + 16);
		if (fsz == 0 || off == all_ones)
			continue;
		if (pa == 0) {
			if (at_zero++ == 0)
				zero_va = va;
			else if (va != zero_va)
				va_differs = true;
		}
		if (pa == va && pa >= (1ull << 52) && !high_pa)
			high_pa = pa;
	}
	/* QEMU paging-mode and kdump cores may map physical 0 at several virtual
	 * addresses: their notes vouch for p_paddr */
	bool physical_producer = ns.qemu || ns.vmcoreinfo || ns.vbox || ns.xen;
	if (!rc && ((at_zero >= 2 && va_differs && !physical_producer) || high_pa))
		rc = dp_fail(err, DP_E_UNSUPPORTED, (int64_t)e.phoff,
			     "this core describes virtual addresses, not guest-physical memory (%s): a "
			     "per-vCPU \"linear\" core as vmss2core writes without -M or -N, or a process core; "
			     "convert the checkpoint with vmss2core -M (physical memory) or -N instead",
			     high_pa ? "segments at p_paddr = p_vaddr beyond 2^52"
				     : "several segments at p_paddr 0 with different p_vaddr");
	return rc;
}

/* PT_LOADs: data pieces first (they win over absent tails), then absent tails */
static int add_loads(struct dp_dump *d, const struct dp_ehdr *ep, const uint8_t *ph, const struct notes_seen *nsp,
		     struct elf_counts *n, struct dp_error *err)
{
	const struct dp_ehdr e = *ep;
	const struct notes_seen ns = *nsp;
	const uint64_t fsize = d->src.size;
	const uint64_t all_ones = e.is64 ? UINT64_MAX : UINT32_MAX;
	int rc = DP_OK;
	for (int pass = 0; pass < 2 && !rc; pass++)
		for (uint32_t i = 0; i < e.phnum && !rc; i++) {
			const uint8_t *p = ph + (size_t)i * e.phentsize;
			uint64_t at = e.phoff + (uint64_t)i * e.phentsize;
			if (dp_get32(e.be, p) != PT_LOAD)
				continue;
			uint64_t off, paddr, fsz, msz;
			if (e.is64) {
				off = dp_get64(e.be, p + 8);
				paddr = dp_get64(e.be, p + 24);
				fsz = dp_get64(e.be, p + 32);
				msz = dp_get64(e.be, p + 40);
			} else {
				off = dp_get32(e.be, p + 4);
				paddr = dp_get32(e.be, p + 12);
				fsz = dp_get32(e.be, p + 16);
				msz = dp_get32(e.be, p + 20);
			}
			uint64_t end;
			if (pass == 0) {
				n->nload++;
				if (off == all_ones) {
					n->nskipped++;
					continue;
				}
				if (ns.vbox && fsz == 0) {
					n->nmmio++; /* VirtualBox MMIO range: not RAM */
					continue;
				}
				if (fsz > msz) {
					rc = dp_fail(err, DP_E_CORRUPT, (int64_t)at,
						     "PT_LOAD %u: p_filesz %llu exceeds p_memsz %llu", i,
						     (unsigned long long)fsz, (unsigned long long)msz);
					break;
				}
				if (dp_add_overflows(paddr, msz, &end)) {
					rc = dp_fail(err, DP_E_CORRUPT, (int64_t)at,
						     "PT_LOAD %u: physical range 0x%llx + %llu wraps the address space",
						     i, (unsigned long long)paddr, (unsigned long long)msz);
					break;
				}
				if (dp_add_overflows(off, fsz, &end)) {
					rc = dp_fail(err, DP_E_CORRUPT, (int64_t)at,
						     "PT_LOAD %u: p_offset %llu + p_filesz %llu overflows", i,
						     (unsigned long long)off, (unsigned long long)fsz);
					break;
				}
				if (fsz && fsize != UINT64_MAX && end > fsize) {
					rc = dp_fail(err, DP_E_TRUNCATED, (int64_t)at,
						     "PT_LOAD %u (physical 0x%llx): data at offset %llu..%llu lies "
						     "past the end of the file (%llu bytes; %llu missing)",
						     i, (unsigned long long)paddr, (unsigned long long)off,
						     (unsigned long long)end, (unsigned long long)fsize,
						     (unsigned long long)(end - (off > fsize ? off : fsize)));
					break;
				}
				if (fsz)
					rc = dp_map_add(d, paddr, fsz, off, err);
			} else if (off != all_ones && msz > fsz && !(ns.vbox && fsz == 0)) {
				rc = dp_map_add_absent(d, paddr + fsz, msz - fsz, err);
			}
		}
	return rc;
}

static void describe(struct dp_dump *d, const struct dp_ehdr *ep, const struct notes_seen *nsp,
		     const struct elf_counts *n)
{
	const struct dp_ehdr e = *ep;
	const struct notes_seen ns = *nsp;
	const char *producer = ns.vbox ? "VirtualBox dumpvmcore"
			     : ns.qemu ? "QEMU dump-guest-memory"
			     : ns.xen ? "Xen"
			     : ns.vmcoreinfo ? "Linux kdump (/proc/vmcore or makedumpfile -E)"
					     : "producer unknown";
	dp_set_variant(d, "ELF%d %s-endian %s core, %s", e.is64 ? 64 : 32, e.be ? "big" : "little",
		       machine_name(e.machine), producer);
	dp_add_detail(d, "elf", "ELF%d %s-endian, e_machine %u (%s)", e.is64 ? 64 : 32,
		      e.be ? "big" : "little", e.machine, machine_name(e.machine));
	dp_add_detail(d, "program headers", "%u at offset %llu: %u PT_LOAD, %u PT_NOTE", e.phnum,
		      (unsigned long long)e.phoff, n->nload, n->nnote);
	if (n->nskipped)
		dp_add_detail(d, "skipped", "%u PT_LOAD with p_offset all ones (nothing stored)", n->nskipped);
	if (n->nmmio)
		dp_add_detail(d, "mmio", "%u VirtualBox MMIO ranges (p_filesz 0): not guest RAM, not counted", n->nmmio);
	char names[64];
	snprintf(names, sizeof names, "%s%s%s%s", ns.core ? " CORE" : "", ns.qemu ? " QEMU" : "",
		 ns.vmcoreinfo ? " VMCOREINFO" : "", ns.vbox ? " VBCORE" : "");
	dp_add_detail(d, "notes", "%s", names[0] ? names + 1 : "none");
	if (ns.ncpu)
		dp_add_detail(d, "cpus", "%u (NT_PRSTATUS notes)", ns.ncpu);
	if (ns.pagesize)
		dp_add_detail(d, "vmcoreinfo page size", "%u", ns.pagesize);
	if ((e.flags & 1) && ns.vmcoreinfo && !ns.qemu)
		dp_add_warning(d, "ELF e_flags bit 0 is set: makedumpfile marks an incomplete dump this way; "
				  "memory after the failure point is missing");
}

static int elf_open(struct dp_dump *d, struct dp_error *err)
{
	struct dp_ehdr e = { 0 };
	int rc = read_ehdr(d, &e, err);
	if (rc)
		return rc;
	uint8_t *own = NULL;
	const uint8_t *ph = NULL;
	struct notes_seen ns = { 0 };
	struct elf_counts n = { 0 };
	if ((rc = read_phdrs(d, &e, &ph, &own, err)))
		goto out;
	if ((rc = read_notes(d, &e, ph, &ns, &n, err)) || (rc = check_physical(&e, ph, &ns, err)))
		goto out;
	uint32_t ps = d->opt.page_size;
	if (ns.pagesize && (ns.pagesize < 512 || (ns.pagesize & (ns.pagesize - 1))))
		ns.pagesize = 0;
	d->info.native_page_size = ns.pagesize;
	if (!ps)
		ps = ns.pagesize ? ns.pagesize : 4096;
	d->info.page_size = ps;

	rc = add_loads(d, &e, ph, &ns, &n, err);
out:
	free(own);
	if (rc)
		return rc;
	if (n.nload == 0)
		return dp_fail(err, DP_E_UNSUPPORTED, (int64_t)e.phoff,
			       "ELF core has %u program headers but no PT_LOAD: it holds no memory", e.phnum);
	describe(d, &e, &ns, &n);
	if ((rc = dp_map_finish(d, err)))
		return rc;
	/* QEMU x86 cores hold every RAM region the guest maps: tell guest RAM
	 * from video RAM and ROMs by the PC memory map */
	if (ns.qemu && !ns.vbox && (e.machine == 62 || e.machine == 3))
		return dp_kind_pc(d, err);
	return DP_OK;
}

const struct dp_format_ops elf_ops = {
	.name = "elf",
	.description = "ELF core (QEMU dump-guest-memory, virsh dump --memory-only, kdump, VirtualBox)",
	.probe = elf_probe,
	.open = elf_open,
};
