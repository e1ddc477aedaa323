#!/bin/sh
# Xen dump-core (xl/xm dump-core ELF with sections): .xen_pfn and .xen_p2m,
# any entry order, the invalid-frame marker, both byte orders, larger pages,
# page bytes compared with libkdumpfile, and damaged files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkxen" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > base.spec <<'EOF'
ram 0 8 seq:1
ram 0x20 4 cycle:50:2
ram 0x100000 3 ids:0,7,7
EOF
mk() { # mk NAME OPTION-LINES...
	_n=$1
	shift
	{ cat base.spec; for l in "$@"; do echo "$l"; done; } > "$_n.spec"
	"$MK/mkxen" "$_n.spec" "$_n.core" --expect "$_n.exp" --map "$_n.map"
}
mk hvm
mk hvm-shuf "order shuffle"
mk hvm-rev "order reverse"
mk pv "table p2m" "order shuffle"
mk pad "padding 3"
mk pvpad "table p2m" "padding 2"
mk be "endian be"
mk bepv "endian be" "table p2m" "order reverse"
mk nofmt "format none"
cat > big.spec <<'EOF2'
ram 0 4 seq:1
ram 0x40 2 cycle:60:3
pagesize 8192
order shuffle
EOF2
"$MK/mkxen" big.spec big.core --expect big.exp
for n in hvm hvm-shuf hvm-rev pv pad pvpad be bepv nofmt; do
	check_expect "$n.core" "$n.exp" "$n: counts and ranges"
done
check_expect big.core big.exp "8 KiB Xen pages read as 4 KiB frames" --page-size=4096
is "$(info_line big.core 'page size')" "8192 (the dump records 8192)" "8 KiB pages: the dump's page size by default"

is "$(info_line hvm.core format)" xen-xc-core "detected as xen-xc-core (before the ELF back end)"
like "$(info_line hvm.core variant)" "^Xen dump-core \(xl/xm dump-core\), ELF64 little-endian, HVM guest, frames in \.xen_pfn" "HVM variant"
like "$(info_line pv.core variant)" "PV guest, frames in \.xen_p2m" "PV variant"
like "$(info_line be.core variant)" "ELF64 big-endian" "big-endian variant"
like "$(info_line hvm.core 'xen header')" "magic 0xf00febee \(HVM\), 1 vcpus, 15 pages of 4096 bytes" "--info shows the Xen header"
is "$(info_line hvm.core 'format version')" "0.1" "--info shows the format version"
like "$(info_line pad.core padding)" "^3 entries with the invalid-frame marker" "invalid-frame entries are reported"
like "$(info_line pad.core 'xen header')" "18 pages" "padding entries are in the header count"
like "$(info_line nofmt.core warning)" "no format-version note" "missing format note: warning"
is "$(info_line hvm.core ranges | head -1)" "" "(ranges listed below)"
is "$("$DA" --info hvm.core | grep -c '^    0x')" 3 "--info lists 3 ranges"

# the same pages through libkdumpfile (an independent reader)
for n in hvm hvm-shuf pv pad pvpad; do
	kdiff_ok "$n: page bytes equal libkdumpfile's (guest frames)" --space=kphys "$n.core"
done

# an ELF core with program headers is still the ELF back end's
printf '' > /dev/null
# ---- damaged cores ----
M=hvm.map P=pv.map
size=$(wc -c < hvm.core)
truncated hvm.core 40 "inside the ELF header" "=truncated: ELF header: file is 40 bytes, shorter than an ELF header" @40
truncated hvm.core $(( $(field $M sh.pages) + 10 )) "inside the section headers" "=truncated: section header table (6 entries at offset 69696) runs past the end of the file (69962 bytes)" @40
truncated hvm.core $(( $(field $M pages) + 3 * 4096 )) "inside .xen_pages (section table lost)" "=truncated: section header table (6 entries at offset 69696) runs past the end of the file (20480 bytes)" @40
v=$(variant hvm.core pagesoff); poke "$v" $(field $M sh.pages.offset) $((size - 8192)) 8; damaged "$v" ".xen_pages past the end" "=truncated: section .xen_pages (61440 bytes at offset 61888) runs past the end of the file ($size bytes; 53248 missing)" @69952
v=$(variant hvm.core pageswrap); poke "$v" $(field $M sh.pages.offset) 0xfffffffffffffff0 8; damaged "$v" "section offset + size overflows" "=corrupt: section .xen_pages: offset 18446744073709551600 + size 61440 overflows" @69952
v=$(variant hvm.core shentsize); poke "$v" $(field $M ehdr.shentsize) 40 2; damaged "$v" "section header size 40" "=corrupt: section header size 40, expected 64" @$POKED
v=$(variant hvm.core shstrndx); poke "$v" $(field $M ehdr.shstrndx) 6 2; damaged "$v" "name table index past the sections" "=corrupt: section name table index 6 is not below the 6 sections" @$POKED
v=$(variant hvm.core shoffbig); poke "$v" $(field $M ehdr.shoff) $((size * 4)) 8; damaged "$v" "section headers past the end" "=truncated: section header table (6 entries at offset 280320) runs past the end of the file ($size bytes)" @$POKED
v=$(variant hvm.core shofflow); poke "$v" $(field $M ehdr.shoff) 16 8; damaged "$v" "section headers over the ELF header" "=corrupt: section headers at offset 16 overlap the ELF header" @$POKED
v=$(variant hvm.core nameoff); poke "$v" $(field $M sh.pages.name) 5000 4; damaged "$v" "section name outside the name table" "=corrupt: section 4: name offset 5000 lies outside the name table (64 bytes)" @$POKED
v=$(variant hvm.core nonote); pokestr "$v" $(( $(field $M strtab) + 1 )) ".note.Xex"; damaged "$v" "no .note.Xen" "=corrupt: ELF core without program headers lacks the .note.Xen section of a Xen dump-core" @40
v=$(variant hvm.core both); pokestr "$v" $(( $(field $M strtab) + 11 )) ".xen_p2m"; poke "$v" $(( $(field $M strtab) + 19 )) 0 1; damaged "$v" ".xen_pfn and .xen_p2m" "=corrupt: a Xen dump-core has exactly one of .xen_pfn and .xen_p2m; this one has both" @69824
v=$(variant hvm.core neither); pokestr "$v" $(( $(field $M strtab) + 25 )) ".xen_pfx"; damaged "$v" "neither .xen_pfn nor .xen_p2m" "=corrupt: a Xen dump-core has exactly one of .xen_pfn and .xen_p2m; this one has neither" @40
v=$(variant hvm.core magic); poke "$v" $(field $M note.hdr.magic) 0xf00febef 8; damaged "$v" "bad header magic" "=corrupt: Xen header magic 0xf00febef is neither 0xf00febed (PV) nor 0xf00febee (HVM)" @64
v=$(variant hvm.core ps1000); poke "$v" $(field $M note.hdr.pagesize) 1000 8; damaged "$v" "page size 1000" "=corrupt: Xen header page size 1000 is not a power of two between 4096 and 1 GiB" @64
v=$(variant hvm.core ps2g); poke "$v" $(field $M note.hdr.pagesize) 0x80000000 8; damaged "$v" "page size 2 GiB" "=corrupt: Xen header page size 2147483648 is not a power of two between 4096 and 1 GiB" @64
v=$(variant hvm.core npages); poke "$v" $(field $M note.hdr.nrpages) 16 8; damaged "$v" "page count larger than .xen_pages" "=corrupt: .xen_pages holds 61440 bytes, the header promises 16 pages of 4096 bytes" @69952
v=$(variant hvm.core npagesbig); poke "$v" $(field $M note.hdr.nrpages) 0x4000000000000000 8; damaged "$v" "page count overflows" "=corrupt: .xen_pages holds 61440 bytes, the header promises 4611686018427387904 pages of 4096 bytes" @69952
v=$(variant hvm.core tblsize); poke "$v" $(field $M sh.table.size) 112 8; damaged "$v" ".xen_pfn of the wrong size" "=corrupt: .xen_pfn holds 112 bytes, expected 15 entries of 8 bytes" @69888
v=$(variant pv.core p2msize); poke "$v" $(field $P sh.table.size) 120 8; damaged "$v" ".xen_p2m of the wrong size" "=corrupt: .xen_p2m holds 120 bytes, expected 15 entries of 16 bytes" @69888
v=$(variant hvm.core dup); poke "$v" $(field $M entry1) 0 8; damaged "$v" "a frame listed twice" "=corrupt: .xen_pfn entries 0 and 1 both hold frame 0x0" @$POKED
v=$(variant pv.core dupp2m); poke "$v" $(field $P entry2) "$(python3 -c "import struct;d=open('pv.core','rb').read();print(struct.unpack_from('<Q',d,$(field $P entry0))[0])")" 8; damaged "$v" "a PV frame listed twice" "=corrupt: .xen_p2m entries 0 and 2 both hold frame 0x3" @$POKED
v=$(variant hvm.core pfnhuge); poke "$v" $(field $M entry3) 0x10000000000000 8; damaged "$v" "frame beyond the address space" "=corrupt: .xen_pfn entry 3: frame 0x10000000000000 lies beyond the 64-bit address space" @$POKED
v=$(variant hvm.core fmt10); poke "$v" $(field $M note.fmt.version) 0x100000000 8; damaged "$v" "format version 1.0" "=Xen dump-core format version 1.0: only 0.x is known" @64
v=$(variant hvm.core descbig); poke "$v" $(field $M note.hdr.descsz) 0x7ffffff0 4; damaged "$v" "note past its section" "=corrupt: Xen note (name 4 bytes, data 2147483632 bytes) runs past the .note.Xen section" @80
v=$(variant hvm.core descsmall); poke "$v" $(field $M note.hdr.descsz) 16 4; damaged "$v" "header note too short" "=corrupt: Xen header note has 16 bytes, expected 32" @80
v=$(variant hvm.core notetype); poke "$v" $(field $M sh.note.type) 1 4; damaged "$v" ".note.Xen not SHT_NOTE" "=corrupt: .note.Xen section has type 1, not SHT_NOTE" @69760
v=$(variant hvm.core elf32); poke "$v" 4 1 1; damaged "$v" "ELF32 without program headers" "=ELF core has no program headers, so no memory segments" @44
v=$(variant hvm.core withphdr); poke "$v" $(field $M ehdr.phnum) 1 2; damaged "$v" "program header count 1: not Xen, bad ELF" "=corrupt: program headers at offset 0 overlap the ELF header" @32
# pages above 1 MiB are refused unless --page-size says how to read them
printf 'ram 0 2 seq:1\npagesize 2097152\n' > p2m.spec
"$MK/mkxen" p2m.spec p2m.core
"$DA" p2m.core > /dev/null 2> p2m.err
is "$?" 1 "2 MiB Xen pages: exit 1"
like "$(cat p2m.err)" "declares 2097152-byte pages \(more than 1 MiB\): give --page-size" "2 MiB Xen pages: says why"
is "$("$DA" -q --csv --page-size=4096 p2m.core | tail -n 1)" "TOTAL,,1024,0,0,1024,1024,0,0,4194304" \
	"2 MiB Xen pages read as 4 KiB frames"
echo "# $NDAMAGED damaged cores"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
