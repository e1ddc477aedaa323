#!/bin/sh
# End to end, guest RAM and device memory: a paused tiny guest with 128 MiB
# of RAM and a standard VGA card with 8 MiB of video RAM, dumped by QEMU
# (dump-guest-memory ELF, QMP migrate to a file).  The sizes are known
# without our reader: RAM from -m, video RAM from vgamem_mb, the BIOS from
# the size of QEMU's bios-256k.bin, and the ELF program headers are read
# independently (Python).  Checks: --info and the report count guest RAM
# and device memory apart with exactly these sizes, and --ram-only removes
# exactly the device pages from every count.
. "$(dirname "$0")/../lib.sh"
need python3
need qemu-system-x86_64
DA=$BIN/dedup-analyze
RUN=$TMPD/run
GC="$TOP/scripts/guestctl"
VRAM_MB=8
MEM_MB=128
bios=""
for d in $(qemu-system-x86_64 -L help 2>/dev/null); do
	[ -f "$d/bios-256k.bin" ] && { bios="$d/bios-256k.bin"; break; }
done
[ -n "$bios" ] || skip_all "QEMU's bios-256k.bin not found in its data folders"
bios_pages=$(( $(wc -c < "$bios") / 4096 ))
vram_pages=$(( VRAM_MB * 256 ))
ram_pages=$(( MEM_MB * 256 ))
echo "# known sizes: RAM $ram_pages pages, video RAM $vram_pages pages, BIOS $bios_pages pages ($bios)"
at_exit "\"$GC\" stop e2e-devmem --dir=$RUN"

"$GC" start e2e-devmem --dir="$RUN" --mem=$MEM_MB --ml-mb=8 --seed=3 --vga="VGA,vgamem_mb=$VRAM_MB" || exit 1
"$GC" wait e2e-devmem --dir="$RUN" --timeout=240
ok $? "guest with a VGA card: memload filled its buffer"
"$GC" qmp e2e-devmem stop --dir="$RUN" > /dev/null
ok $? "guest paused"
cd "$TMPD" || exit 1
"$GC" dump e2e-devmem "$TMPD/g.elf" --dir="$RUN"
ok $? "dump-guest-memory elf"
"$GC" qmp e2e-devmem migrate "{\"uri\": \"exec:cat > $TMPD/g.qevm\"}" --dir="$RUN" > /dev/null
ok $? "QMP migrate to a file"
"$GC" stop e2e-devmem --dir="$RUN"

# the ELF program headers, read here: the video RAM BAR and the BIOS below 4 GiB
loads=$(python3 - g.elf <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack_from("<Q", d, 0x20)
es, n = struct.unpack_from("<HH", d, 0x36)
for i in range(n):
    t, _, off, _, pa, fs, ms = struct.unpack_from("<IIQQQQQ", d, phoff + i * es)
    if t == 1:
        print("%x %d" % (pa, fs // 4096))
EOF
)
echo "$loads" | sed 's/^/# PT_LOAD /'
is "$(echo "$loads" | awk -v v=$vram_pages '$2 == v' | wc -l | tr -d ' ')" 1 "ELF: one PT_LOAD of the video RAM's size"
is "$(echo "$loads" | awk -v b=$bios_pages '$2 == b { print $1 }')" "$(printf '%x' $(( 0x100000000 - bios_pages * 4096 )))" \
	"ELF: the BIOS ends at 4 GiB"
elf_ram=$(echo "$loads" | awk -v v=$vram_pages -v b=$bios_pages '$2 != v && $2 != b { s += $2 } END { print s }')
is "$elf_ram" $(( ram_pages - 32 )) "ELF: the other PT_LOADs are the RAM without the VGA window (128 KiB)"

# --info
info=$("$DA" --info g.elf 2>&1)
like "$info" "guest RAM: +$elf_ram pages" "ELF --info: guest RAM"
like "$info" "device memory: +$(( vram_pages + bios_pages )) pages" "ELF --info: device memory = video RAM + BIOS"
like "$info" "memory kinds: +x86 PC memory map" "ELF --info: says how the kinds were told apart"
like "$info" "0x0000fffc0000-0x0000ffffffff +$bios_pages pages +data +device" "ELF --info: the BIOS range is device memory"
info=$("$DA" --info g.qevm 2>&1)
like "$info" "guest RAM: +$ram_pages pages" "migration stream --info: guest RAM = pc.ram"
like "$info" "ram block: +[0-9a-f:.]*/?vga.vram: $vram_pages pages .*device memory" "migration stream --info: vga.vram is device memory"
like "$info" "ram block: +pc.bios: $bios_pages pages .*device memory" "migration stream --info: pc.bios is device memory"
like "$info" "ram block: +pc.ram: $ram_pages pages .*guest RAM" "migration stream --info: pc.ram is guest RAM"
json=$("$DA" --info --json g.qevm 2>&1)
like "$json" "\"ram_pages\": $ram_pages, \"device_pages\": [0-9]+" "migration stream --info --json: ram_pages"

# the report: default counts device memory (apart), --ram-only leaves it out
col() { # col JSON-TEXT ROW FIELD: a count of dump ROW (from 1) in the JSON report
	echo "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["dumps"][int(sys.argv[1]) - 1][sys.argv[2]])' "$2" "$3"
}
for f in g.elf g.qevm; do
	all=$("$DA" -q --json $f 2>/dev/null)
	ro=$("$DA" -q --json --ram-only $f 2>/dev/null)
	dev=$(col "$all" 1 device_pages)
	dz=$(col "$all" 1 device_zero_pages)
	if [ $f = g.elf ]; then want=$(( vram_pages + bios_pages )); ram=$elf_ram; else want=""; ram=$ram_pages; fi
	[ -n "$want" ] && is "$dev" "$want" "$f: device_pages = video RAM + BIOS"
	is "$(( $(col "$all" 1 pages) - dev ))" "$ram" "$f: pages - device_pages = guest RAM"
	is "$(col "$all" 1 ram_pages)" "$ram" "$f: ram_pages = guest RAM"
	is "$(col "$ro" 1 pages)" "$ram" "$f --ram-only: pages = guest RAM"
	is "$(col "$ro" 1 left_out_pages)" "$dev" "$f --ram-only: left_out_pages = the device pages"
	is "$(col "$ro" 1 device_pages)" 0 "$f --ram-only: no device page counted"
	is "$(col "$ro" 1 zero_pages)" "$(( $(col "$all" 1 zero_pages) - dz ))" "$f --ram-only: zero pages less the device's zero pages"
	is "$(col "$ro" 1 nonzero_pages)" "$(( $(col "$all" 1 nonzero_pages) - (dev - dz) ))" \
		"$f --ram-only: non-zero pages less the device's non-zero pages"
	ok $([ "$dz" -gt $(( vram_pages * 9 / 10 )) ] && echo 0 || echo 1) "$f: the video RAM is mostly zero ($dz device pages zero)"
done
qdev=$(col "$("$DA" -q --json g.qevm 2>/dev/null)" 1 device_pages)
ok $([ "$qdev" -gt $(( vram_pages + bios_pages )) ] && echo 0 || echo 1) \
	"migration stream: device pages ($qdev) = video RAM + BIOS + option ROMs and firmware blobs"
both=$("$DA" -q g.elf g.qevm 2>/dev/null)
like "$both" "device memory +[0-9.]+ +$(( vram_pages + bios_pages + qdev )) " "text report: Table I names the device memory"
like "$both" "g\.elf +$(awk -v p=$elf_ram 'BEGIN { printf "%.1f", p / 256 }') +$(awk -v p=$(( vram_pages + bios_pages )) 'BEGIN { printf "%.1f", p / 256 }') " \
	"text report: guest RAM and device MiB per dump"
like "$("$DA" -q --ram-only g.elf g.qevm 2>/dev/null)" "left out +[0-9.]+ +$(( vram_pages + bios_pages + qdev )) " \
	"text report --ram-only: the pages left out"
like "$("$DA" -q --json --ram-only g.elf 2>/dev/null)" "\"ram_only\": true" "JSON says --ram-only"
done_testing
