#!/bin/sh
# Dumps of more than 4 GiB, in every format with 32-bit size or offset
# fields somewhere: ELF32 (p_offset, p_filesz), kdump v1 with the 32-bit
# header layout (i686: 32-bit longs, 32-bit max_mapnr), Windows PAGEDUMP
# (32-bit run list and page count) and LiME.  The files are sparse (zero
# pages are holes), so they cost little disk and time; each has data pages
# at file offsets above 4 GiB, where an offset cut to 32 bits would read the
# file's first bytes instead.  Checked: pages, absent, zero and non-zero
# pages, distinct contents and every range, against numbers known by
# construction (written below), not just the exit status.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
for b in mkelf mkkdump mkwin mklime; do
	[ -x "$MK/$b" ] || bail "fixture builder $b not built (make tests-build)"
done
cd "$TMPD" || exit 1

# sparse_ok FILE: the file system keeps holes (else the test would write
# gigabytes, and says so)
sparse_ok() {
	[ "$(du -k "$1" | cut -f1)" -lt 65536 ] ||
		skip_all "$TMPD does not keep sparse files ($(du -h "$1" | cut -f1) on disk for $1)"
}

# large DUMP "PAGES ABSENT ZERO NONZERO DISTINCT" "START:PAGES ..." WHAT
large() {
	_size=$(stat -c %s "$1")
	ok "$([ "$_size" -gt 4294967296 ]; echo $?)" "$4: the file is larger than 4 GiB ($_size bytes)"
	"$DA" -q --json "$1" > "$1.json" 2> "$1.err"
	_rc=$?
	"$DA" --info --json "$1" > "$1.info" 2>> "$1.err"
	_rc2=$?
	is "$_rc/$_rc2" 0/0 "$4: read without error$(head -2 "$1.err" | tr '\n' ' ')"
	is "$(json "$1.json" '" ".join(str(d["dumps"][0][k]) for k in ("pages", "absent_pages", "zero_pages", "nonzero_pages", "distinct_pages"))')" \
		"$2" "$4: pages, absent, zero, non-zero, distinct"
	is "$(json "$1.info" '" ".join("%x:%d" % (r["start"], r["pages"]) for r in d[0]["ranges"])')" "$3" "$4: ranges"
}
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ELF32: 2 pages, then a PT_LOAD of 131072 pages (512 MiB) stored from file
# offset 0xF0000000: it crosses 4 GiB; its last page (pattern 4) is at
# 0x10FFFF000.  Contents {1,2} {3, 131070 zero, 4}: 4 distinct.
cat > e.spec <<'EOF'
class 32
ram 0 2 seq:1
ram 0x80000 0x20000 ids:3,0*131070,4 offset=0xF0000000
EOF
"$MK/mkelf" e.spec e.elf || bail "mkelf failed"
sparse_ok e.elf
large e.elf "131074 0 131070 4 4" "0:2 80000000:131072" "ELF32, a segment across 4 GiB"

# The same model for PAGEDUMP and LiME: 2 pages, a 4 GiB run (patterns 5
# and 6 at its ends), 3 pages above 12 GiB that lie past 4 GiB in the file:
# 1048581 pages, 1048575 zero, non-zero {1,2,5,6,7,1}: 5 distinct.
cat > big.spec <<'EOF'
ram 0 2 seq:1
ram 0x100 0x100000 ids:5,0*1048574,6
ram 0x300000 3 ids:7,0,1
EOF
want="1048581 0 1048575 6 5"
ranges="0:2 100000:1048576 300000000:3"
{ echo "bits 32"; cat big.spec; } > w.spec
"$MK/mkwin" w.spec w.dmp || bail "mkwin failed"
like "$(info_line w.dmp variant)" "PAGEDUMP" "PAGEDUMP: the 32-bit layout"
large w.dmp "$want" "$ranges" "Windows PAGEDUMP full dump"
"$MK/mklime" big.spec l.lime || bail "mklime failed"
large l.lime "$want" "$ranges" "LiME"

# kdump v1, 32-bit i686 layout, pages stored uncompressed (zero pages too,
# no shared zero page): 1, 2, 1048576 zero, 3, 0, 1 — the last three past
# 4 GiB.  1048581 pages, 1048577 zero, non-zero {1,2,3,1}: 3 distinct.
printf 'bits 32\nversion 1\ncodec raw\nnozeropage\npages 1,2,0*1048576,3,0,1\n' > k.spec
"$MK/mkkdump" k.spec k.kdump || bail "mkkdump failed"
like "$(info_line k.kdump variant)" "kdump-compressed v1, 32-bit little-endian" "kdump: v1, the 32-bit layout"
large k.kdump "1048581 0 1048577 4 3" "0:1048581" "kdump v1 32-bit"
done_testing
