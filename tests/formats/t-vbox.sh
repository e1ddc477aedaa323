#!/bin/sh
# ELF cores of VirtualBox (dumpvmcore) and vmss2core through the ELF back
# end: MMIO ranges are not RAM, e_ident version 0 is accepted, virtual
# ("linear") cores are refused, page bytes equal libkdumpfile's, damaged files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkvbox" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

# a PC layout: low RAM, VGA/ROM MMIO, RAM, a device window, RAM above 4 GiB
cat > pc.spec <<'EOF'
ram 0 0xa0 cycle:1:7
mmio 0xa0 0x60
ram 0x100 0x40 seq:200
mmio 0xe0000 0x20
ram 0x100000 8 ids:0,0,3,3,4,5,6,200
EOF
mk() { # mk NAME OPTION-LINES...
	_n=$1
	shift
	{ cat pc.spec; for l in "$@"; do echo "$l"; done; } > "$_n.spec"
	"$MK/mkvbox" "$_n.spec" "$_n.core" --expect "$_n.exp" --map "$_n.map"
}
mk vbox
mk vbox-ev0 "eversion 0"
mk vbox1 "ncpu 1"
# vmss2core -N: a plain physical core (no MMIO headers)
grep -v mmio pc.spec > n.spec; echo "producer vmss2core-n" >> n.spec
"$MK/mkvbox" n.spec n.core --expect n.exp
for x in vbox vbox-ev0 vbox1 n; do
	check_expect "$x.core" "$x.exp" "$x: counts and ranges (MMIO ranges are not pages)"
done
is "$(info_line vbox.core absent)" "" "(no absent line)"
is "$(info_line vbox.core 'absent pages')" 0 "VirtualBox MMIO ranges are not absent pages"
like "$(info_line vbox.core mmio)" "^2 VirtualBox MMIO ranges" "--info reports the MMIO ranges"
like "$(info_line vbox.core variant)" "^ELF64 little-endian x86-64 core, VirtualBox dumpvmcore" "VirtualBox variant"
like "$(info_line vbox.core warning)" "ELF header version is 0" "EI_VERSION 0: warning, still read"
like "$(info_line vbox.core notes)" "VBCORE" "VBCORE notes found with 8-byte alignment"
like "$(info_line n.core cpus)" "^2 " "vmss2core -N core: CPU notes counted"
gzip -c vbox.core > vbox.core.gz
check_expect vbox.core.gz vbox.exp "gzip-compressed VirtualBox core (stream)"

# the same pages through libkdumpfile (an independent reader)
for x in vbox n; do
	kdiff_ok "$x: page bytes equal libkdumpfile's" "$x.core"
done

# virtual-address cores are refused with a pointer to the right option
mk lin "producer linear"
mk linh "producer linear-high"
mk proc "producer process"
damaged lin.core "vmss2core per-vCPU linear core (p_paddr 0)" "=this core describes virtual addresses, not guest-physical memory (several segments at p_paddr 0 with different p_vaddr): a per-vCPU \"linear\" core as vmss2core writes without -M or -N, or a process core; convert the checkpoint with vmss2core -M (physical memory) or -N instead" @64
damaged linh.core "linear core with p_paddr = p_vaddr" "=this core describes virtual addresses, not guest-physical memory (segments at p_paddr = p_vaddr beyond 2^52): a per-vCPU \"linear\" core as vmss2core writes without -M or -N, or a process core; convert the checkpoint with vmss2core -M (physical memory) or -N instead" @64
damaged proc.core "process core" "=this is a process core (NT_AUXV/NT_FILE notes): a program's virtual memory, not guest-physical memory" @64
NDAMAGED=0

# ---- damaged cores ----
M=vbox.map
size=$(wc -c < vbox.core)
truncated vbox.core 30 "inside the ELF header" "=truncated: ELF header: file is 30 bytes, shorter than an ELF header" @30
truncated vbox.core $((64 + 56 * 2 + 10)) "inside the program headers" "=truncated: program header table (6 entries at offset 64) runs past the end of the file (186 bytes)" @64
truncated vbox.core $(( $(field $M notes) + 20 )) "inside the notes" "=truncated: PT_NOTE 0: notes at offset 400..2352 lie past the end of the file (420 bytes)" @64
truncated vbox.core $(( $(field $M data3) + 4097 )) "inside the memory" "=truncated: PT_LOAD 3 (physical 0x100000): data at offset 657712..919856 lies past the end of the file (661809 bytes; 258047 missing)" @232
v=$(variant vbox.core phoff); poke "$v" $(field $M ehdr.phoff) $((size + 8)) 8; damaged "$v" "program headers past the end" "=truncated: program header table (6 entries at offset $((size + 8))) runs past the end of the file ($size bytes)" @$size
v=$(variant vbox.core phoff2); poke "$v" $(field $M ehdr.phoff) 10 8; damaged "$v" "program headers over the ELF header" "=corrupt: program headers at offset 10 overlap the ELF header" @$POKED
v=$(variant vbox.core phent); poke "$v" $(field $M ehdr.phentsize) 32 2; damaged "$v" "program header size 32 in ELF64" "=corrupt: program header size 32, expected 56 for ELF64" @$POKED
v=$(variant vbox.core phnum); poke "$v" $(field $M ehdr.phnum) 0xfff0 2; damaged "$v" "too many program headers" "=truncated: program header table (65520 entries at offset 64) runs past the end of the file ($size bytes)" @64
v=$(variant vbox.core phnum0); poke "$v" $(field $M ehdr.phnum) 0 2; damaged "$v" "no program headers" "=ELF core has no program headers, so no memory segments" @$POKED
v=$(variant vbox.core xnum); poke "$v" $(field $M ehdr.phnum) 0xffff 2; damaged "$v" "PN_XNUM without section 0" "=corrupt: e_phnum is PN_XNUM but there is no section header 0 to hold the count" @40
v=$(variant vbox.core fsz); poke "$v" $(field $M ph1.filesz) 0x100000 8; damaged "$v" "p_filesz above p_memsz" "=corrupt: PT_LOAD 1: p_filesz 1048576 exceeds p_memsz 655360" @120
v=$(variant vbox.core off); poke "$v" $(field $M ph3.offset) $size 8; damaged "$v" "segment data past the end" "=truncated: PT_LOAD 3 (physical 0x100000): data at offset $size..1214768 lies past the end of the file ($size bytes; 262144 missing)" @232
v=$(variant vbox.core offwrap); poke "$v" $(field $M ph3.offset) 0xffffffffffff0000 8; damaged "$v" "offset + size overflows" "=corrupt: PT_LOAD 3: p_offset 18446744073709486080 + p_filesz 262144 overflows" @232
v=$(variant vbox.core pwrap); poke "$v" $(field $M ph5.paddr) 0xfffffffffffff000 8; damaged "$v" "physical range wraps" "=corrupt: PT_LOAD 5: physical range 0xfffffffffffff000 + 32768 wraps the address space" @344
v=$(variant vbox.core noteoff); poke "$v" $(field $M ph0.offset) $((size + 1)) 8; damaged "$v" "notes past the end" "=truncated: PT_NOTE 0: notes at offset 952625..954577 lie past the end of the file ($size bytes)" @64
v=$(variant vbox.core notebig); poke "$v" $(field $M ph0.filesz) 0x8000000 8; damaged "$v" "notes of 128 MiB" "=truncated: PT_NOTE 0: notes at offset 400..134218128 lie past the end of the file ($size bytes)" @64
v=$(variant vbox.core descsz); poke "$v" $(( $(field $M notes) + 4 )) 0x7fffffff 4; damaged "$v" "note data past its segment" "=corrupt: ELF note (name 6 bytes, data 2147483647 bytes) runs past its PT_NOTE segment" @400
v=$(variant vbox.core class); poke "$v" 4 3 1; damaged "$v" "ELF class 3" "=corrupt: ELF class 3 is neither ELF32 nor ELF64" @$POKED
v=$(variant vbox.core data); poke "$v" 5 7 1; damaged "$v" "ELF data encoding 7" "=corrupt: ELF data encoding 7 is neither little- nor big-endian" @$POKED
v=$(variant vbox.core eiver); poke "$v" 6 2 1; damaged "$v" "EI_VERSION 2" "=corrupt: ELF version 2 is not 1" @$POKED
v=$(variant vbox.core exec); poke "$v" 16 2 2; damaged "$v" "an executable, not a core" "=ELF file is not a core dump (e_type 2, a core is 4): not a memory dump" @$POKED
v=$(variant vbox.core noload); for i in 1 2 3 4 5; do poke "$v" $((64 + 56 * i)) 6 4; done; damaged "$v" "no PT_LOAD" "=ELF core has 6 program headers but no PT_LOAD: it holds no memory" @64
echo "# $NDAMAGED damaged cores"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
