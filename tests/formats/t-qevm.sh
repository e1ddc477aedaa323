#!/bin/sh
# QEMU migration streams and libvirt save images built from fixture specs (mkqevm):
# the RAM block list, page and zero-page records, the continue flag, PART
# sections, end of RAM; guest-physical mapping per machine type; pages sent
# twice (last copy wins) or never (zero); libvirt save images raw and
# compressed with gzip, bzip2, xz, lzop and zstd; whole-file compressed
# streams (virsh dump with dump_image_format).  Numbers known by construction.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkqevm" ] || bail "fixture builder not built (make tests-build)"
FR=$TB/tools/dp-frames
cd "$TMPD" || exit 1

counts_ok() { # NAME EXPECT DESCRIPTION [options]
	_n=$1 _e=$2 _desc=$3; shift 3
	_want=$(awk '$1 ~ /^(pages|absent|zero|nonzero|distinct|intra)$/ { v[$1] = $2 }
		END { print v["pages"] "," v["absent"] "," v["zero"] "," v["nonzero"] "," v["distinct"] "," v["intra"] }' "$_e")
	_got=$("$DA" -q --csv "$@" "$_n" 2>/dev/null | sed -n 2p | cut -d, -f3-8)
	is "$_got" "$_want" "$_desc"
}

# pc.ram 16 pages, pc.bios 2, one ACPI blob: ram 1,2,0,1,3 | bios 4,0 |
# blob 5 | ram page 5 = 6 | ram page 1 sent again as 7 (the last copy wins):
# ram = 1,7,0,1,3,6 + 10 never sent (zero); contents {1,7,3,6,4,5}: distinct 6
cat > q.spec <<'EOF'
block pc.ram 0x10000
block pc.bios 0x2000
block /rom@etc/acpi/tables 0x1000
ram 0 5 ids:1,2,0,1,3 in=pc.ram
part
ram 0 2 ids:4,0 in=pc.bios
ram 0 1 same:5 in=/rom@etc/acpi/tables
ram 5 1 same:6 in=pc.ram
part
ram 1 1 same:7 in=pc.ram
EOF
"$MK/mkqevm" q.spec q.qevm --expect q.exp
check_expect q.qevm q.exp "counts and guest-physical ranges (pc.ram at 0, pc.bios below 4 GiB)"
info=$("$DA" --info q.qevm 2>/dev/null)
like "$info" "format: +qemu-migration" "detected as qemu-migration"
like "$info" "variant: +QEMU migration stream v3, machine pc-i440fx-7.2, RAM section v4, 4096-byte pages" "--info: version, machine, RAM section version"
like "$info" "ram block: +pc.ram: 16 pages \(64 KiB\), guest-physical 0x0-0xffff; 5 sent as data, 1 as zero \(some more than once" "--info: per block"
like "$info" "ram block: +pc.bios: 2 pages \(8 KiB\), guest-physical 0xffffe000-0xffffffff" "--info: pc.bios mapped below 4 GiB"
like "$info" "ram block: +/rom@etc/acpi/tables: 1 pages \(4 KiB\), no guest-physical address: address space 1" "--info: a blob in a space of its own"
# guest RAM and device memory by block name: pc.ram is guest RAM; pc.bios
# (2 pages, 1 zero) and the ACPI blob (1 page) are device memory
like "$info" "ram block: +pc.ram: .*; guest RAM$" "--info: pc.ram is guest RAM"
like "$info" "ram block: +pc.bios: .*; device memory$" "--info: pc.bios is device memory"
like "$info" "ram block: +/rom@etc/acpi/tables: .*; device memory$" "--info: a firmware blob is device memory"
like "$info" "device memory: +3 pages" "--info: 3 pages of device memory"
is "$("$DA" -q --json q.qevm 2>/dev/null | python3 -c 'import json, sys; d = json.load(sys.stdin)["dumps"][0]; print(d["ram_pages"], d["device_pages"], d["device_zero_pages"])')" \
	"16 3 1" "report: guest RAM and device pages"
is "$("$DA" -q --json --ram-only q.qevm 2>/dev/null | python3 -c 'import json, sys; d = json.load(sys.stdin)["dumps"][0]; print(d["pages"], d["zero_pages"], d["left_out_pages"])')" \
	"16 11 3" "--ram-only: pc.ram alone (10 never sent + 1 zero page), 3 pages left out"
like "$info" "warning: 10 page\(s\) were never sent" "--info: pages never sent"
like "$info" "warning: 1 page record\(s\) re-send a page.*last copy" "--info: a page sent twice"
like "$info" "guest-physical: +i440fx: .*max-ram-below-4g is not recorded" "--info: the mapping rule and its assumption"

# frame identity: (space, frame)
"$FR" q.qevm > q.frames
sed -e 's/^ram 0 5 ids:1,2,0,1,3 in=pc.ram$/ram 0 5 ids:1,7,0,1,3 in=pc.ram/' -e '$d' q.spec > once.spec
"$MK/mkqevm" once.spec once.qevm
"$FR" once.qevm > once.frames
is "$(cmp q.frames once.frames && echo same)" same "a page sent twice reads as its last copy"
is "$(awk '$1 == 0' q.frames | wc -l | tr -d ' ')" 18 "18 guest-physical frames"
is "$(awk '$1 == 0 && $2 == 1048574 { print "bios" }' q.frames)" bios "pc.bios frame 0 is at 4 GiB - 8 KiB"
is "$(awk '$1 == 1 { print $2 }' q.frames)" 0 "the ACPI blob is frame 0 of space 1"

# without the page sent twice: the same from a pipe and from compressed files
sed '$d' q.spec > q1.spec
"$MK/mkqevm" q1.spec q1.qevm --expect q1.exp
want=$("$DA" -q --csv q1.qevm 2>/dev/null | tail -n 1)
counts_ok q1.qevm q1.exp "stream without repeats: counts"
is "$(cat q1.qevm | "$DA" -q --csv - 2>/dev/null | tail -n 1)" "$want" "read from a pipe"
for c in gzip bzip2 xz lzop zstd; do
	$c -c < q1.qevm > q1.qevm.$c
	is "$("$DA" -q --csv q1.qevm.$c 2>/dev/null | tail -n 1)" "$want" "whole file compressed with $c (virsh dump, dump_image_format)"
done
like "$("$DA" --info q1.qevm.xz 2>/dev/null)" "compression: +xz" "--info names the whole-file compression"
# streams are read once: a page sent twice cannot be undone there
cat q.qevm | "$DA" -q --csv - > /dev/null 2> rep.err
like "$?:$(cat rep.err)" "^1:dedup-analyze: -: page 0x1000 of RAM block 'pc.ram' is sent a second time.*regular uncompressed file.* \(at offset [0-9]+\)" \
	"a page sent twice in a pipe is refused with its offset"

# libvirt save images: raw and compressed payloads
for f in raw gzip bzip2 xz zstd; do
	{ cat q1.spec; echo "libvirt $f"; } > l.spec
	"$MK/mkqevm" l.spec "l.$f" --map "l.$f.map"
	is "$("$DA" -q --csv "l.$f" 2>/dev/null | tail -n 1)" "$want" "libvirt save image, $f payload"
done
is "$(cat l.gzip | "$DA" -q --csv - 2>/dev/null | tail -n 1)" "$want" "libvirt save image, gzip payload, from a pipe"
# lzop: libvirt pipes the stream through the lzop program
off=$(field l.raw.map lv.payload)
head -c "$off" l.raw > l.lzop
poke l.lzop 28 4 4
tail -c +$((off + 1)) l.raw | lzop -c >> l.lzop
is "$("$DA" -q --csv l.lzop 2>/dev/null | tail -n 1)" "$want" "libvirt save image, lzop payload"
info=$("$DA" --info l.xz 2>/dev/null)
like "$info" "variant: +libvirt save image v2 \(xz\), QEMU migration stream v3" "--info: libvirt wrapper and payload compression"
like "$info" "libvirt: +save image version 2, payload xz, domain fixture, was paused" "--info: libvirt details"
is "$(info_line l.raw format)" libvirt-save "detected as libvirt-save"
check_expect l.raw q1.exp "libvirt raw image: counts and ranges"

# machine types and the guest-physical mapping
cat > q35.spec <<'EOF'
machine pc-q35-7.2
block pc.ram 0xC0000000
block pc.bios 0x40000
ram 0 1 same:1 in=pc.ram
ram 0x80000 1 same:2 in=pc.ram
ram 0xbffff 1 same:3 in=pc.ram
EOF
"$MK/mkqevm" q35.spec q35.qevm --expect q35.exp
check_expect q35.qevm q35.exp "q35 with 3 GiB: 2 GiB below 4 GiB, 1 GiB above"
"$FR" q35.qevm | awk '$3 != "zero"' > q35.frames
is "$(awk '{ printf "%s:%s ", $1, $2 }' q35.frames)" "0:0 0:1048576 0:1310719 " "q35: frames of the pages above 2 GiB are above 4 GiB"
cat > i440.spec <<'EOF'
machine pc-i440fx-7.2
block pc.ram 0xF0000000
ram 0xc0000 1 same:1 in=pc.ram
EOF
"$MK/mkqevm" i440.spec i440.qevm --expect i440.exp
check_expect i440.qevm i440.exp "i440fx with 3.75 GiB: 3 GiB below 4 GiB"
cat > arm.spec <<'EOF'
machine virt-7.2
frame 4096
block mach-virt.ram 0x4000
ram 0 4 ids:1,2,0,1 in=mach-virt.ram
EOF
"$MK/mkqevm" arm.spec arm.qevm --expect arm.exp
counts_ok arm.qevm arm.exp "Arm virt (target-page-bits subsection)"
like "$("$DA" --info arm.qevm 2>/dev/null)" "0x000040000000-0x000040003fff +4 pages +data" "Arm virt: RAM at 1 GiB"
cat > unk.spec <<'EOF'
machine someboard-1.0
block board.ram 0x4000
ram 0 4 ids:1,2,0,1 in=board.ram
EOF
"$MK/mkqevm" unk.spec unk.qevm --expect unk.exp
counts_ok unk.qevm unk.exp "unknown machine: counts"
like "$("$DA" --info unk.qevm 2>/dev/null)" "warning: no guest-physical mapping is known for machine type 'someboard-1.0'" \
	"unknown machine: says the mapping is unknown"
{ echo "machine none"; sed 1d unk.spec; } > nocfg.spec
"$MK/mkqevm" nocfg.spec nocfg.qevm --expect nocfg.exp
counts_ok nocfg.qevm nocfg.exp "no configuration section (old machine types)"

# record variants: fill bytes, no footers, postcopy with a hugepage block, x-ignore-shared
cat > var.spec <<'EOF'
nofooter
caps x-ignore-shared
command 3 16
block pc.ram 0x8000 huge=0x200000
block pc.bios 0x1000
ram 0 1 fill:7 in=pc.ram
ram 1 1 fill:0 in=pc.ram
ram 2 3 ids:1,1,2 in=pc.ram
ram 0 1 fill:7 in=pc.bios
EOF
"$MK/mkqevm" var.spec var.qevm --expect var.exp
check_expect var.qevm var.exp "fill-byte records, no footers, postcopy hugepage size, x-ignore-shared"
like "$("$DA" --info var.qevm 2>/dev/null)" "capabilities: +x-ignore-shared" "--info lists the capabilities"

# frames smaller than the target page; any number of workers
is "$("$DA" -q --csv --page-size=1024 q1.qevm 2>/dev/null | sed -n 2p | cut -d, -f3)" 76 "--page-size=1024: 4 frames per page"
for j in 1 2 3; do
	is "$("$DA" -q --csv -j $j q.qevm q35.qevm l.raw 2>/dev/null)" "$("$DA" -q --csv -j 2 q.qevm q35.qevm l.raw 2>/dev/null)" \
	   "-j $j gives identical results"
done
done_testing
