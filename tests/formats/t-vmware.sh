#!/bin/sh
# VMware checkpoints (.vmss/.vmsn, memory in .vmem or embedded): every
# magic, regions, flat images, --vmem, and damaged files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkvmware" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > regions.spec <<'EOF'
ram 0 8 seq:1
ram 16 4 cycle:100:2
ram 0x100000 6 ids:1,2,0,0,5,5
gap 2
EOF
cat > flat.spec <<'EOF'
ram 0 3 seq:10
ram 3 2 zero
ram 5 3 same:7
flat 1
EOF

# every magic, memory in the .vmem and embedded, with regions
for magic in 0xBED2BED2 0xBED3BED3 0xBAD1BAD1 0xBAD2BAD2 0xBED2BED0 0xBED0BED0; do
	for mem in vmem embedded; do
		{ cat regions.spec; echo "magic $magic"; echo "memory $mem"; } > s.spec
		"$MK/mkvmware" s.spec "m-$magic-$mem.vmss" --expect "m-$magic-$mem.exp"
		check_expect "m-$magic-$mem.vmss" "m-$magic-$mem.exp" "magic $magic, memory $mem: counts and ranges"
	done
	v=$(info_line "m-$magic-vmem.vmss" variant)
	like "$v" "^VMware suspend state \(\.vmss\), magic $(echo "$magic" | sed 's/0x/0x/') " "magic $magic: variant names the magic"
done
like "$(info_line m-0xBED2BED0-embedded.vmss variant)" "version-0 checkpoint, 4-byte block sizes" "0xBED2BED0: 4-byte block sizes"
like "$(info_line m-0xBED0BED0-embedded.vmss variant)" "old 32-bit checkpoint" "0xBED0BED0: old 32-bit layout"
like "$(info_line m-0xBED3BED3-vmem.vmss variant)" "partial checkpoint" "0xBED3BED3: partial"
like "$(info_line m-0xBAD1BAD1-vmem.vmss variant)" "restored checkpoint" "0xBAD1BAD1: restored"
like "$(info_line m-0xBAD2BAD2-vmem.vmss variant)" "no-restore checkpoint" "0xBAD2BAD2: no-restore"
is "$(info_line m-0xBED2BED2-vmem.vmss regions)" 3 "--info lists 3 regions"
is "$("$DA" --info m-0xBED2BED2-vmem.vmss | grep -c '^  region: ')" 3 "--info lists each region"
like "$(info_line m-0xBED2BED2-vmem.vmss region)" "0: guest 0x0-0x7fff = image pages 0-7" "region 0 mapping"
like "$(info_line m-0xBED2BED2-vmem.vmss unmapped)" "^24576 bytes" "gap pages between regions are not read"
like "$(info_line m-0xBED2BED2-embedded.vmss 'memory file')" "embedded in the checkpoint" "embedded memory is found"

# format detection by content and --list-formats
is "$(info_line m-0xBED2BED2-vmem.vmss format)" vmware-vmss "detected as vmware-vmss"
"$DA" --list-formats | grep -q '^vmware-vmss .*VMware' ; ok $? "--list-formats lists vmware-vmss as readable"
"$DA" --list-formats | grep '^vmware-vmss' | grep -q 'not supported'; ok $((! $?)) "vmware-vmss is not recognise-only"

# flat images (no regions)
for mem in vmem embedded; do
	{ cat flat.spec; echo "memory $mem"; } > s.spec
	"$MK/mkvmware" s.spec "flat-$mem.vmss" --expect "flat-$mem.exp"
	check_expect "flat-$mem.vmss" "flat-$mem.exp" "flat image, memory $mem"
done
like "$(info_line flat-vmem.vmss regions)" "none: the image is flat" "--info: flat image"

# .vmsn snapshot, block padding, 8-byte PPN values
{ cat regions.spec; echo "pad 6"; echo "ppnsize 8"; } > s.spec
"$MK/mkvmware" s.spec snap-Snapshot1.vmsn --expect snap.exp
check_expect snap-Snapshot1.vmsn snap.exp ".vmsn with its .vmem, 8-byte PPNs"
like "$(info_line snap-Snapshot1.vmsn variant)" "^VMware snapshot \(\.vmsn\)" ".vmsn is a snapshot"
{ cat regions.spec; echo "pad 6"; echo "memory embedded"; } > s.spec
"$MK/mkvmware" s.spec pad.vmss --expect pad.exp
check_expect pad.vmss pad.exp "embedded memory after 6 pad bytes"

# --vmem: a memory file with another name, also compressed
"$MK/mkvmware" regions.spec other.vmss --expect other.exp
mv other.vmem elsewhere.bin
"$DA" --info other.vmss > /dev/null 2> err.txt
ok $((! $?)) "missing .vmem fails"
like "$(cat err.txt)" "^dedup-analyze: other\.vmss: .*other\.vmem: .*--vmem=FILE" "missing .vmem: message names it and --vmem"
check_expect other.vmss other.exp "--vmem=FILE" --vmem=elsewhere.bin
gzip -c elsewhere.bin > elsewhere.bin.gz
check_expect other.vmss other.exp "--vmem=FILE.gz (read as a stream)" --vmem=elsewhere.bin.gz
like "$(info_line other.vmss 'memory file' --vmem=elsewhere.bin.gz)" "elsewhere.bin.gz \(compressed\)" "--info names the compressed memory file"
cp other.vmss noext.state
"$DA" --info noext.state > /dev/null 2> err.txt
like "$(cat err.txt)" "--vmem=FILE" "no .vmss name and no --vmem: asks for --vmem"
check_expect noext.state other.exp "any name with --vmem" --vmem=elsewhere.bin

# the raw .vmem alone: the raw back end reads every image page
"$MK/mkvmware" regions.spec raw.vmss
is "$(info_line raw.vmem format)" raw ".vmem alone is read as raw"
is "$(info_line raw.vmem 'present pages' | cut -d' ' -f1)" 24 ".vmem alone: all 24 image pages (regions and gaps)"

# ---- damaged checkpoints ----
"$MK/mkvmware" regions.spec base.vmss --map base.map
"$MK/mkvmware" regions.spec emb.vmss --map emb.map
{ cat regions.spec; echo "memory embedded"; } > s.spec
"$MK/mkvmware" s.spec emb.vmss --map emb.map
{ cat regions.spec; echo "ppnsize 8"; } > s.spec
"$MK/mkvmware" s.spec p8.vmss --map p8.map
M=base.map
size=$(wc -c < base.vmss)
# variants of base.vmss need its .vmem beside them
vm() { _v=$(variant base.vmss "$1.vmss"); cp base.vmem "${_v%.vmss}.vmem"; echo "$_v"; }
vt() { _v=$(vm "$1"); truncate -s "$2" "$_v"; damaged "$_v" "$3 (cut at $2)" "$4" ${5:-}; }

vt cut-hdr 6 "inside the header" "=truncated: VMware checkpoint header: file ends at byte 6 but 12 bytes are needed from offset 0" @0
vt cut-gtab 100 "inside the group table" "=truncated: VMware group table: file ends at byte 100 but 80 bytes are needed from offset 92" @92
vt cut-memtags $(( $(field $M memory.group) + 20 )) "inside the memory group's tags" "=truncated: VMware tag name: file ends at byte 653 but 12 bytes are needed from offset 651" @651
vt cut-regionsize $(( $(field $M 'val.regionSize[2]') + 2 )) "inside a region value" "=truncated: VMware tag value: file ends at byte 851 but 4 bytes are needed from offset 849" @849
v=$(vm ng0); poke "$v" $(field $M hdr.ngroups) 0 4; damaged "$v" "group count 0" "=corrupt: VMware checkpoint group count 0 is not 1..1024" @$POKED
v=$(vm ngbig); poke "$v" $(field $M hdr.ngroups) 5000 4; damaged "$v" "group count 5000" "=corrupt: VMware checkpoint group count 5000 is not 1..1024" @$POKED
v=$(vm ngpast); poke "$v" $(field $M hdr.ngroups) 1000 4; damaged "$v" "group table past the end" "=corrupt: VMware group 4: name is not terminated" @332
v=$(vm noname); pokestr "$v" $(field $M group.memory.name) "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; damaged "$v" "group name without NUL" "=corrupt: VMware group 2: name is not terminated" @172
v=$(vm nomem); pokestr "$v" $(field $M group.memory.name) "memorx"; damaged "$v" "no memory group" "=corrupt: VMware checkpoint has no \"memory\" group (3 groups)" @12
v=$(vm memoff-past); poke "$v" $(field $M group.memory.offset) $((size + 100)) 8; damaged "$v" "memory group past the end" "=truncated: VMware \"memory\" group at offset 971 lies past the end of the file (871 bytes)" @$POKED
v=$(vm memoff-zero); poke "$v" $(field $M group.memory.offset) 4 8; damaged "$v" "memory group inside the table" "=corrupt: VMware \"memory\" group at offset 4 lies inside the group table" @$POKED
v=$(vm memsize-small); poke "$v" $(field $M group.memory.size) 20 8; damaged "$v" "memory group size too small" "=corrupt: VMware tag name runs past the end of the \"memory\" group (which ends at byte 653)" @651
v=$(vm cnt65); poke "$v" $(field $M val.regionsCount) 65 4; damaged "$v" "regionsCount 65" "=corrupt: VMware regionsCount 65 exceeds 64" @649
v=$(vm cnt4); poke "$v" $(field $M val.regionsCount) 4 4; damaged "$v" "regionsCount larger than the regions" "=corrupt: VMware region 3 lacks regionPPN (regionsCount is 4)" @649
v=$(vm cnt2); poke "$v" $(field $M val.regionsCount) 2 4; damaged "$v" "regionsCount smaller than the regions" "=corrupt: VMware region 2 is described but regionsCount is 2" @833
v=$(vm size0); poke "$v" $(field $M 'val.regionSize[1]') 0 4; damaged "$v" "empty region" "=corrupt: VMware region 1 (PPN 0x10, page 10, 0 pages) is empty or overflows" @771
v=$(vm ppn-overlap); poke "$v" $(field $M 'val.regionPPN[1]') 4 4; damaged "$v" "regions overlap in guest frames" "=corrupt: VMware memory regions overlap in guest frames (0x0+8 and 0x4+4 pages)" @771
v=$(vm img-overlap); poke "$v" $(field $M 'val.regionPageNum[1]') 2 4; damaged "$v" "regions overlap in image pages" "=corrupt: VMware memory regions overlap in image pages (0x0+8 and 0x2+4 pages)" @771
v=$(vm size-huge); poke "$v" $(field $M 'val.regionSize[2]') 0x7fffffff 4; damaged "$v" "region past the end of the .vmem" "=truncated: VMware region 2 needs image pages 16-2147483662 but the memory file holds only 24 pages (98304 bytes)" @98304
v=$(variant p8.vmss ppn-wrap.vmss); cp p8.vmem "${v%.vmss}.vmem"; poke "$v" $(field p8.map 'val.regionPPN[0]') 0xfffffffffffffff0 8; damaged "$v" "PPN + size overflows" "=corrupt: VMware region 0 (PPN 0xfffffffffffffff0, page 0, 8 pages) is empty or overflows" @713
v=$(vm name0); poke "$v" $(( $(field $M 'tag.regionSize[0]') + 1 )) 0 1; damaged "$v" "tag with an empty name" "=corrupt: VMware tag with flags 0x44 has an empty name" @709
v=$(vm idx3); poke "$v" $(field $M 'tag.regionPPN[0]') $((0xc0 | 4)) 1; damaged "$v" "region tag with 3 indices" "=corrupt: VMware tag regionPPN has 3 indices, expected one (the region number)" @$POKED
v=$(vm vsize9); poke "$v" $(field $M 'tag.regionSize[0]') $((0x40 | 9)) 1; damaged "$v" "region value of 9 bytes" "=corrupt: VMware tag \"regionSize\" has a 9-byte value, not an integer" @$POKED
v=$(vm idx64); poke "$v" $(( $(field $M 'tag.regionSize[2]') + 2 + 10 )) 64 4; damaged "$v" "region number 64" "=corrupt: VMware tag regionSize[64]: region number beyond 64" @833
v=$(vm vmem-short); truncate -s $((16 * 4096)) "${v%.vmss}.vmem"; damaged "$v" ".vmem shorter than the regions" "=truncated: VMware region 2 needs image pages 16-21 but the memory file holds only 16 pages (65536 bytes)" @65536
EM=emb.map
esize=$(wc -c < emb.vmss)
v=$(variant emb.vmss blk-past.vmss); poke "$v" $(field $EM block.Memory.nbytes) $((esize * 2)) 8; damaged "$v" "Memory block past the end" "=truncated: VMware block \"Memory\" (198418 bytes at offset 887) runs past the end of the file (99209 bytes; 100096 missing)" @853
v=$(variant emb.vmss blk-pad.vmss); poke "$v" $(field $EM block.Memory.pad) 0xffff 2; damaged "$v" "Memory block pad length past the end" "=truncated: VMware block \"Memory\" (98304 bytes at offset 66422) runs past the end of the file (99209 bytes; 65517 missing)" @853
v=$(variant emb.vmss blk-wrap.vmss); poke "$v" $(field $EM block.Memory.nbytes) 0xfffffffffffffff0 8; damaged "$v" "Memory block size overflows" "=corrupt: VMware block \"Memory\": size 18446744073709551600 overflows" @853
v=$(variant emb.vmss blk-compressed.vmss); poke "$v" $(field $EM tag.Memory) $((0x80 | 62)) 1; damaged "$v" "compressed Memory block" "=the embedded guest memory is a compressed block, which no known reader can decode: not supported" @$POKED
truncated emb.vmss $(( $(field $EM block.Memory.data) + 5000 )) "inside the embedded memory" "=truncated: VMware block \"Memory\" (98304 bytes at offset 887) runs past the end of the file (5887 bytes; 93304 missing)" @853
# the block cut to 2 pages: the reader takes the page bytes after them for
# tags, and one of them claims a block that runs past the end of the file
v=$(variant emb.vmss blk-small.vmss); poke "$v" $(field $EM block.Memory.nbytes) 8192 8
damaged "$v" "Memory block shorter than the regions" \
	"^dedup-analyze: $v: truncated: VMware block \"[^\"]*\" \([0-9]+ bytes at offset [0-9]+\) runs past the end of the file \($esize bytes; [0-9]+ missing\) \(at offset [0-9]+\)\$"
echo "# $NDAMAGED damaged checkpoints"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
