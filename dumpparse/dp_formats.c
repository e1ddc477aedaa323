/* The probe list: most specific magic first, extension-based raw last. */
#include "dp_int.h"

extern const struct dp_format_ops libvirt_save_ops, qevm_ops, flattened_ops, kdump_ops, sadump_ops, xen_ops, elf_ops,
	windows_ops, lime_ops, vmware_ops, xen_old_ops, xen_save_ops, raw_ops;

const struct dp_format_ops *const dp_formats[] = {
	&libvirt_save_ops, &qevm_ops, &flattened_ops, &kdump_ops, &sadump_ops, &xen_ops, &elf_ops, &windows_ops,
	&lime_ops,         &vmware_ops, &xen_old_ops, &xen_save_ops, &raw_ops,
};

const size_t dp_nformats = sizeof dp_formats / sizeof dp_formats[0];
