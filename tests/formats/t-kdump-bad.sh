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

cat > base.spec <<'EOF'
pages 1,2,0,1,-,x,3,u4,0,5,5,-,-,6
EOF
"$MK/mkkdump" base.spec k --map k.map
{ cat base.spec; echo "bits 32"; } > s.spec
"$MK/mkkdump" s.spec k32 --map k32.map
{ cat base.spec; echo flat; } > s.spec
"$MK/mkkdump" s.spec f --map f.map
M=k.map F=f.map
desc() { field $M desc.$1; }

# bad_read FILE DESCRIPTION REGEX: the headers are fine (--info works) but
# reading the pages fails with exit 1 and the usual message
bad_read() {
	_f=$1 _desc=$2 _re=$3
	"$DA" --info "$_f" > /dev/null 2>&1
	_rci=$?
	timeout 30 "$DA" --json "$_f" > /dev/null 2> "$TMPD/r.err"
	_rc=$?
	_msg=$(grep -v 'warning:' "$TMPD/r.err" | head -1)
	_res=ok
	if [ $_rci -ne 0 ]; then _res="--info failed (exit $_rci)"
	elif [ $_rc -ne 1 ]; then _res="exit $_rc (want 1): $_msg"
	else
		case "$_msg" in
		"dedup-analyze: $_f: "*" (at offset "[0-9]*")") printf '%s' "$_msg" | grep -Eq -- "$_re" ||
			_res="message does not match /$_re/: $_msg" ;;
		*) _res="message not in the form 'dedup-analyze: FILE: what (at offset N)': $_msg" ;;
		esac
	fi
	is "$_res" ok "damaged page data: $_desc"
}

# ---- cut short at each structure ----
truncated k 100 "inside the main header" "kdump main header: 464 bytes at kdump offset 0 are missing: the file ends at byte 100"
truncated k32 300 "inside a 32-bit main header" "kdump main header: .*missing.*ends at byte 300"
truncated k $(( $(field $M sub) + 40 )) "inside the sub header" "kdump sub header: .*missing"
truncated k $(( $(field $M bitmap1) + 100 )) "inside the 1st bitmap" "kdump bitmaps: .*missing"
truncated k $(( $(field $M bitmap2) + 4000 )) "inside the 2nd bitmap" "kdump bitmaps: .*missing"
truncated k $(( $(desc 0) + 30 )) "inside the descriptor table" "kdump page descriptors: 10 descriptors at offset 16384 end at 16624, past the end of the file"
truncated k $(( $(field $M data.9) + 100 )) "inside the last page's data" "kdump page descriptor 9: page data at offset 27108\.\.27490 lies past the end of the file"
truncated f $(( $(field $F flat.rec.4) + 100 )) "flattened: inside a record" "flattened record at offset [0-9]+: [0-9]+ bytes of data, only 84 in the file"
truncated f $(( $(field $F flat.rec.4) + 8 )) "flattened: inside a record header" "flattened record header: 8 bytes left, 16 needed"
truncated f $(field $F flat.rec.6) "flattened: between records, no end marker" "kdump page descriptor 5: page data at offset .* lies past the end of the file"
truncated f 2000 "flattened: inside its header block" "flattened header: the file has 2000 bytes, the header block needs 4096"

# ---- impossible header values ----
v=$(variant k bs); poke "$v" $(field $M hdr.block_size) 3000 4
damaged "$v" "block size 3000" "kdump main header: no 32- or 64-bit layout gives a plausible"
v=$(variant k bmb); poke "$v" $(field $M hdr.bitmap_blocks) 1 4
damaged "$v" "one bitmap block for two bitmaps" "kdump bitmaps: 1 bitmap block.* cannot hold two bitmaps of 14 frames"
v=$(variant k mapnr); poke "$v" $(field $M sub.max_mapnr) 0x10000000 8
damaged "$v" "max_mapnr beyond the bitmaps" "kdump bitmaps: .*cannot hold two bitmaps of 268435456 frames"
v=$(variant k mapnr0); poke "$v" $(field $M sub.max_mapnr) 0 8
damaged "$v" "max_mapnr 0" "kdump sub header: max_mapnr is 0"
v=$(variant k sig); pokestr "$v" 0 "KDUMPXXX"
damaged "$v" "signature" "unknown dump format|signature"

# ---- bitmaps that do not match the descriptors ----
v=$(variant k bm2); poke "$v" $(field $M bitmap2) 0xDF 1
damaged "$v" "2nd bitmap with a bit too many" "page data at offset [0-9]+ lies inside the headers, bitmaps or descriptor table .*bitmaps do not match"
v=$(variant k bm1); poke "$v" $(( $(field $M bitmap1) + 1 )) 0xFF 1; poke "$v" $(( $(field $M bitmap2) + 1 )) 0xFF 1
damaged "$v" "both bitmaps with more frames" "page data at offset [0-9]+ lies inside the headers, bitmaps or descriptor table"

# ---- descriptors ----
v=$(variant k past); poke "$v" $(desc 9) 0x7fffffff 8
damaged "$v" "descriptor pointing past the end" "kdump page descriptor 9: page data at offset 2147483647\.\.[0-9]+ lies past the end of the file"
v=$(variant k ovf); poke "$v" $(desc 9) 0xffffffffffffff00 8
damaged "$v" "descriptor offset + size overflows" "kdump page descriptor 9: offset [0-9]+ \+ size [0-9]+ overflows"
v=$(variant k flags); poke "$v" $(( $(desc 0) + 12 )) 0x41 4
damaged "$v" "unknown page flags" "kdump page descriptor 0: unknown flags 0x41"
v=$(variant k flags2); poke "$v" $(( $(desc 1) + 12 )) 0x3 4
damaged "$v" "two compression flags" "kdump page descriptor 1: several compression flags \(0x3\)"
v=$(variant k rawsz); poke "$v" $(( $(desc 5) + 8 )) 4000 4
damaged "$v" "uncompressed page of the wrong size" "kdump page descriptor 5: uncompressed page of 4000 bytes, the block size is 4096"
v=$(variant k csz0); poke "$v" $(( $(desc 0) + 8 )) 0 4
damaged "$v" "compressed size 0" "kdump page descriptor 0: compressed size 0 is 0 or more than twice"
v=$(variant k cbig); poke "$v" $(( $(desc 0) + 8 )) 9000 4
damaged "$v" "compressed size above two blocks" "kdump page descriptor 0: compressed size 9000"

# ---- pages that do not decompress to exactly one block ----
for codec in zlib lzo snappy zstd; do
	for kind in short long garbage; do
		{ cat base.spec; echo "codec $codec"; echo "badpage 3 $kind"; } > s.spec
		"$MK/mkkdump" s.spec "p-$codec-$kind"
		case $kind in
		short) re="too short" ;; long) re="too long" ;; *) re="" ;;
		esac
		bad_read "p-$codec-$kind" "$codec page that decodes $kind" \
			"kdump page descriptor 3: $codec page does not decompress to exactly one block \($re"
	done
done

# ---- flattened records ----
v=$(variant f neg); poke "$v" $(field $F flat.rec.3) -5 8 be
damaged "$v" "flattened record with a negative offset" "flattened record: offset -5, size [0-9]+ \(offset must be >= 0, size > 0\)"
v=$(variant f zero); poke "$v" $(( $(field $F flat.rec.3) + 8 )) 0 8 be
damaged "$v" "flattened record of size 0" "flattened record: offset [0-9]+, size 0"
v=$(variant f type); poke "$v" 16 2 8 be
damaged "$v" "flattened header type 2" "flattened header: type 2, only 1 is known"
v=$(variant f vers); poke "$v" 24 7 8 be
damaged "$v" "flattened header version 7" "flattened header: version 7, only 1 is known"
v=$(variant f moved); poke "$v" $(field $F flat.rec.7) 0x100000 8 be
damaged "$v" "a record moved away: data in no record" "kdump page data: kdump bytes [0-9]+\.\.[0-9]+ are in no record of the flattened file"
v=$(variant f far); poke "$v" $(field $F flat.rec.3) 0x7ffffffffffff000 8 be
damaged "$v" "a record moved far away: the bitmap is in no record" "kdump 2nd bitmap: kdump bytes 12288\.\.[0-9]+ are in no record of the flattened file"
# header sizes that claim 1 TiB of bitmaps, and a record far out so that the
# flattened dump's logical size holds them: refused before any allocation
v=$(variant f huge-bitmap)
hdr=$(( $(field $F flat.rec.0) + 16 )) sub=$(( $(field $F flat.rec.1) + 16 ))
poke "$v" $(( hdr + $(field $M hdr.bitmap_blocks) )) 0x20000000 4
poke "$v" $(( sub + $(field $M sub.max_mapnr) - $(field $M sub) )) 0x40000000000 8
poke "$v" $(field $F flat.rec.7) 0x40000000000 8 be
damaged "$v" "bitmaps of 1 TiB claimed, records far apart" "kdump 1st bitmap: kdump bytes [0-9]+\.\.[0-9]+ are in no record of the flattened file"

is "$NDAMAGED" 32 "every damaged kdump file was checked"
done_testing
