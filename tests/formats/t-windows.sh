#!/bin/sh
# Windows crash dumps (PAGEDU64 / PAGEDUMP): full dumps with a run list,
# bitmap dumps (FDMP, SDMP, DumpType 6), refused dump types, damaged files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkwin" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > runs.spec <<'EOF'
ram 0 8 seq:1
ram 0x100 4 ids:3,3,0,9
ram 0x100000 3 cycle:40:2
EOF

for bits in 64 32; do
	for type in full bitmap; do
		{ cat runs.spec; echo "bits $bits"; echo "type $type"; } > s.spec
		"$MK/mkwin" s.spec "w$bits-$type.dmp" --expect "w$bits-$type.exp"
		check_expect "w$bits-$type.dmp" "w$bits-$type.exp" "$bits-bit $type dump: counts and ranges"
	done
done
like "$(info_line w64-full.dmp variant)" "^Windows 64-bit crash dump \(PAGEDU64\), full dump \(physical memory runs\), x64" "64-bit full: variant"
like "$(info_line w32-full.dmp variant)" "^Windows 32-bit crash dump \(PAGEDUMP\), full dump .*x86" "32-bit full: variant"
like "$(info_line w64-bitmap.dmp variant)" "full bitmap dump" "64-bit bitmap: variant"
like "$(info_line w64-full.dmp runs)" "^3, 15 pages" "--info lists the runs"
like "$(info_line w64-bitmap.dmp bitmap)" "^1048584 frames covered, 15 present" "--info describes the bitmap"
is "$(info_line w64-full.dmp format)" windows-crashdump "detected as windows-crashdump"

# kernel bitmap dump: read, with a warning that user memory is missing
{ cat runs.spec; echo "type bitmap"; echo "sig SDMP"; } > s.spec
"$MK/mkwin" s.spec sdmp.dmp --expect sdmp.exp
check_expect sdmp.dmp sdmp.exp "SDMP kernel bitmap dump"
like "$(info_line sdmp.dmp warning)" "kernel memory dump .*user-space memory is not in the file" "SDMP: warns that user memory is missing"
{ cat runs.spec; echo "type bitmap"; echo "dumptype 6"; echo "bits 64"; } > s.spec
"$MK/mkwin" s.spec t6.dmp --expect t6.exp
check_expect t6.dmp t6.exp "DumpType 6 (live kernel bitmap)"
{ cat runs.spec; echo "type bitmap"; echo "bits 32"; echo "sig SDMP"; } > s.spec
"$MK/mkwin" s.spec sdmp32.dmp --expect sdmp32.exp
check_expect sdmp32.dmp sdmp32.exp "32-bit SDMP bitmap dump"

# vmss2core -W8 writes a 64-bit full dump whose runs follow the VMware
# regions: one below the PCI hole, one above 4 GiB
cat > vmss.spec <<'EOF'
ram 0 16 cycle:1:5
ram 0x100000 16 seq:100
EOF
"$MK/mkwin" vmss.spec memory-W8.dmp --expect vmss.exp
check_expect memory-W8.dmp vmss.exp "vmss2core -W8 style full dump (size = RAM + 0x2000)"
is "$(wc -c < memory-W8.dmp)" $((32 * 4096 + 0x2000)) "its size is RAM + 0x2000"
gzip -c w64-full.dmp > w64-full.dmp.gz
check_expect w64-full.dmp.gz w64-full.exp "gzip-compressed full dump (stream)"

# dump types without all of memory, or not publicly described: refused clearly
for t in 2 4 8 9 10; do
	{ cat runs.spec; echo "dumptype $t"; } > s.spec
	"$MK/mkwin" s.spec "t$t.dmp"
done
damaged t2.dmp "DumpType 2 refused" "=Windows kernel summary dump (DumpType 2): it holds kernel memory only, not all guest memory, and its layout is not documented: not supported" @3992
damaged t4.dmp "DumpType 4 refused" "=Windows small memory dump / triage dump (DumpType 4): it does not contain the guest memory: not supported" @3992
damaged t8.dmp "DumpType 8 refused" "=Windows \"RDMP\" kernel memory dump (DumpType 8, written by .dump on recent Windows) — it does not contain all guest memory: not supported yet" @3992
damaged t9.dmp "DumpType 9 refused" "=Windows \"RDMP\" kernel and user memory dump (DumpType 9, written by .dump on recent Windows) — it does not contain all guest memory: not supported yet" @3992
damaged t10.dmp "DumpType 10 refused" "=Windows \"RDMP\" complete memory dump (DumpType 10, written by .dump on recent Windows): not supported yet" @3992
NDAMAGED=0

# ---- damaged dumps ----
"$MK/mkwin" runs.spec f64.dmp --map f64.map
{ cat runs.spec; echo "bits 32"; } > s.spec
"$MK/mkwin" s.spec f32.dmp --map f32.map
{ cat runs.spec; echo "type bitmap"; } > s.spec
"$MK/mkwin" s.spec b64.dmp --map b64.map
M=f64.map B=b64.map
truncated f64.dmp 100 "inside the 64-bit header" "=truncated: Windows dump header: file ends at byte 100 but 8192 bytes are needed from offset 0" @0
truncated f32.dmp 3000 "inside the 32-bit header" "=truncated: Windows dump header: file ends at byte 3000 but 4096 bytes are needed from offset 0" @0
truncated f64.dmp 8192 "header only, no pages" "=truncated: physical memory run 0 (guest 0x0, 8 pages) is stored at offset 8192..40960, past the end of the file (8192 bytes; 32768 missing)" @8192
truncated f64.dmp $(( $(field $M run2.data) + 5000 )) "inside the last run" "=truncated: physical memory run 2 (guest 0x100000000, 3 pages) is stored at offset 57344..69632, past the end of the file (62344 bytes; 7288 missing)" @62344
truncated b64.dmp $(( $(field $B sum.sig) + 20 )) "inside the summary header" "=truncated: bitmap dump summary header: file ends at byte 8212 but 56 bytes are needed from offset 8192" @8192
truncated b64.dmp $(( $(field $B sum.bitmap) + 100 )) "inside the bitmap" "=truncated: bitmap of 1048584 frames (131073 bytes at offset 8248) runs past the end of the file (8348 bytes)" @8348
truncated b64.dmp $(( $(field $B data) + 4096 * 7 + 10 )) "inside the bitmap pages" "=truncated: 15 pages at offset 143360 end at byte 204800, past the end of the file (172042 bytes; 32758 missing)" @172042
v=$(variant f64.dmp runs44); poke "$v" $(field $M pmb.nruns) 44 4; damaged "$v" "44 runs in a 64-bit header" "=corrupt: physical memory run list: 44 runs, the header has room for 43" @$POKED
v=$(variant f32.dmp runs87); poke "$v" $(field f32.map pmb.nruns) 87 4; damaged "$v" "87 runs in a 32-bit header" "=corrupt: physical memory run list: 87 runs, the header has room for 86" @$POKED
v=$(variant f64.dmp runs0); poke "$v" $(field $M pmb.nruns) 0 4; damaged "$v" "no runs" "=corrupt: full dump with an empty physical memory run list" @$POKED
v=$(variant f64.dmp npages); poke "$v" $(field $M pmb.npages) 16 8; damaged "$v" "page count differs from the runs" "=corrupt: physical memory block says 16 pages but its runs hold 15" @$POKED
v=$(variant f32.dmp npages32); poke "$v" $(field f32.map pmb.npages) 14 4; damaged "$v" "32-bit page count differs" "=corrupt: physical memory block says 14 pages but its runs hold 15" @$POKED
v=$(variant f64.dmp overlap); poke "$v" $(field $M run1.base) 4 8; damaged "$v" "overlapping runs" "=corrupt: physical memory run 1 (base page 0x4) overlaps or precedes run 0 (ending at page 0x8)" @$POKED
v=$(variant f64.dmp unsorted); poke "$v" $(field $M run2.base) 0x80 8; damaged "$v" "runs out of order" "=corrupt: physical memory run 2 (base page 0x80) overlaps or precedes run 1 (ending at page 0x104)" @$POKED
v=$(variant f64.dmp wrap); poke "$v" $(field $M run2.base) 0xfffffffffffffff0 8; damaged "$v" "run base + count overflows" "=corrupt: physical memory run 2 (base page 0xfffffffffffffff0, 3 pages) overflows" @$POKED
v=$(variant f64.dmp huge); poke "$v" $(field $M run1.count) 0x10000000000 8; damaged "$v" "run past the end of the file" "=truncated: physical memory run 1 (guest 0x100000, 1099511627776 pages) is stored at offset 40960..4503599627411456, past the end of the file (69632 bytes; 4503599627341824 missing)" @69632
v=$(variant f64.dmp type77); poke "$v" $(field $M hdr.dumptype) 77 4; damaged "$v" "unknown DumpType" "=corrupt: Windows DumpType 77 is not known" @$POKED
v=$(variant b64.dmp sig); pokestr "$v" $(field $B sum.sig) "XDMP"; damaged "$v" "bad summary signature" "=corrupt: bitmap dump summary header signature is 58 44 4d 50 44 55 4d 50, not \"FDMP\"/\"SDMP\" + \"DUMP\"" @8192
v=$(variant b64.dmp bits0); poke "$v" $(field $B sum.bits) 0 8; damaged "$v" "bitmap of 0 frames" "=corrupt: bitmap dump covers 0 frames (1..2^40 expected)" @$POKED
v=$(variant b64.dmp bitshuge); poke "$v" $(field $B sum.bits) 0x20000000000 8; damaged "$v" "bitmap of 2^41 frames" "=corrupt: bitmap dump covers 2199023255552 frames (1..2^40 expected)" @$POKED
v=$(variant b64.dmp bitspast); poke "$v" $(field $B sum.bits) 0x100000000 8; damaged "$v" "bitmap past the end of the file" "=truncated: bitmap of 4294967296 frames (536870912 bytes at offset 8248) runs past the end of the file (204800 bytes)" @204800
v=$(variant b64.dmp firstin); poke "$v" $(field $B sum.firstpage) 0x2010 8; damaged "$v" "first page inside the bitmap" "=corrupt: first page offset 8208 lies inside the headers and bitmap (which end at 139321)" @$POKED
v=$(variant b64.dmp firstwrap); poke "$v" $(field $B sum.firstpage) 0xfffffffffffff000 8; damaged "$v" "first page offset overflows" "=corrupt: page data size overflows" @$POKED
v=$(variant b64.dmp count); poke "$v" $(field $B sum.pages) 14 8; damaged "$v" "present count differs from the bitmap" "=corrupt: bitmap dump says 14 pages are present but its bitmap has 15 bits set" @$POKED
v=$(variant b64.dmp toomany); poke "$v" $(field $B sum.pages) 0x200000 8; damaged "$v" "more present pages than frames" "=corrupt: bitmap dump says 2097152 pages are present, more than the 1048584 frames it covers" @$POKED
v=$(variant f64.dmp notdump); pokestr "$v" 4 "DUXX"; damaged "$v" "broken signature: not recognised" "=unknown dump format (first bytes 50 41 47 45); a raw memory image needs --format=raw" @0
echo "# $NDAMAGED damaged dumps"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
