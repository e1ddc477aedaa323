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
damaged t2.dmp "DumpType 2 refused" "kernel summary dump .*kernel memory only.*not supported"
damaged t4.dmp "DumpType 4 refused" "small memory dump.*does not contain the guest memory"
damaged t8.dmp "DumpType 8 refused" "RDMP\" kernel memory dump .*does not contain all guest memory"
damaged t9.dmp "DumpType 9 refused" "RDMP\" kernel and user memory dump"
damaged t10.dmp "DumpType 10 refused" "RDMP\" complete memory dump .*not supported yet"
NDAMAGED=0

# ---- damaged dumps ----
"$MK/mkwin" runs.spec f64.dmp --map f64.map
{ cat runs.spec; echo "bits 32"; } > s.spec
"$MK/mkwin" s.spec f32.dmp --map f32.map
{ cat runs.spec; echo "type bitmap"; } > s.spec
"$MK/mkwin" s.spec b64.dmp --map b64.map
M=f64.map B=b64.map
truncated f64.dmp 100 "inside the 64-bit header" "Windows dump header.*file ends"
truncated f32.dmp 3000 "inside the 32-bit header" "Windows dump header.*file ends"
truncated f64.dmp 8192 "header only, no pages" "run 0 .*past the end of the file"
truncated f64.dmp $(( $(field $M run2.data) + 5000 )) "inside the last run" "run 2 .*past the end of the file"
truncated b64.dmp $(( $(field $B sum.sig) + 20 )) "inside the summary header" "summary header.*file ends"
truncated b64.dmp $(( $(field $B sum.bitmap) + 100 )) "inside the bitmap" "bitmap of .* runs past the end"
truncated b64.dmp $(( $(field $B data) + 4096 * 7 + 10 )) "inside the bitmap pages" "15 pages at offset .* past the end of the file"
v=$(variant f64.dmp runs44); poke "$v" $(field $M pmb.nruns) 44 4; damaged "$v" "44 runs in a 64-bit header" "44 runs, the header has room for 43"
v=$(variant f32.dmp runs87); poke "$v" $(field f32.map pmb.nruns) 87 4; damaged "$v" "87 runs in a 32-bit header" "87 runs, the header has room for 86"
v=$(variant f64.dmp runs0); poke "$v" $(field $M pmb.nruns) 0 4; damaged "$v" "no runs" "empty physical memory run list"
v=$(variant f64.dmp npages); poke "$v" $(field $M pmb.npages) 16 8; damaged "$v" "page count differs from the runs" "says 16 pages but its runs hold 15"
v=$(variant f32.dmp npages32); poke "$v" $(field f32.map pmb.npages) 14 4; damaged "$v" "32-bit page count differs" "says 14 pages but its runs hold 15"
v=$(variant f64.dmp overlap); poke "$v" $(field $M run1.base) 4 8; damaged "$v" "overlapping runs" "run 1 .* overlaps or precedes run 0"
v=$(variant f64.dmp unsorted); poke "$v" $(field $M run2.base) 0x80 8; damaged "$v" "runs out of order" "run 2 .* overlaps or precedes run 1"
v=$(variant f64.dmp wrap); poke "$v" $(field $M run2.base) 0xfffffffffffffff0 8; damaged "$v" "run base + count overflows" "run 2 .* overflows"
v=$(variant f64.dmp huge); poke "$v" $(field $M run1.count) 0x10000000000 8; damaged "$v" "run past the end of the file" "run 1 .*past the end of the file"
v=$(variant f64.dmp type77); poke "$v" $(field $M hdr.dumptype) 77 4; damaged "$v" "unknown DumpType" "DumpType 77 is not known"
v=$(variant b64.dmp sig); pokestr "$v" $(field $B sum.sig) "XDMP"; damaged "$v" "bad summary signature" "not \"FDMP\"/\"SDMP\""
v=$(variant b64.dmp bits0); poke "$v" $(field $B sum.bits) 0 8; damaged "$v" "bitmap of 0 frames" "covers 0 frames"
v=$(variant b64.dmp bitshuge); poke "$v" $(field $B sum.bits) 0x20000000000 8; damaged "$v" "bitmap of 2^41 frames" "covers 2199023255552 frames"
v=$(variant b64.dmp bitspast); poke "$v" $(field $B sum.bits) 0x100000000 8; damaged "$v" "bitmap past the end of the file" "bitmap of .* runs past the end"
v=$(variant b64.dmp firstin); poke "$v" $(field $B sum.firstpage) 0x2010 8; damaged "$v" "first page inside the bitmap" "inside the headers and bitmap"
v=$(variant b64.dmp firstwrap); poke "$v" $(field $B sum.firstpage) 0xfffffffffffff000 8; damaged "$v" "first page offset overflows" "overflows|past the end"
v=$(variant b64.dmp count); poke "$v" $(field $B sum.pages) 14 8; damaged "$v" "present count differs from the bitmap" "says 14 pages are present but its bitmap has 15 bits set"
v=$(variant b64.dmp toomany); poke "$v" $(field $B sum.pages) 0x200000 8; damaged "$v" "more present pages than frames" "more than the .* frames it covers"
v=$(variant f64.dmp notdump); pokestr "$v" 4 "DUXX"; damaged "$v" "broken signature: not recognised" "unknown dump format"
echo "# $NDAMAGED damaged dumps"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
