#!/bin/sh
# Damaged kdump-compressed and flattened dumps: cut at every structure,
# impossible header values, bitmaps that do not match the descriptors,
# descriptors pointing past the end, unknown flags, pages that do not
# decompress to exactly one block (with every codec), broken flattened
# records.  Every one must exit 1 with "dedup-analyze: FILE: what (at offset N)".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkkdump" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cp "$TOP/tests/formats/kdump/base.spec" base.spec # 14 frames, see its comment
"$MK/mkkdump" base.spec k --map k.map
{ cat base.spec; echo "bits 32"; } > s.spec
"$MK/mkkdump" s.spec k32 --map k32.map
{ cat base.spec; echo flat; } > s.spec
"$MK/mkkdump" s.spec f --map f.map
M=k.map F=f.map
desc() { field $M desc.$1; }

# bad_read FILE DESCRIPTION REGEX @OFFSET: the headers are fine (--info
# works) but reading the pages fails with exit 1 and the usual message
bad_read() {
	_f=$1 _desc=$2 _re=$3
	"$DA" --info "$_f" > /dev/null 2>&1
	_rci=$?
	timeout 30 "$DA" --json "$_f" > /dev/null 2> "$TMPD/r.err"
	_rc=$?
	_msg=$(grep -v 'warning:' "$TMPD/r.err" | head -1)
	if [ $_rci -ne 0 ]; then _res="--info failed (exit $_rci)"
	elif [ $_rc -ne 1 ]; then _res="exit $_rc (want 1): $_msg"
	else
		_res=$(refusal "$_f" "$_msg" "$_re" ${4:-})
		_res=${_res:-ok}
	fi
	is "$_res" ok "damaged page data: $_desc"
}

# Every case below asserts the whole message and its offset; the numbers in
# them come from the builder's field maps (k.map, f.map), the spec and the
# files themselves.
nfr=$(awk '$1 == "ram" || $1 == "absent" { e = $2 + $3; if (e > m) m = e } END { print m }' base.spec) # frames (max_mapnr)
hdr=$(field $M hdr 3) bm1=$(field $M bitmap1) bm2=$(field $M bitmap2) bmsz=$(field $M bitmap1 3)
dt=$(field $M desc) ndesc=$(( $(field $M desc 3) / 24 ))
size=$(wc -c < k)
dend() { echo $(( $(field $M data.$1) + $(field $M data.$1 3) )); } # end of page data I

# ---- cut short at each structure ----
truncated k 100 "inside the main header" \
	"=truncated: kdump main header: $hdr bytes at kdump offset 0 are missing: the file ends at byte 100" @100
truncated k32 300 "inside a 32-bit main header" \
	"=truncated: kdump main header: $hdr bytes at kdump offset 0 are missing: the file ends at byte 300" @300
# 104: the sub header fields a version 6 header has (64-bit)
cut=$(( $(field $M sub) + 40 ))
truncated k $cut "inside the sub header" \
	"=truncated: kdump sub header: 104 bytes at kdump offset $(field $M sub) are missing: the file ends at byte $cut" @$cut
for cut in $((bm1 + 100)) $((bm2 + 4000)); do
	truncated k $cut "inside the bitmaps" \
		"=truncated: kdump bitmaps: $((2 * bmsz)) bytes at kdump offset $bm1 are missing: the file ends at byte $cut" @$cut
done
cut=$((dt + 30))
truncated k $cut "inside the descriptor table" \
	"=truncated: kdump page descriptors: $ndesc descriptors at offset $dt end at $((dt + 24 * ndesc)), past the end of the file ($cut bytes)" @$cut
cut=$(( $(field $M data.9) + 100 ))
truncated k $cut "inside the last page's data" \
	"=truncated: kdump page descriptor 9: page data at offset $(field $M data.9)..$(dend 9) lies past the end of the file ($cut bytes)" @$(field $M desc.9)
r4=$(field $F flat.rec.4)
truncated f $((r4 + 100)) "flattened: inside a record" \
	"=truncated: flattened record at offset $r4: $(peek f $((r4 + 8)) 8 be) bytes of data, only 84 in the file" @$((r4 + 100))
truncated f $((r4 + 8)) "flattened: inside a record header" "=truncated: flattened record header: 8 bytes left, 16 needed" @$r4
# cut before record 6: the first descriptor whose page data ends past what
# records 0-5 hold is refused, at the place that descriptor has in the file
cut=$(field $F flat.rec.6) held=$(flat_end f 6)
i=$(awk -v h="$held" '$1 ~ /^data\./ && $2 + $3 > h { sub("data.", "", $1); print $1; exit }' $M)
truncated f $cut "flattened: between records, no end marker" \
	"=truncated: kdump page descriptor $i: page data at offset $(field $M data.$i)..$(dend $i) lies past the end of the file ($held bytes)" \
	@$(flat_pos f $(field $M desc.$i))
truncated f 2000 "flattened: inside its header block" "=truncated: flattened header: the file has 2000 bytes, the header block needs 4096" @2000

# ---- impossible header values ----
# (offset 8: the header version, right after the 8-byte signature)
v=$(variant k bs); poke "$v" $(field $M hdr.block_size) 3000 4
damaged "$v" "block size 3000" "=corrupt: kdump main header: no 32- or 64-bit layout gives a plausible header version, block size (a power of two), sub-header size and bitmap size" @8
v=$(variant k bmb); poke "$v" $(field $M hdr.bitmap_blocks) 1 4
damaged "$v" "one bitmap block for two bitmaps" \
	"=corrupt: kdump bitmaps: 1 bitmap block(s) of 4096 bytes cannot hold two bitmaps of $nfr frames" @$(field $M hdr.bitmap_blocks)
v=$(variant k mapnr); poke "$v" $(field $M sub.max_mapnr) 0x10000000 8
damaged "$v" "max_mapnr beyond the bitmaps" \
	"=corrupt: kdump bitmaps: $((2 * bmsz / 4096)) bitmap block(s) of 4096 bytes cannot hold two bitmaps of $((0x10000000)) frames" @$(field $M hdr.bitmap_blocks)
# max_mapnr 0 in the sub header: an empty dump, read so, with a warning
v=$(variant k mapnr0); poke "$v" $(field $M sub.max_mapnr) 0 8
is "$("$DA" -q --csv "$v" 2>&1)" "dedup-analyze: $v: warning: kdump headers disagree: max_mapnr is $nfr in the main header, 0 in the sub header (read with 0 frames)
path,format,pages,absent_pages,zero_pages,nonzero_pages,distinct_pages,intra_pages,inter_pages,min_ram_bytes
$v,kdump,0,0,0,0,0,0,,0
TOTAL,,0,0,0,0,0,0,0,0" "max_mapnr 0 in the sub header only: 0 frames, and the headers disagree"
v=$(variant k sig); pokestr "$v" 0 "KDUMPXXX"
damaged "$v" "signature" "=unknown dump format (first bytes $(head -c 4 "$v" | od -An -tx1 | sed 's/^ //')); a raw memory image needs --format=raw" @0

# ---- bitmaps that do not match the descriptors ----
# one frame more in the 2nd bitmap: one descriptor more, so the table ends
# 24 bytes later, over the first page data (the shared zero page, frame 2)
v=$(variant k bm2); poke "$v" $bm2 0xDF 1
damaged "$v" "2nd bitmap with a bit too many" \
	"=corrupt: kdump page descriptor 2: page data at offset $(field $M zero) lies inside the headers, bitmaps or descriptor table (which end at $((dt + 24 * (ndesc + 1)))): the bitmaps do not match the descriptors" @$(field $M desc.2)
# frames 8-15 all dumped: frames 11 and 12 more (14 and 15 are past max_mapnr)
v=$(variant k bm1); poke "$v" $((bm1 + 1)) 0xFF 1; poke "$v" $((bm2 + 1)) 0xFF 1
damaged "$v" "both bitmaps with more frames" \
	"=corrupt: kdump page descriptor 2: page data at offset $(field $M zero) lies inside the headers, bitmaps or descriptor table (which end at $((dt + 24 * (ndesc + 2)))): the bitmaps do not match the descriptors" @$(field $M desc.2)

# ---- descriptors ----
sz9=$(field $M data.9 3)
v=$(variant k past); poke "$v" $(desc 9) 0x7fffffff 8
damaged "$v" "descriptor pointing past the end" \
	"=truncated: kdump page descriptor 9: page data at offset $((0x7fffffff))..$((0x7fffffff + sz9)) lies past the end of the file ($size bytes)" @$(desc 9)
v=$(variant k ovf); poke "$v" $(desc 9) 0xffffffffffffff00 8
damaged "$v" "descriptor offset + size overflows" "=corrupt: kdump page descriptor 9: offset 18446744073709551360 + size $sz9 overflows" @$(desc 9)
v=$(variant k flags); poke "$v" $(( $(desc 0) + 12 )) 0x41 4
damaged "$v" "unknown page flags" "=corrupt: kdump page descriptor 0: unknown flags 0x41" @$(( $(desc 0) + 12 ))
v=$(variant k flags2); poke "$v" $(( $(desc 1) + 12 )) 0x3 4
damaged "$v" "two compression flags" "=corrupt: kdump page descriptor 1: several compression flags (0x3)" @$(( $(desc 1) + 12 ))
v=$(variant k rawsz); poke "$v" $(( $(desc 5) + 8 )) 4000 4
damaged "$v" "uncompressed page of the wrong size" "=corrupt: kdump page descriptor 5: uncompressed page of 4000 bytes, the block size is 4096" @$(( $(desc 5) + 8 ))
for csz in 0 9000; do
	v=$(variant k csz$csz); poke "$v" $(( $(desc 0) + 8 )) $csz 4
	damaged "$v" "compressed size $csz" "=corrupt: kdump page descriptor 0: compressed size $csz is 0 or more than twice the block size 4096" @$(( $(desc 0) + 8 ))
done

# ---- pages that do not decompress to exactly one block ----
# garbage: what each library says about bytes that are not its format
for codec in zlib lzo snappy zstd; do
	for kind in short long garbage; do
		{ cat base.spec; echo "codec $codec"; echo "badpage 3 $kind"; } > s.spec
		"$MK/mkkdump" s.spec "p-$codec-$kind"
		case $codec-$kind in
		*-short) why="too short" ;; *-long) why="too long" ;;
		zlib-*) why="incorrect header check" ;; lzo-*) why="corrupt" ;;
		snappy-*) why="corrupt length" ;; zstd-*) why="Unknown frame descriptor" ;;
		esac
		bad_read "p-$codec-$kind" "$codec page that decodes $kind" \
			"=corrupt: kdump page descriptor 3: $codec page does not decompress to exactly one block ($why)" @$(desc 3)
		# zlib's inflate instead of libdeflate: the same refusal
		[ "$codec" = zlib ] && damaged_data "p-$codec-$kind" "$codec page that decodes $kind, --zlib-pages=zlib" \
			"=corrupt: kdump page descriptor 3: $codec page does not decompress to exactly one block ($why)" @$(desc 3) \
			--zlib-pages=zlib
	done
done

# ---- flattened records ----
r3=$(field $F flat.rec.3)
v=$(variant f neg); poke "$v" $r3 -5 8 be
damaged "$v" "flattened record with a negative offset" \
	"=corrupt: flattened record: offset -5, size $(peek f $((r3 + 8)) 8 be) (offset must be >= 0, size > 0)" @$r3
v=$(variant f zero); poke "$v" $((r3 + 8)) 0 8 be
damaged "$v" "flattened record of size 0" "=corrupt: flattened record: offset $(peek f $r3 8 be), size 0 (offset must be >= 0, size > 0)" @$r3
v=$(variant f type); poke "$v" 16 2 8 be
damaged "$v" "flattened header type 2" "=flattened header: type 2, only 1 is known" @16
v=$(variant f vers); poke "$v" 24 7 8 be
damaged "$v" "flattened header version 7" "=flattened header: version 7, only 1 is known" @24
# record 7 moved away: the first page data that starts in it is missing
# (found at the end marker, where the search for it ends)
r7=$(field $F flat.rec.7) fend=$(field $F flat.end)
k7=$(peek f $r7 8 be)
i=$(awk -v k="$k7" '$1 ~ /^data\./ && $2 >= k { sub("data.", "", $1); print $1; exit }' $M)
v=$(variant f moved); poke "$v" $r7 0x100000 8 be
damaged "$v" "a record moved away: data in no record" \
	"=corrupt: kdump page data: kdump bytes $(field $M data.$i)..$(dend $i) are in no record of the flattened file (its end marker)" @$fend
v=$(variant f far); poke "$v" $r3 0x7ffffffffffff000 8 be
damaged "$v" "a record moved far away: the bitmap is in no record" \
	"=corrupt: kdump 2nd bitmap: kdump bytes $bm2..$((bm2 + (nfr + 7) / 8)) are in no record of the flattened file (its end marker)" @$fend
# header sizes that claim 1 TiB of bitmaps, and a record far out so that the
# flattened dump's logical size holds them: refused before any allocation
v=$(variant f huge-bitmap)
hdr0=$(( $(field $F flat.rec.0) + 16 )) sub=$(( $(field $F flat.rec.1) + 16 ))
poke "$v" $(( hdr0 + $(field $M hdr.bitmap_blocks) )) 0x20000000 4
poke "$v" $(( sub + $(field $M sub.max_mapnr) - $(field $M sub) )) 0x40000000000 8
poke "$v" $r7 0x40000000000 8 be
damaged "$v" "bitmaps of 1 TiB claimed, records far apart" \
	"=corrupt: kdump 1st bitmap: kdump bytes $(flat_end f 7)..$((bm1 + 0x40000000000 / 8)) are in no record of the flattened file (its end marker)" @$fend

is "$NDAMAGED" 34 "every damaged kdump file was checked"
done_testing
