#!/bin/sh
# LiME (format=lime, both byte orders, compress=1 zlib, gzip, piped) and
# AVML version 2 (snappy framed ranges): counts, partial frames, units
# across chunk boundaries, damaged files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mklime" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > ranges.spec <<'EOF'
ram 0 8 seq:1
ram 0x10 4 cycle:30:2
ram 0x100000 5 ids:0,2,2,0,9
EOF
# partial frames: 0x1000-0x2bff then 0x2c00-0x2fff (frame 2 shared, full),
# 0x20000-0x207ff (half a frame)
cat > partial.spec <<'EOF'
bytes 0x1000 0x1c00 seq:1
bytes 0x2c00 0x400 same:5
ram 0x10 4 seq:20
bytes 0x20000 0x800 same:7
EOF
mk() { # mk NAME SPEC OPTION-LINES...
	_n=$1 _s=$2
	shift 2
	{ cat "$_s"; for l in "$@"; do echo "$l"; done; } > "$_n.spec"
	"$MK/mklime" "$_n.spec" "$_n.lime" --expect "$_n.exp" --map "$_n.map"
}
mk le ranges.spec
mk be ranges.spec "endian be"
mk part partial.spec
mk partbe partial.spec "endian be"
mk zle ranges.spec "compress zlib"
mk zpart partial.spec "compress zlib"
mk zbe partial.spec "compress zlib" "endian be"
mk res ranges.spec "reserved 7"
for n in le be part partbe zle zpart zbe res; do
	check_expect "$n.lime" "$n.exp" "LiME $n: counts and ranges"
done
is "$(info_line part.lime 'partial pages' | cut -d' ' -f1)" 1 "one frame only partly covered"
like "$(info_line le.lime variant)" "^LiME image \(format=lime, version 1, little-endian\)" "LiME variant"
like "$(info_line be.lime variant)" "big-endian" "big-endian LiME variant"
like "$(info_line zle.lime variant)" "compress=1 \(zlib stream\)" "compress=1 variant"
is "$(info_line zle.lime compression)" "zlib (whole file, read as a stream)" "compress=1: zlib stream"
is "$(info_line le.lime "range headers")" 3 "--info counts the LiME range headers (apart from the frame runs listed under ranges)"
like "$(info_line res.lime warning)" "3 range headers have non-zero reserved bytes" "reserved bytes: warning"
gzip -c part.lime > part.lime.gz
check_expect part.lime.gz part.exp "gzip-compressed LiME (stream, partial frames)"
is "$(cat zpart.lime | "$DA" -q --csv - | sed -n 2p | cut -d, -f3-8)" "$(awk '/^pages|^absent|^zero|^nonzero|^distinct|^intra/ {print $2}' part.exp | paste -sd, -)" "compress=1 LiME from a pipe"
first=$(od -An -tx1 -N1 zle.lime | tr -d ' ')
is "$first" 38 "compress=1 files start with 0x38 (2 KiB window)"

# AVML version 2
mk av ranges.spec "kind avml"
mk avpart partial.spec "kind avml" "chunk 10000"
mk avskip ranges.spec "kind avml" "skippable 1" "chunk 5000"
cat > big.spec <<'EOF'
ram 0 1100 cycle:1:3
ram 0x500 30 seq:100
bytes 0x600000 0x1800 same:4
kind avml
EOF
"$MK/mklime" big.spec avbig.lime --expect avbig.exp --map avbig.map
sed 's/kind avml/chunk 12288/' big.spec > big2.spec; echo "kind avml" >> big2.spec
"$MK/mklime" big2.spec avbig2.lime --expect avbig2.exp
for n in av avpart avskip avbig avbig2; do
	check_expect "$n.lime" "$n.exp" "AVML $n: counts and ranges"
done
check_expect avbig.lime avbig.exp "AVML with one worker" -j1
like "$(info_line av.lime variant)" "^AVML compressed image" "AVML variant"
like "$(info_line avbig.lime "range headers")" "^3, [0-9]+ snappy chunks" "--info counts ranges and chunks"
is "$(info_line av.lime format)" lime "AVML is read by the lime back end"
ls -l avbig.lime | awk '{ exit !($5 < 2300000) }'; ok $? "the 4.5 MiB AVML fixture is compressed"

# ---- damaged images ----
M=le.map
truncated le.lime 20 "inside the first header" "=truncated: LiME range header: file ends at byte 20 but 32 bytes are needed from offset 0" @0
truncated le.lime $(( $(field $M data0) + 100 )) "inside the first range" "=truncated: range 0 (0x0-0x7fff, 32768 bytes) needs file bytes 32..32800 but the file ends at 132 (32668 missing)" @0
truncated le.lime $(( $(field $M hdr1) + 31 )) "inside the second header" "=truncated: LiME range header: file ends at byte 32831 but 32 bytes are needed from offset 32800" @32800
truncated le.lime $(( $(field $M data2) + 4096 * 4 + 1 )) "inside the last range" "=truncated: range 2 (0x100000000-0x100004fff, 20480 bytes) needs file bytes 49248..69728 but the file ends at 65633 (4095 missing)" @49216
v=$(variant le.lime magic1); pokestr "$v" $(field $M hdr1) "XXXX"; damaged "$v" "second header's magic" "=corrupt: range header 1: magic 0x58585858 version 1, expected 0x4c694d45 version 1 (damaged, or the data before it has the wrong length)" @32800
v=$(variant le.lime ver1); poke "$v" $(( $(field $M hdr1) + 4 )) 2 4; damaged "$v" "version 2 in a LiME header" "=corrupt: range header 1: magic 0x4c694d45 version 2, expected 0x4c694d45 version 1 (a header of another kind)" @32800
v=$(variant le.lime avml1); poke "$v" $(field $M hdr1) 0x4C4D5641 4; damaged "$v" "an AVML header in a LiME file" "=corrupt: range header 1: magic 0x4c4d5641 version 1, expected 0x4c694d45 version 1 (a header of another kind)" @$POKED
v=$(variant le.lime endlow); poke "$v" $(field $M hdr1.e) 0xf000 8; damaged "$v" "last address below the first" "=corrupt: range header 1: last address 0xf000 is below the first 0x10000" @$POKED
v=$(variant le.lime endmax); poke "$v" $(field $M hdr2.e) 0xffffffffffffffff 8; damaged "$v" "last address at 2^64-1" "=corrupt: range header 2: range 0x100000000-0xffffffffffffffff reaches the end of the address space" @$POKED
v=$(variant le.lime overlap); poke "$v" $(field $M hdr1.s) 0x7000 8; poke "$v" $(field $M hdr1.e) 0xafff 8; damaged "$v" "overlapping ranges" "=corrupt: range 1 (0x7000-0xafff) overlaps or precedes the range before it (which ends at 0x7fff)" @32808
v=$(variant le.lime desc); poke "$v" $(field $M hdr2.s) 0x8000 8; poke "$v" $(field $M hdr2.e) 0xcfff 8; damaged "$v" "descending ranges" "=corrupt: range 2 (0x8000-0xcfff) overlaps or precedes the range before it (which ends at 0x13fff)" @49224
v=$(variant le.lime longer); poke "$v" $(field $M hdr0.e) 0x8000 8; damaged "$v" "range one byte longer" "=corrupt: range header 1: magic 0x014c694d version 0, expected 0x4c694d45 version 1 (damaged, or the data before it has the wrong length)" @32801
v=$(variant le.lime huge); poke "$v" $(field $M hdr2.e) 0x400000000000 8; damaged "$v" "range far past the end" "=truncated: range 2 (0x100000000-0x400000000000, 70364449210369 bytes) needs file bytes 49248..70364449259617 but the file ends at 69728 (70364449189889 missing)" @49216
B=be.map
v=$(variant be.lime bemagic); pokestr "$v" $(field $B hdr2) "EMiL"; damaged "$v" "big-endian file with a little-endian header" "=corrupt: range header 2: magic 0x454d694c version 1, expected 0x4c694d45 version 1 (damaged, or the data before it has the wrong length)" @49216
truncated be.lime $(( $(field $B data1) + 7 )) "big-endian, inside a range" "=truncated: range 1 (0x10000-0x13fff, 16384 bytes) needs file bytes 32832..49216 but the file ends at 32839 (16377 missing)" @32800
# compress=1: damage the stream, and damage inside it
head -c $(( $(wc -c < zle.lime) - 200 )) zle.lime > "$TMPD/zcut.lime"
damaged "$TMPD/zcut.lime" "zlib stream cut short" "=truncated: zlib stream ends before its end marker" @14146
v=$(variant zle.lime zbits); poke "$v" $(( $(wc -c < zle.lime) / 2 )) 0xffffffff 4; damaged "$v" "zlib data damaged" "=corrupt: range header 1: magic 0x35353535 version 4193858869, expected 0x4c694d45 version 1 (damaged, or the data before it has the wrong length)" @32800
cp le.lime inner.lime; poke inner.lime $(field $M hdr1.s) 0x7000 8; poke inner.lime $(field $M hdr1.e) 0xafff 8
"$MK/mklime" --zlib inner.lime zinner.lime
damaged zinner.lime "compress=1 with overlapping ranges inside" "=corrupt: range 1 (0x7000-0xafff) overlaps or precedes the range before it (which ends at 0x7fff)" @32808
cp le.lime inner2.lime; truncate -s $(( $(field $M data1) + 10 )) inner2.lime
"$MK/mklime" --zlib inner2.lime zinner2.lime
damaged zinner2.lime "compress=1 holding a cut range" "=truncated: range 1 (0x10000-0x13fff, 16384 bytes) needs decoded bytes 32832..49216 but the data ends at 32842 (16374 missing)" @32800
# AVML
A=av.map
truncated av.lime $(( $(field $A chunk0.0) + 20 )) "AVML: inside a chunk" "=truncated: range 0: snappy chunk of 14470 bytes at offset 42 runs past the end of the file (62 bytes; 14454 missing)" @42
truncated av.lime $(( $(field $A trailer1) + 4 )) "AVML: inside a trailer" "=truncated: AVML range trailer: file ends at byte 18388 but 8 bytes are needed from offset 18384" @18384
v=$(variant av.lime avtype); poke "$v" $(field $A chunk1.0) 0x05 1; damaged "$v" "AVML: reserved chunk type" "=corrupt: range 1: reserved unskippable snappy chunk type 0x05" @$POKED
v=$(variant av.lime avid); pokestr "$v" $(( $(field $A chunk0.0) - 6 )) "sNaPpX"; damaged "$v" "AVML: bad stream identifier" "=corrupt: range 0: bad snappy stream identifier chunk" @32
v=$(variant av.lime avcrc); poke "$v" $(( $(field $A chunk0.0) + 4 )) 0x12345678 4; damaged_data "$v" "AVML: wrong CRC" "=corrupt: snappy chunk CRC-32C does not match its data" @42
v=$(variant av.lime avdata); poke "$v" $(( $(field $A chunk0.0) + 100 )) 0x5a5a5a5a 4; damaged_data "$v" "AVML: damaged chunk data" "=corrupt: snappy chunk CRC-32C does not match its data" @42
v=$(variant av.lime avtrail); poke "$v" $(field $A trailer0) 12345 8; damaged "$v" "AVML: wrong trailer" "=corrupt: range 0: trailer says the compressed data is 12345 bytes, it is 14484" @$POKED
v=$(variant av.lime avlen); poke "$v" $(( $(field $A chunk0.0) + 1 )) 0xfffff0 3; damaged "$v" "AVML: chunk length past the end" "=truncated: range 0: snappy chunk of 16777200 bytes at offset 42 runs past the end of the file (22576 bytes; 16754670 missing)" @42
v=$(variant av.lime avshort); poke "$v" $(field $A hdr0.e) 0x6fff 8; damaged "$v" "AVML: range shorter than its data" "=corrupt: range 0: snappy data holds more than the range's 28672 bytes" @42
v=$(variant av.lime avlonger); poke "$v" $(field $A hdr2.e) 0x100005fff 8; damaged "$v" "AVML: range longer than its data" "=truncated: range 2: snappy chunk of 16 bytes at offset 22568 runs past the end of the file (22576 bytes; 12 missing)" @22568
v=$(variant av.lime avnoid); poke "$v" $(( $(field $A chunk0.0) - 10 )) 0x80 1; damaged "$v" "AVML: data before the stream identifier" "=corrupt: range 0: snappy data chunk before the stream identifier" @42
v=$(variant av.lime avlime); poke "$v" $(field $A hdr1) 0x4C694D45 4; poke "$v" $(( $(field $A hdr1) + 4 )) 1 4; damaged "$v" "AVML: a LiME header inside" "=corrupt: range header 1: magic 0x4c694d45 version 1, expected 0x4c4d5641 version 2 (a header of another kind)" @14524
echo "# $NDAMAGED damaged images"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
