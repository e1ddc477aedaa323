#!/bin/sh
# --info says what a reader needs without confusing names: a frame whose
# stored bytes end inside it counts as partial even when the segment's
# memory size goes on (absent bytes are not stored bytes); LiME's own
# records are named apart from the runs of frames; ELF note names have no
# trailing blank; state columns have no trailing blanks.
. "$(dirname "$0")/../lib.sh"
DA=$BIN/dedup-analyze
MK=$TB/formats
[ -x "$DA" ] || bail "$DA not built"
[ -x "$MK/mkelf" ] || bail "$MK/mkelf not built"
need python3
cd "$TMPD" || exit 1
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# one PT_LOAD: 6144 bytes stored (frame 0 whole, frame 1 half), p_memsz 16 KiB
printf 'bytes 0 6144 seq:1\n' > part.spec
"$MK/mkelf" part.spec part.elf || exit 1
python3 - part.elf 16384 <<'EOF' || exit 1
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
assert struct.unpack_from("<I", b, 64)[0] == 1 and struct.unpack_from("<Q", b, 64 + 32)[0] == 6144
struct.pack_into("<Q", b, 64 + 40, int(sys.argv[2]))   # p_memsz
open(sys.argv[1], "wb").write(b)
EOF
"$DA" --info --json part.elf > i.json
is "$(j i.json 'd[0]["pages"], d[0]["absent_pages"], d[0]["partial_pages"]')" "(2, 2, 1)" \
	"p_filesz ends mid-frame, p_memsz goes on: 2 present (1 partial), 2 absent"
"$DA" --info part.elf > i.txt
like "$(cat i.txt)" "  partial pages:  1 \(only partly stored; the rest reads as zero\)" "the text says so"
is "$("$DA" -q --json part.elf | python3 -c 'import json,sys; x=json.load(sys.stdin)["dumps"][0]; print(x["pages"], x["absent_pages"], x["nonzero_pages"])')" \
	"2 2 2" "the analysis counts the same frames (the half frame reads as its 2048 bytes and zeros)"
# the same frame with p_memsz ending where the data ends: partial too
printf 'bytes 0 6144 seq:1\n' > part2.spec
"$MK/mkelf" part2.spec part2.elf || exit 1
"$DA" --info --json part2.elf > i2.json
is "$(j i2.json 'd[0]["pages"], d[0]["absent_pages"], d[0]["partial_pages"]')" "(2, 0, 1)" "p_memsz = p_filesz, ending mid-frame: 1 partial"

# trailing blanks
printf 'note CORE x\nnote VMCOREINFO PAGESIZE=4096\nram 0 2 seq:1\nabsent 2 2\n' > notes.spec
"$MK/mkelf" notes.spec notes.elf || exit 1
"$DA" --info notes.elf > n.txt
is "$(grep -c ' $' n.txt)" 0 "no line of --info ends in a blank"
is "$(sed -n 's/^  notes: *//p' n.txt)" "CORE VMCOREINFO" "notes: the names, one blank between"
is "$(grep 'pages  absent' n.txt)" "    0x000000002000-0x000000003fff          2 pages  absent" "an absent run ends with its state"

# LiME: 3 records, two of them adjacent, give 2 runs of frames
[ -x "$MK/mklime" ] || bail "$MK/mklime not built"
printf 'ram 0 4 seq:1\nram 4 4 seq:10\nram 0x100 2 seq:20\n' > l.spec
"$MK/mklime" l.spec l.lime || exit 1
"$DA" --info l.lime > l.txt
is "$(grep -c '^  ranges: ' l.txt)" 0 "LiME: no 'ranges:' detail above the ranges list"
is "$(sed -n 's/^  range headers: *//p' l.txt)" 3 "LiME's records are its range headers: 3"
like "$(cat l.txt)" "  ranges \(2\):" "the runs of frames: 2"
"$DA" --info --json l.lime > l.json
is "$(j l.json 'd[0]["details"].get("range headers"), len(d[0]["ranges"])')" "('3', 2)" "the same in JSON"

done_testing
