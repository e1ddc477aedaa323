#!/bin/sh
# kdump-compressed dumps built from fixture specs (mkkdump, with the real zlib, lzo,
# snappy and zstd libraries): every codec, 32/64-bit and both byte orders,
# header versions 0-7, block sizes, the shared zero page, filtered and
# never-written pages, the flattened framing, split dumps, streams.  The
# numbers are known by construction; every file libkdumpfile can open is
# also compared page by page with it (tests/tools/kdiff).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkkdump" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cp "$TOP/tests/formats/kdump/base.spec" base.spec # 14 frames, see its comment
mk() { # NAME SPEC-LINES...: build NAME from base.spec plus lines
	_n=$1; shift
	{ cat base.spec; for _l in "$@"; do echo "$_l"; done; } > "$_n.spec"
	"$MK/mkkdump" "$_n.spec" "$_n" --expect "$_n.exp" --map "$_n.map"
}
# counts (CSV) against the builder's expectation; check_expect also compares
# ranges and --info, and is used for a representative subset (it is slower)
counts_ok() { # NAME EXPECT DESCRIPTION [options]
	_n=$1 _e=$2 _desc=$3; shift 3
	_want=$(awk '$1 ~ /^(pages|absent|zero|nonzero|distinct|intra)$/ { v[$1] = $2 }
		END { print v["pages"] "," v["absent"] "," v["zero"] "," v["nonzero"] "," v["distinct"] "," v["intra"] }' "$_e")
	_got=$("$DA" -q --csv "$@" "$_n" 2>/dev/null | sed -n 2p | cut -d, -f3-8)
	is "$_got" "$_want" "$_desc"
}

for codec in zlib lzo snappy zstd raw; do
	for bits in 64 32; do
		for endian in le be; do
			n=k-$codec-$bits-$endian
			mk "$n" "codec $codec" "bits $bits" "endian $endian"
			if [ "$bits-$endian" = 64-le ] || [ "$codec" = zlib ]; then
				check_expect "$n" "$n.exp" "$codec, $bits-bit $endian: counts and ranges"
			else
				counts_ok "$n" "$n.exp" "$codec, $bits-bit $endian: counts"
			fi
			kdiff_ok "$codec, $bits-bit $endian: same bytes as libkdumpfile" "$n"
		done
	done
done
like "$(info_line k-snappy-64-le 'pages stored')" "^0 zlib, 0 lzo, 7 snappy, 0 zstd, 1 uncompressed, 2 shared zero page" \
	"--info counts the pages per codec"
like "$(info_line k-zstd-32-be variant)" "^kdump-compressed v6, 32-bit big-endian ppc, zstd pages" "--info: variant names version, layout, codec"
is "$(info_line k-zlib-64-le format)" kdump "detected as kdump"
is "$(info_line k-zlib-64-le 'header version')" 6 "--info: header version"

# header versions: 0 has no sub header, 1 dump level, 2 split, 3 vmcoreinfo, 6 64-bit frame numbers
for v in 0 1 2 3 4 5 6; do
	mk v$v "version $v"
	counts_ok v$v v$v.exp "header version $v"
done
mk v7 "version 7"
counts_ok v7 v7.exp "header version 7 (newer than known) is read as 6"
like "$(info_line v7 warning)" "header version 7 is newer than 6" "version 7: warned"
kdiff_ok "version 1: same bytes as libkdumpfile" v1
kdiff_ok "version 4: same bytes as libkdumpfile" v4

# 32-bit sub header with 64-bit fields 8-aligned (ARM, MIPS makedumpfile)
mk pad "bits 32" "sub pad" "machine armv7l"
check_expect pad pad.exp "32-bit padded sub header (ARM)"
like "$(info_line pad 'header layout')" "padded sub header" "--info says which sub header layout"
mk pack "bits 32" "machine armv7l"
counts_ok pack pack.exp "32-bit packed sub header (i386, QEMU)"

# block sizes: frames are blocks; --page-size=4096 splits them
mk b16k "frame 16384"
check_expect b16k b16k.exp "16 KiB blocks"
kdiff_ok "16 KiB blocks: same bytes as libkdumpfile" b16k
mk b64k "frame 65536" "codec zstd"
check_expect b64k b64k.exp "64 KiB blocks (QEMU aarch64 style)"
is "$("$DA" -q --csv --page-size=4096 b64k 2>/dev/null | sed -n 2p)" "b64k,kdump,160,16,32,128,96,32,,393216" \
	"64 KiB blocks read as 4 KiB frames: 16 frames per block"
"$DA" -q --page-size=131072 b64k > /dev/null 2> big.err
is "$?:$(cat big.err)" "1:dedup-analyze: b64k: page size 131072 is larger than this dump's block size 65536: analyze with 65536 or less" \
	"frames larger than a block are refused"

# zero pages stored like any other page; descriptors never written (ENOSPC)
mk nz nozeropage
counts_ok nz nz.exp "no shared zero page: zero pages found by content"
# the last two descriptors never written
sed -e 's/^ram 8 3 ids:0,5,5$/ram 8 2 ids:0,5\nabsent 10 1 unwritten/' -e 's/^ram 13 1 same:6$/absent 13 1 unwritten/' base.spec > inc.spec
"$MK/mkkdump" inc.spec inc --expect inc.exp
check_expect inc inc.exp "incomplete dump: unwritten descriptors are absent"
like "$("$DA" --info inc 2>/dev/null)" "warning: incomplete dump \(header says so\): 2 page descriptor" "incomplete dump: warned"
kdiff_ok "incomplete dump: absent where libkdumpfile has no data" inc

# old diskdump: one bitmap (nothing filtered)
cat > dd.spec <<'EOF'
ram 0 4 ids:1,2,0,1
ram 5 1 same:3
ram 6 1 same:4 codec=raw
ram 7 3 ids:0,5,5
ram 12 1 same:6
diskdump
EOF
"$MK/mkkdump" dd.spec dd --expect dd.exp
counts_ok dd dd.exp "DISKDUMP signature, single bitmap"

# dump level: filtered frames are absent, never zero; the warning says so
mk l31 "level 31"
check_expect l31 l31.exp "dump level 31: filtered frame counted as absent"
like "$(info_line l31 'dump level')" "^31 \(filtered out: cache, cache-private, user, free; zero pages stored once and shared\)" \
	"--info: dump level and what it filtered"
like "$(info_line l31 warning)" "dump level 31 .*1 frame\(s\) of RAM are not in the file.*absent.*biased" \
	"--info: warns that the numbers are biased"
like "$("$DA" --json l31 2>/dev/null)" '"absent_pages": 1,' "JSON reports the absent page"
kdiff_ok "dump level 31: same bytes, absent where libkdumpfile has no data" l31

# the flattened framing: in order, shuffled with a rewritten header, piped, compressed
mk flat flat
check_expect flat flat.exp "flattened: counts and ranges"
is "$(info_line flat format)" kdump-flattened "detected as kdump-flattened"
like "$(info_line flat flattened)" "^format version 1, [0-9]+ record\(s\)$" "--info: flattened version and records"
mk flatsh flat shuffle "codec lzo"
counts_ok flatsh flatsh.exp "flattened, records out of order, a later record overwrites an earlier one"
want=$("$DA" -q --csv flat 2>/dev/null | tail -n 1)
is "$(cat flat | "$DA" -q --csv - 2>/dev/null | tail -n 1)" "$want" "flattened from a pipe"
gzip -c flat > flat.gz
is "$("$DA" -q --csv flat.gz 2>/dev/null | tail -n 1)" "$want" "flattened, gzip-compressed"
like "$(info_line flat.gz input)" "temporary copy" "--info: a stream is read through a temporary copy"
gzip -c k-zstd-64-le > kz.gz
is "$("$DA" -q --csv kz.gz 2>/dev/null | tail -n 1)" "$("$DA" -q --csv k-zstd-64-le 2>/dev/null | tail -n 1)" \
	"kdump-compressed, gzip-compressed"
is "$(cat k-lzo-32-be | "$DA" -q --csv - 2>/dev/null | tail -n 1)" "$("$DA" -q --csv k-lzo-32-be 2>/dev/null | tail -n 1)" \
	"kdump-compressed from a pipe"

# flattened as makedumpfile -F writes it: one record per structure, each
# exactly its size (the sub header record holds the version's fields and
# no byte more; a 32-bit main header record holds 0x1C4 bytes)
for l in "64" "32" "32 pad"; do
	n=fw$(echo "$l" | tr -d ' ')
	mk "$n" "flat writes" "bits ${l%% *}" "$(case $l in *pad) echo "sub pad" ;; esac)"
	check_expect "$n" "$n.exp" "flattened, records of exactly each structure ($l-bit): counts and ranges"
done
# main header, sub header, VMCOREINFO, 2 bitmaps, descriptors, zero page, 8 pages
like "$(info_line fw64 flattened)" "^format version 1, 15 record\(s\)$" "--info: one record per structure"

# empty dumps (max_mapnr 0): no frame at all, as libkdumpfile writes them
# (no sub-header or bitmap blocks, the file ends after the sub header) and
# as makedumpfile would (one sub-header block)
for a in "i686 32 le" "x86_64 64 le" "ppc64 64 be" "s390x 64 be"; do
	set -- $a
	for sb in 0 1; do
		printf 'mapnr 0\nmachine %s\nbits %s\nendian %s\nsubblocks %s\n' "$1" "$2" "$3" "$sb" > "e$sb-$1.spec"
		"$MK/mkkdump" "e$sb-$1.spec" "e$sb-$1" --expect "e$sb-$1.exp"
		check_expect "e$sb-$1" "e$sb-$1.exp" "empty dump, $1 layout, $sb sub-header block(s): 0 pages"
	done
	is "$(info_line e0-$1 'present pages'):$(info_line e0-$1 max_mapnr)" "0 (0.0 MiB):0 frames of 4096 bytes (an empty dump: no frame at all)" \
		"empty dump, $1: --info says so"
	kdiff_ok "empty dump, $1: libkdumpfile reads no frame either" "e0-$1"
done
is "$("$DA" -q --csv e0-i686 e1-s390x | sed -n '2,3p' | cut -d, -f2-8 | tr '\n' ' ')" "kdump,0,0,0,0,0,0 kdump,0,0,0,0,0,0 " \
	"empty dumps: every count 0"

# split dumps: one dump in three files
mk sp "split 3" "level 31"
check_expect sp.1 sp.exp "split dump: the first part reads all three"
like "$(info_line sp.1 'split part')" "^sp.1: frames 0..4, 4 descriptors" "--info lists the parts"
kdiff_ok "split dump: same bytes as libkdumpfile reading the three files" sp.1 sp.2 sp.3
check_expect sp.2 sp.exp "split dump: a later part given alone reads all three"
# every part given (dumps/*): read once, by the part with the lowest frames
"$DA" -q --csv sp.3 sp.1 sp.2 > all.csv 2> all.err
is "$?" 0 "split dump, every part given: exit 0"
is "$(grep -c '^sp\.' all.csv)" 1 "split dump, every part given: one row"
is "$(sed -n 2p all.csv | cut -d, -f1,3-)" "$("$DA" -q --csv sp.1 | sed -n 2p | cut -d, -f1,3-)" \
	"split dump, every part given: the numbers of the whole dump, once"
"$DA" --csv sp.3 sp.1 sp.2 2>&1 > /dev/null | sort > notes.txt
like "$(cat notes.txt)" "sp.2: part 4..9 of a split dump, read with .*sp.1" "split dump: a note for a part read with another"
is "$(grep -c 'read with' notes.txt)" 2 "split dump: a note for each of them"
# parts renamed and in other folders, given together
mkdir -p pa pb && cp sp.1 pa/first && cp sp.2 pb/second && cp sp.3 pb/third
is "$("$DA" -q --csv pb/third pa/first pb/second | tail -n 1)" "$("$DA" -q --csv sp.1 | tail -n 1)" \
	"split dump: parts in other folders given together"
mkdir lone && cp sp.1 sp.3 lone/
damaged lone/sp.1 "a part missing" "split dump: no part holds frames 4..9 .found 2 part"
NDAMAGED=0
# parts are matched on what identifies the dump, not on equal headers:
# timestamps that differ (each file stamped when written) are fine
mk st "split 3" "stampstep 1"
check_expect st.2 st.exp "split dump, parts stamped 1 us apart: one dump"
like "$(info_line st.1 'split part')" "^st.1: frames 0..4" "split dump, parts stamped apart: --info lists the parts"
# a split file of another dump beside it: named, with the field that differs
mkdir mix && cp st.1 st.3 mix/
{ cat base.spec; echo "split 3"; echo "machine aarch64"; } > other.spec
"$MK/mkkdump" other.spec mix/other && rm mix/other.1 mix/other.3
damaged mix/st.1 "a split file of another dump in place of a part" \
	"=split dump: no part holds frames 4..9 (found 2 part(s) beside this file or given with it; mix/other.2 is a split file of another dump: its utsname machine differs ('aarch64', this dump 'x86_64')); give every file of the dump" @4108
NDAMAGED=0

# any number of workers
for j in 1 2 3; do
	is "$("$DA" -q --csv -j $j k-zlib-64-le flat sp.1 b16k 2>/dev/null)" \
	   "$("$DA" -q --csv -j 2 k-zlib-64-le flat sp.1 b16k 2>/dev/null)" "-j $j gives identical results"
done

# zlib pages through zlib's inflate instead of libdeflate: the same report
for n in k-zlib-64-le k-zlib-32-be flat; do
	a=$("$DA" -q --json "$n" 2>&1 | grep -v '"seconds"')
	b=$("$DA" -q --json --zlib-pages=zlib "$n" 2>&1 | grep -v '"seconds"')
	like "$a" '"distinct_pages"' "$n: a JSON report"
	is "$b" "$a" "$n: --zlib-pages=zlib gives the same report as libdeflate"
done
"$DA" -q --zlib-pages=gzip k-zlib-64-le > /dev/null 2> zp.err
is "$?:$(head -1 zp.err)" "2:dedup-analyze: unknown zlib page decoder 'gzip' (libdeflate or zlib)" \
	"--zlib-pages with an unknown decoder: usage error"
done_testing
