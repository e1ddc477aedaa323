/*
 * Formats recognised but not read yet.  Each entry knows its magic so that a
 * user gets "<format>: not supported yet" instead of "unknown format".  When
 * a format gains a back end of its own, its entry moves out of this file.
 */
#include "dp_int.h"

#include <string.h>

static bool at0(const uint8_t *h, size_t n, const char *magic, size_t len)
{
	return n >= len && memcmp(h, magic, len) == 0;
}

#define RECOGNISE(id, nm, desc, cond)                                                               \
	static enum dp_probe id##_probe(const uint8_t *h, size_t n, const char *path)               \
	{                                                                                           \
		(void)path;                                                                         \
		return (cond) ? DP_PROBE_YES : DP_PROBE_NO;                                         \
	}                                                                                           \
	const struct dp_format_ops id##_ops = { .name = nm, .description = desc, .probe = id##_probe };

RECOGNISE(xen_old, "xen-xc-core-legacy", "Xen xc_core dump in the pre-ELF layout",
	  n >= 4 && (dp_le32(h) == 0xF00FEBEDu || dp_le32(h) == 0xF00FEBEEu))
RECOGNISE(xen_save, "xen-save", "Xen xc_save domain image (LinuxGuestRecord)",
	  at0(h, n, "LinuxGuestRecord", 16))
