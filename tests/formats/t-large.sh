#!/bin/sh
# Dumps of more than 4 GiB, in every format with 32-bit size or offset
# fields somewhere: ELF32 (p_offset, p_filesz), kdump v1 with the 32-bit
# header layout (i686: 32-bit longs, 32-bit max_mapnr), Windows PAGEDUMP
# (32-bit run list and page count) and LiME.  The builders write sparse
# files (zero pages are holes) and keep zero pages out of memory, so each
# costs little disk, memory and time.  Each file has non-zero pages at file
# offsets above 4 GiB, where an offset cut to 32 bits would read the file's
# first bytes instead.  Checked against the builders' expectation of the
# model (--expect): pages, absent, zero and non-zero pages, distinct
# contents, intra-VM duplicates and every range, not just the exit status.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
for b in mkelf mkkdump mkwin mklime; do
	[ -x "$MK/$b" ] || bail "fixture builder $b not built (make tests-build)"
done
cd "$TMPD" || exit 1

# large SPEC BUILDER DUMP WHAT: build DUMP from SPEC, check that it is larger
# than 4 GiB, sparse, with non-zero bytes past 4 GiB, and that the analysis
# gives the model's numbers
large() {
	"$MK/$2" "$1" "$3" --expect "$3.exp" || bail "$2 $1 failed"
	_size=$(stat -c %s "$3")
	# the file system keeps holes (else the test would write gigabytes)
	[ "$(du -k "$3" | cut -f1)" -lt 65536 ] ||
		skip_all "$TMPD does not keep sparse files ($(du -h "$3" | cut -f1) on disk for $3)"
	ok "$([ "$_size" -gt 4294967296 ]; echo $?)" "$4: the file is larger than 4 GiB ($_size bytes, $(du -k "$3" | cut -f1) KiB on disk)"
	is "$(past4g "$3")" yes "$4: non-zero bytes past 4 GiB in the file"
	check_expect "$3" "$3.exp" "$4: $(grep -v '^range\|^partial' "$3.exp" | tr '\n' ' ')and $(grep -c '^range' "$3.exp") ranges"
}
# past4g FILE: "yes" when a byte at a file offset of 4 GiB or more is not
# zero (the holes are skipped with SEEK_DATA where the file system can)
past4g() {
	python3 - "$1" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
end, at, found = os.fstat(fd).st_size, 1 << 32, False
while at < end and not found:
    try:
        at = os.lseek(fd, at, os.SEEK_DATA)
    except OSError:
        break
    try:
        hole = os.lseek(fd, at, os.SEEK_HOLE)
    except OSError:
        hole = end
    while at < hole and not found:
        b = os.pread(fd, min(hole - at, 1 << 20), at)
        found = b.count(0) != len(b)
        at += len(b)
print("yes" if found else "no")
EOF
}

# ELF32: 2 pages, then a PT_LOAD of 0x20000 pages (512 MiB) stored from
# file offset 0xF0000000, across 4 GiB: its last page (pattern 4) lies at
# file offset 0x10FFFF000.
cat > e.spec <<'EOF'
class 32
ram 0 2 seq:1
ram 0x80000 0x20000 ids:3,0*131070,4 offset=0xF0000000
EOF
large e.spec mkelf e.elf "ELF32, a segment across 4 GiB"

# The same model for PAGEDUMP and LiME: 2 pages, a 4 GiB run (patterns 5
# and 6 at its ends), 3 pages above 12 GiB, which lie past 4 GiB in the file.
cat > big.spec <<'EOF'
ram 0 2 seq:1
ram 0x100 0x100000 ids:5,0*1048574,6
ram 0x300000 3 ids:7,0,1
EOF
{ echo "bits 32"; cat big.spec; } > w.spec
large w.spec mkwin w.dmp "Windows PAGEDUMP full dump"
like "$(info_line w.dmp variant)" "PAGEDUMP" "PAGEDUMP: the 32-bit layout"
large big.spec mklime l.lime "LiME"

# kdump v1, 32-bit i686 layout, every page stored uncompressed (zero pages
# too, no shared zero page): 1, 2, 2^20 zero pages, 3, 0, 1; the last three
# lie past 4 GiB in the file.
cat > k.spec <<'EOF'
bits 32
version 1
codec raw
nozeropage
ram 0 1048581 ids:1,2,0*1048576,3,0,1
EOF
large k.spec mkkdump k.kdump "kdump v1 32-bit"
like "$(info_line k.kdump variant)" "kdump-compressed v1, 32-bit little-endian" "kdump: v1, the 32-bit layout"
done_testing
