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

RECOGNISE(libvirt_save, "libvirt-save", "libvirt save image (virsh save / managedsave)",
	  at0(h, n, "LibvirtQemudSave", 16) || at0(h, n, "LibvirtQemudPart", 16))
RECOGNISE(qevm, "qemu-migration", "QEMU migration stream (virsh dump, migrate to file)",
	  at0(h, n, "QEVM", 4))
RECOGNISE(flattened, "kdump-flattened",
	  "makedumpfile flattened kdump (QEMU/virsh kdump-zlib, makedumpfile -F)",
	  at0(h, n, "makedumpfile\0\0\0\0", 16))
RECOGNISE(kdump, "kdump", "kdump-compressed dump (makedumpfile -c/-l/-p/-z)",
	  at0(h, n, "KDUMP   ", 8) || at0(h, n, "DISKDUMP", 8))
RECOGNISE(windows, "windows-crashdump", "Windows crash dump (PAGEDUMP / PAGEDU64)",
	  at0(h, n, "PAGEDU64", 8) || at0(h, n, "PAGEDUMP", 8))
RECOGNISE(lime, "lime", "LiME / AVML memory image",
	  n >= 8 && ((dp_le32(h) == 0x4C694D45u && dp_le32(h + 4) == 1) ||
		     (dp_le32(h) == 0x4C4D5641u && dp_le32(h + 4) == 2)))
RECOGNISE(vmware, "vmware-vmss", "VMware checkpoint (.vmss suspend / .vmsn snapshot)",
	  n >= 4 && (dp_le32(h) == 0xBED2BED2u || dp_le32(h) == 0xBED3BED3u ||
		     dp_le32(h) == 0xBAD1BAD1u || dp_le32(h) == 0xBED2BED0u ||
		     dp_le32(h) == 0xBED0BED0u || dp_le32(h) == 0xBAD2BAD2u))
RECOGNISE(xen_old, "xen-xc-core-legacy", "Xen xc_core dump in the pre-ELF layout",
	  n >= 4 && (dp_le32(h) == 0xF00FEBEDu || dp_le32(h) == 0xF00FEBEEu))
RECOGNISE(xen_save, "xen-save", "Xen xc_save domain image (LinuxGuestRecord)",
	  at0(h, n, "LinuxGuestRecord", 16))
