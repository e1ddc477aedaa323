#!/bin/sh
# sadump (Fujitsu stand-alone dump): single partition, media backup (by
# --format only: its first block has no magic), a disk set of one disk,
# header versions 0 (32-bit max_mapnr) and 1; RAM frames not stored are
# absent; libkdumpfile reads the same frames; disk sets of several disks
# and later media files are refused by name; damaged headers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mksadump" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > base.spec <<'EOF'
ram 0 8 seq:1
absent 8 4
ram 12 20 cycle:30:3
ram 40 2 zero
ram 100 3 ids:5,5,9
ram 40000 2 same:5
EOF
mk() { # mk NAME SPEC OPTION-LINES...
	_n=$1 _s=$2
	shift 2
	{ cat "$_s"; for l in "$@"; do echo "$l"; done; } > "$_n.spec"
	"$MK/mksadump" "$_n.spec" "$_n.sad" --expect "$_n.exp" --map "$_n.map"
}
mk single base.spec
mk v0 base.spec "version 0"
mk media base.spec "layout media"
mk set1 base.spec "layout diskset" "disks 1"
mk nosub base.spec "sub_blocks 0"
check_expect single.sad single.exp "single partition: counts and ranges"
check_expect v0.sad v0.exp "header version 0 (32-bit max_mapnr): counts and ranges"
check_expect media.sad media.exp "media backup file, --format=sadump: counts and ranges" --format=sadump
check_expect set1.sad set1.exp "disk set of one disk: counts and ranges"
check_expect nosub.sad nosub.exp "no sub header: counts and ranges"
is "$(info_line single.sad format)" sadump "detected by its partition header"
"$DA" --list-formats | grep '^sadump ' | grep -vq 'not supported'; ok $? "--list-formats lists sadump as readable"
like "$(info_line single.sad variant)" "^sadump single partition, header version 1, 4096-byte blocks$" "variant: single partition"
like "$(info_line media.sad variant --format=sadump)" "^sadump media backup, header version 1" "variant: media backup"
like "$(info_line set1.sad variant)" "^sadump disk set of one disk" "variant: disk set"
like "$(info_line single.sad 'max_mapnr')" "^40002 frames; 35 stored, 4 RAM frames not stored" "--info: stored and absent frames"
like "$(info_line single.sad 'dump time')" "^2026-12-02 10:15:00" "--info: the dump time"
like "$(info_line single.sad warning)" "^4 frame\(s\) of RAM are not in the file" "--info warns about the absent frames"
like "$("$DA" --info media.sad 2>&1)" "unknown dump format" "a media backup file is not detected without --format"
gzip -c single.sad > single.sad.gz
check_expect single.sad.gz single.exp "gzip-compressed (spooled): counts and ranges"

# libkdumpfile agrees on the page map and, for runs of one frame, on the
# bytes (0.5.1 reads the first block of a run for every frame of it)
cat > iso.spec <<'EOF'
ram 0 1 seq:1
ram 2 1 seq:2
absent 3 2
ram 6 1 zero
ram 9 1 same:7
ram 17 1 seq:40
ram 5000 1 seq:60
EOF
"$MK/mksadump" iso.spec iso.sad --expect iso.exp
check_expect iso.sad iso.exp "frames of their own: counts and ranges"
kdiff_ok "libkdumpfile reads the same frames and bytes" iso.sad

# refused by name
mk set3 base.spec "layout diskset" "disks 3"
damaged set3.sad "disk set of three disks" "=sadump disk set of 3 disks: a dump spread over several disks is not supported (only single-partition, media backup and one-disk sets are)" @$(( $(field set3.map disk_num) ))
mk disk2 base.spec "layout diskset" "disk 2"
damaged disk2.sad "disk 2 of a set" "=sadump disk set: this file is disk 2 of the set; the dump starts on disk 1" @152
mk seq2 base.spec "layout media" "seqnum 2"
damaged seq2.sad "second media file" "=sadump media backup file 2 of a set: the dump starts in file 1, open that one" @48 --format=sadump

# damaged
M=single.map
mk other base.spec "layout media" "media_id other"
damaged other.sad "media header of another dump" "=corrupt: sadump media header: its system and disk set UUIDs differ from the partition header's" @0 --format=sadump
mk brk base.spec "magic_break 5"
damaged brk.sad "check sequence broken" "=corrupt: sadump partition header: check sequence breaks at byte 188 (a block size, a power of two from 512, expected)" @188
v=$(variant single.sad sig); pokestr "$v" $(field $M hdr_sig) "NOTSADMP"
damaged "$v" "dump header signature" "=corrupt: sadump dump header: signature is not \"sadump\"" @$(field $M hdr_sig)
v=$(variant single.sad bs); poke "$v" $(field $M block_size) 8192 4
damaged "$v" "block size unlike the partition header's" "=corrupt: sadump dump header: block_size 8192, but the partition header's block is 4096 bytes" @$POKED
v=$(variant single.sad bm0); poke "$v" $(field $M bitmap_blocks) 0 4
damaged "$v" "bitmap_blocks 0" "=corrupt: sadump dump header: bitmap_blocks is 0" @$POKED
v=$(variant single.sad dbm0); poke "$v" $(field $M dumpable_bitmap_blocks) 0 4
damaged "$v" "dumpable_bitmap_blocks 0" "=corrupt: sadump dump header: dumpable_bitmap_blocks is 0" @$POKED
v=$(variant single.sad mapnr); poke "$v" $(field $M max_mapnr_64) 70000 8
damaged "$v" "max_mapnr past the bitmaps" "=corrupt: sadump dump header: max_mapnr 70000 is more than the bitmaps' 65536 frames" @$POKED
v=$(variant v0.sad mapnr0); poke "$v" $(field v0.map max_mapnr) 0x100000 4
damaged "$v" "32-bit max_mapnr past the bitmaps" "=corrupt: sadump dump header: max_mapnr 1048576 is more than the bitmaps' 65536 frames" @$POKED
v=$(variant single.sad used); poke "$v" $(field $M used_device) 30000 8
damaged "$v" "used_device smaller than the data" "=corrupt: sadump partition header: used_device 30000 bytes, but the 35 stored frames end at $(( $(field $M data) + 35 * 4096 ))" @$POKED
truncated single.sad $(( $(field $M data) + 5000 )) "inside the page data" "=truncated: memory at 0x0 is stored at file offset 28672..61440, past the end of the file (27768 bytes missing)" @$(( $(field $M data) + 5000 ))
truncated single.sad $(( $(field $M bitmap) + 100 )) "inside the memory bitmap" "=truncated: sadump memory bitmap: file ends at byte $(( $(field $M bitmap) + 100 )) but 8192 bytes are needed from offset $(field $M bitmap)" @$(field $M bitmap)
truncated single.sad 100 "inside the partition header" "=truncated: sadump: file of 100 bytes is shorter than a partition header" @0
done_testing
