#!/bin/sh
# ELF cores built from specs (tests/formats/elf/*.spec): numbers known by
# construction, for every output form, compressed and piped input, and any
# number of workers.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/formats/common.sh"
MK=$TB/formats/mkelf
E=$TOP/tests/formats/elf
for s in a b c d e f g; do "$MK" "$E/$s.spec" "$TMPD/$s.elf" --expect "$TMPD/$s.exp" || exit 1; done
cd "$TMPD" || exit 1

# every count and range against the builder's model (e: 16 KiB pages, below)
for s in a b c d f g; do
	check_expect "$s.elf" "$s.exp" "$s: counts and ranges of the model"
done

# csv FILE... -> the CSV output without its header
csv() { "$DA" -q --csv "$@" | tail -n +2; }

# a: 6 pages: 1,1,2,0,0,3 -> zero 2, non-zero 4, distinct 3, intra 1
is "$(csv a.elf)" "a.elf,elf,6,0,2,4,3,1,,12288
TOTAL,,6,0,2,4,3,1,0,12288" "a: counts of a 64-bit little-endian core"

# b (ELF32 big-endian): 1,4,4,0 -> zero 1, non-zero 3, distinct 2, intra 1
is "$(csv b.elf)" "b.elf,elf,4,0,1,3,2,1,,8192
TOTAL,,4,0,1,3,2,1,0,8192" "b: counts of a 32-bit big-endian core"

# a+b: contents {1,2,3,4}: D = 4; sum D_v = 5 -> inter 1; intra 2; 7 = 4 + 2 + 1
is "$(csv a.elf b.elf | tail -n 1)" "TOTAL,,10,0,3,7,4,2,1,16384" "a+b: inter-VM sharing of the shared pattern"

# c: frames 0,1 (5,6); 2,3 (8,9; frame 1 of the 2nd range repeats and is
# dropped); 0x10 (5) with 2 absent frames; nothing at 0x20000; 0x30 half of
# pattern 6 (a content of its own); 0x40,0x41 reuse the bytes of frames 0,1.
# present 8, absent 2, distinct {5,6,8,9,half-6} = 5, intra 3
is "$(csv c.elf)" "c.elf,elf,8,2,0,8,5,3,,20480
TOTAL,,8,2,0,8,5,3,0,20480" "c: repeated ranges counted once, absent tail not zero, partial frame"
info=$("$DA" --info c.elf)
like "$info" "absent pages: +2" "c: --info counts absent pages"
like "$info" "partial pages: +1" "c: --info counts the partly stored frame"
like "$info" "skipped: +1 PT_LOAD with p_offset all ones" "c: --info reports the skipped header"
like "$info" "0x000000010000-0x000000010fff +1 pages +data" "c: --info lists the data range"
like "$info" "0x000000011000-0x000000012fff +2 pages +absent" "c: --info lists the absent range"

is "$(csv d.elf)" "d.elf,elf,3,0,0,3,3,0,,12288
TOTAL,,3,0,0,3,3,0,0,12288" "d: program headers at 192 with PN_XNUM"

# e: VMCOREINFO says 16 KiB pages: 3 pages, 2 distinct
is "$(csv e.elf)" "e.elf,elf,3,0,0,3,2,1,,32768
TOTAL,,3,0,0,3,2,1,0,32768" "e: page size from VMCOREINFO"
like "$("$DA" -q --json e.elf)" '"page_size": 16384' "e: JSON reports the page size"
is "$(csv --page-size=4096 e.elf | tail -n 1)" "TOTAL,,12,0,0,12,2,10,0,8192" "e: --page-size=4096 overrides it"

# f: kernel text repeats frames 0x100,0x101 of the RAM range (counted once);
# System RAM 0x1000-0x3bff: frames 1, 2 and a partial frame 3 (3072 bytes of
# a zero page: all zero); RAM at 0x100000: 11,12,13,0,13.
# present 3 + 5 = 8; zero: frame 3 and one at 0x103 = 2; non-zero 6:
# 1,1,11,12,13,13 -> distinct 4, intra 2
is "$(csv f.elf)" "f.elf,elf,8,0,2,6,4,2,,16384
TOTAL,,8,0,2,6,4,2,0,16384" "f: kdump-style core (kernel text overlap, partial end frame)"
like "$("$DA" --info f.elf)" "overlap: +8192 bytes described more than once" "f: --info reports the repeated kernel text"
like "$("$DA" --info f.elf)" "Linux kdump" "f: recognised as a kdump core"

# g: frames 0,1 stored, 2..4 absent (memsz tail), 5,6 absent (nothing
# stored), 7 (2) and 8 (zero) stored: present 4, absent 5, zero 1, distinct 2
is "$(csv g.elf 2>/dev/null)" "g.elf,elf,4,5,1,3,2,1,,8192
TOTAL,,4,5,1,3,2,1,0,8192" "g: makedumpfile -E layout: excluded pages are absent, not zero"
"$DA" -q --csv g.elf 2> err.txt > /dev/null
like "$(cat err.txt)" "^dedup-analyze: g.elf: warning: .*incomplete dump" "g: e_flags bit 0 gives a warning"

# the same core compressed, piped, and with any number of workers
gzip -c a.elf > a.elf.gz
zstd -q -c a.elf > a.elf.zst
want=$(csv a.elf b.elf | tail -n 1)
is "$(csv a.elf.gz b.elf | tail -n 1)" "$want" "gzip input gives the same numbers"
is "$(csv a.elf.zst b.elf | tail -n 1)" "$want" "zstd input gives the same numbers"
is "$(cat a.elf | "$DA" -q --csv - b.elf | tail -n 1)" "$want" "standard input gives the same numbers"
is "$(gzip -c c.elf | "$DA" -q --csv - | tail -n 1)" "TOTAL,,8,2,0,8,5,3,0,20480" \
   "c piped through gzip: partial frame and repeats read in stream order"
like "$("$DA" --info a.elf.gz)" "compression: +gzip" "--info names whole-file compression"
for j in 1 2 3 8; do
	is "$(csv -j "$j" a.elf b.elf c.elf d.elf)" "$(csv -j 2 a.elf b.elf c.elf d.elf)" "-j $j gives identical results"
done

# progress: on a terminal only
script -qfec "$DA -j 1 a.elf b.elf" /dev/null > tty.txt 2>&1
like "$(tr '\r' '\n' < tty.txt)" "\[2/2\] b\.elf: .* MiB/s .* pages/s +ETA" "progress line on a terminal"
"$DA" a.elf b.elf > /dev/null 2> notty.txt
is "$(cat notty.txt)" "" "no progress when stderr is not a terminal"

# JSON: the contract's names and values
j=$("$DA" -q --json a.elf b.elf)
is "$(printf '%s' "$j" | python3 -c '
import json, sys
d = json.load(sys.stdin)
t = d["total"]
print(d["page_size"], d["hash"], len(d["dumps"]), t["dumps"], t["pages"], t["absent_pages"], t["zero_pages"],
      t["nonzero_pages"], t["distinct_pages"], t["intra_pages"], t["inter_pages"], t["min_ram_bytes"],
      [(x["path"], x["format"], x["pages"], x["absent_pages"], x["zero_pages"], x["nonzero_pages"],
        x["distinct_pages"], x["intra_pages"]) for x in d["dumps"]])')" \
   "4096 sha1 2 2 10 0 3 7 4 2 1 16384 [('a.elf', 'elf', 6, 0, 2, 4, 3, 1), ('b.elf', 'elf', 4, 0, 1, 3, 2, 1)]" \
   "JSON object follows the contract"
is "$("$DA" -q --json --hash=xxh128 a.elf b.elf | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hash"], d["total"]["distinct_pages"], d["total"]["inter_pages"])')" \
   "xxh128 4 1" "--hash=xxh128 gives the same counts"

# text table: Table I lines
txt=$("$DA" -q a.elf b.elf)
like "$txt" "minimum RAM +0\.0 +4 " "text: minimum RAM in pages"
like "$txt" "inter-VM sharing +0\.0 +1 " "text: inter-VM sharing in pages"

# raw images: chosen by extension or --format=raw, never guessed
"$MK" - page.elf <<'EOF'
ram 0 4 ids:1,2,2,0
EOF
tail -c 16384 page.elf > img.raw
cp img.raw img.bin
is "$(csv --raw-base=0x100000 img.raw)" "img.raw,raw,4,0,1,3,2,1,,8192
TOTAL,,4,0,1,3,2,1,0,8192" "raw image by extension"
"$DA" -q --csv img.bin > /dev/null 2> err.txt
is "$?" 1 "raw image without a known extension is not guessed"
like "$(cat err.txt)" "unknown dump format .*--format=raw" "and the error says how to read it"
is "$(csv --format=raw img.bin | head -n 1)" "img.bin,raw,4,0,1,3,2,1,,8192" "--format=raw reads it"
like "$("$DA" --info --format=raw --raw-base=0x100000 img.bin)" "0x000000100000-0x000000103fff +4 pages" "--raw-base places the image"
head -c 10000 img.raw > part.raw
# 10000 bytes: patterns 1 and 2, then 1808 bytes of pattern 2 (a content of its own)
is "$(csv part.raw | head -n 1)" "part.raw,raw,3,0,0,3,3,0,,12288" "raw image with a partial last page"
is "$(gzip -c part.raw | "$DA" -q --csv --format=raw - | sed -n 2p)" "-,raw,3,0,0,3,3,0,,12288" "raw stream with a partial last page"
done_testing
