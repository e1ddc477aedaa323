/*
 * The ELF header, read once for the formats that are ELF files (ELF cores,
 * Xen dump-cores): class, data encoding, and the fields of either layout.
 */
#include "dp_int.h"

void dp_ehdr_decode(const uint8_t *h, struct dp_ehdr *e)
{
	const bool be = h[5] == 2;
	e->is64 = h[4] == 2;
	e->be = be;
	e->version = h[6];
	e->type = dp_get16(be, h + 16);
	e->machine = dp_get16(be, h + 18);
	if (e->is64) {
		e->phoff = dp_get64(be, h + 0x20);
		e->shoff = dp_get64(be, h + 0x28);
		e->flags = dp_get32(be, h + 0x30);
		e->phentsize = dp_get16(be, h + 0x36);
		e->phnum = dp_get16(be, h + 0x38);
		e->shentsize = dp_get16(be, h + 0x3a);
		e->shnum = dp_get16(be, h + 0x3c);
		e->shstrndx = dp_get16(be, h + 0x3e);
	} else {
		e->phoff = dp_get32(be, h + 0x1c);
		e->shoff = dp_get32(be, h + 0x20);
		e->flags = dp_get32(be, h + 0x24);
		e->phentsize = dp_get16(be, h + 0x2a);
		e->phnum = dp_get16(be, h + 0x2c);
		e->shentsize = dp_get16(be, h + 0x2e);
		e->shnum = dp_get16(be, h + 0x30);
		e->shstrndx = dp_get16(be, h + 0x32);
	}
}

int dp_ehdr_read(struct dp_dump *d, struct dp_ehdr *e, struct dp_error *err)
{
	uint8_t h[64];
	int rc = dp_src_read(d, 0, h, 16, "ELF header", err);
	if (rc)
		return rc;
	if (h[4] != 1 && h[4] != 2)
		return dp_fail(err, DP_E_CORRUPT, 4, "ELF class %u is neither ELF32 nor ELF64", h[4]);
	if (h[5] != 1 && h[5] != 2)
		return dp_fail(err, DP_E_CORRUPT, 5, "ELF data encoding %u is neither little- nor big-endian", h[5]);
	if ((rc = dp_src_read(d, 16, h + 16, h[4] == 2 ? 48 : 36, "ELF header", err)))
		return rc;
	dp_ehdr_decode(h, e);
	return DP_OK;
}
