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
vt() { _v=$(vm "$1"); truncate -s "$2" "$_v"; damaged "$_v" "$3 (cut at $2)" "$4"; }

vt cut-hdr 6 "inside the header" "truncated|file ends"
vt cut-gtab 100 "inside the group table" "group table.*file ends"
vt cut-memtags $(( $(field $M memory.group) + 20 )) "inside the memory group's tags" "file ends"
vt cut-regionsize $(( $(field $M 'val.regionSize[2]') + 2 )) "inside a region value" "file ends"
v=$(vm ng0); poke "$v" $(field $M hdr.ngroups) 0 4; damaged "$v" "group count 0" "group count 0"
v=$(vm ngbig); poke "$v" $(field $M hdr.ngroups) 5000 4; damaged "$v" "group count 5000" "group count 5000"
v=$(vm ngpast); poke "$v" $(field $M hdr.ngroups) 1000 4; damaged "$v" "group table past the end" "group table.*file ends"
v=$(vm noname); pokestr "$v" $(field $M group.memory.name) "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; damaged "$v" "group name without NUL" "not terminated"
v=$(vm nomem); pokestr "$v" $(field $M group.memory.name) "memorx"; damaged "$v" "no memory group" "no \"memory\" group"
v=$(vm memoff-past); poke "$v" $(field $M group.memory.offset) $((size + 100)) 8; damaged "$v" "memory group past the end" "past the end of the file"
v=$(vm memoff-zero); poke "$v" $(field $M group.memory.offset) 4 8; damaged "$v" "memory group inside the table" "inside the group table"
v=$(vm memsize-small); poke "$v" $(field $M group.memory.size) 20 8; damaged "$v" "memory group size too small" "past the end of the \"memory\" group"
v=$(vm cnt65); poke "$v" $(field $M val.regionsCount) 65 4; damaged "$v" "regionsCount 65" "regionsCount 65 exceeds 64"
v=$(vm cnt4); poke "$v" $(field $M val.regionsCount) 4 4; damaged "$v" "regionsCount larger than the regions" "region 3 lacks regionPPN"
v=$(vm cnt2); poke "$v" $(field $M val.regionsCount) 2 4; damaged "$v" "regionsCount smaller than the regions" "region 2 is described but regionsCount is 2"
v=$(vm size0); poke "$v" $(field $M 'val.regionSize[1]') 0 4; damaged "$v" "empty region" "region 1 .* is empty or overflows"
v=$(vm ppn-overlap); poke "$v" $(field $M 'val.regionPPN[1]') 4 4; damaged "$v" "regions overlap in guest frames" "overlap in guest frames"
v=$(vm img-overlap); poke "$v" $(field $M 'val.regionPageNum[1]') 2 4; damaged "$v" "regions overlap in image pages" "overlap in image pages"
v=$(vm size-huge); poke "$v" $(field $M 'val.regionSize[2]') 0x7fffffff 4; damaged "$v" "region past the end of the .vmem" "region 2 needs image pages .* holds only 24 pages"
v=$(variant p8.vmss ppn-wrap.vmss); cp p8.vmem "${v%.vmss}.vmem"; poke "$v" $(field p8.map 'val.regionPPN[0]') 0xfffffffffffffff0 8; damaged "$v" "PPN + size overflows" "region 0 .* is empty or overflows"
v=$(vm name0); poke "$v" $(( $(field $M 'tag.regionSize[0]') + 1 )) 0 1; damaged "$v" "tag with an empty name" "empty name"
v=$(vm idx3); poke "$v" $(field $M 'tag.regionPPN[0]') $((0xc0 | 4)) 1; damaged "$v" "region tag with 3 indices" "3 indices, expected one"
v=$(vm vsize9); poke "$v" $(field $M 'tag.regionSize[0]') $((0x40 | 9)) 1; damaged "$v" "region value of 9 bytes" "9-byte value, not an integer"
v=$(vm idx64); poke "$v" $(( $(field $M 'tag.regionSize[2]') + 2 + 10 )) 64 4; damaged "$v" "region number 64" "region number beyond 64"
v=$(vm vmem-short); truncate -s $((16 * 4096)) "${v%.vmss}.vmem"; damaged "$v" ".vmem shorter than the regions" "region 2 needs image pages 16-21 but the memory file holds only 16 pages"
EM=emb.map
esize=$(wc -c < emb.vmss)
v=$(variant emb.vmss blk-past.vmss); poke "$v" $(field $EM block.Memory.nbytes) $((esize * 2)) 8; damaged "$v" "Memory block past the end" "block \"Memory\" .* (past the end|runs past)"
v=$(variant emb.vmss blk-pad.vmss); poke "$v" $(field $EM block.Memory.pad) 0xffff 2; damaged "$v" "Memory block pad length past the end" "block \"Memory\""
v=$(variant emb.vmss blk-wrap.vmss); poke "$v" $(field $EM block.Memory.nbytes) 0xfffffffffffffff0 8; damaged "$v" "Memory block size overflows" "overflows|past the end"
v=$(variant emb.vmss blk-compressed.vmss); poke "$v" $(field $EM tag.Memory) $((0x80 | 62)) 1; damaged "$v" "compressed Memory block" "compressed block.*not supported"
truncated emb.vmss $(( $(field $EM block.Memory.data) + 5000 )) "inside the embedded memory" "block \"Memory\".*past the end of the file"
v=$(variant emb.vmss blk-small.vmss); poke "$v" $(field $EM block.Memory.nbytes) 8192 8; damaged "$v" "Memory block shorter than the regions" "region 0 needs image pages 0-7 but the memory block holds only 2 pages|VMware (tag|block)"
echo "# $NDAMAGED damaged checkpoints"
[ "$NDAMAGED" -ge 20 ]; ok $? "at least 20 damaged variants ($NDAMAGED)"
done_testing
