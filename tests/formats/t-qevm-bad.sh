#!/bin/sh
# Damaged or unreadable QEMU migration streams and libvirt save images:
# cut at each structure and mid-record, records this reader refuses (XBZRLE,
# compressed pages, multifd, RDMA hooks), unknown flags and versions, blocks
# and offsets that do not exist, sections it cannot skip, mapped-ram,
# incomplete and inconsistent libvirt images.  Every one must exit 1 with
# "dedup-analyze: FILE: what (at offset N)".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkqevm" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

cat > q.spec <<'EOF'
block pc.ram 0x10000
block pc.bios 0x2000
ram 0 5 ids:1,2,0,1,3 in=pc.ram
part
ram 0 2 ids:4,0 in=pc.bios
EOF
"$MK/mkqevm" q.spec q --map q.map
M=q.map
rec() { field $M rec.$1; }
mkq() { # NAME SPEC-LINES...: q.spec plus lines
	_n=$1; shift
	{ cat q.spec; for _l in "$@"; do echo "$_l"; done; } > "$_n.spec"
	"$MK/mkqevm" "$_n.spec" "$_n" --map "$_n.map"
}
# stream_bad FILE DESCRIPTION REGEX [@OFFSET]: a stream read once
# (compressed): the error comes while reading, so only the analysis is checked
stream_bad() {
	timeout 30 "$DA" --json "$1" > /dev/null 2> "$TMPD/s.err"
	_rc=$?
	_msg=$(grep -v 'warning:' "$TMPD/s.err" | head -1)
	if [ $_rc -ne 1 ]; then _res="exit $_rc (want 1): $_msg"
	else
		_res=$(refusal "$1" "$_msg" "$3" ${4:-})
		_res=${_res:-ok}
	fi
	is "$_res" ok "damaged stream: $2"
}

# ---- cut short ----
truncated q 6 "inside the stream header" "=truncated: stream header: the stream ends 2 bytes further, 4 bytes are needed" @4
truncated q 20 "inside the configuration section" "=truncated: configuration section: machine name: the stream ends 7 bytes further, 13 bytes are needed" @13
truncated q $(( $(field $M blk.1) + 3 )) "inside the RAM block list" "=truncated: RAM block name: the stream ends 2 bytes further, 7 bytes are needed" @67
truncated q $(( $(rec 2) + 4 )) "inside a record's flags" "=truncated: RAM record: the stream ends 4 bytes further, 8 bytes are needed" @8315
truncated q $(( $(rec 2) + 100 )) "inside a page's bytes" "=truncated: page data: the stream ends 83 bytes further, 4096 bytes are needed" @8332
truncated q $(( $(rec 3) )) "between records, before the RAM END" "=truncated: the stream ends inside a RAM section (3 pages read, its END section never came)" @8324
truncated q $(field $M ram.end) "right before the RAM END section" "=truncated: the stream ends inside the RAM section (7 pages read, its END section never came)" @20684

# ---- records this reader refuses ----
mkq xbz "word 40"
damaged xbz "an XBZRLE page" "=XBZRLE-encoded page record (live migration with the xbzrle capability): not supported" @20671
mkq cmp "word 100"
damaged cmp "a compressed page" "=compressed page record (the 'compress' migration capability): not supported" @20671
mkq mfd "word 200"
damaged mfd "a multifd flush" "=multifd flush record: pages of a multifd stream travel on other channels: not supported" @20671
mkq hook "word 80"
damaged hook "an RDMA hook" "=RDMA hook record: not supported in a file" @20671
mkq full "word 1"
damaged full "the obsolete FULL flag" "=corrupt: RAM record with unknown flags 0x1" @20671
mkq flags "word 400"
damaged flags "unknown flags" "=corrupt: RAM record with unknown flags 0x400" @20671
mkq both "word a"
damaged both "zero and page flags together" "=corrupt: RAM record with unknown flags 0xa" @20671
mkq memsz "word 4"
damaged memsz "a RAM size record in a PART section" "=corrupt: RAM size record outside the RAM section's start" @20671
mkq eos "word 30"
damaged eos "end of section with the continue flag" "=corrupt: RAM record: end-of-section with flags 0x30" @20671

# ---- blocks and offsets ----
mkq noblk "ram 0 1 same:1 in=no-such-block"
damaged noblk "a block that is not in the list" "=corrupt: RAM record names block 'no-such-block', which is not in the block list" @20671
mkq past "ram 2 1 same:1 in=pc.bios"
damaged past "an offset past the block's end" "=corrupt: RAM record: offset 0x2000 lies past the end of block 'pc.bios' (8192 bytes)" @20671
printf 'block pc.ram 0x2000\nword 28\n' > cont.spec
"$MK/mkqevm" cont.spec cont
damaged cont "continue flag with no block named before" "=corrupt: RAM record continues a block but no block was named before" @84
printf 'block pc.ram 0x1800\nblock pc.bios 0x800\n' > odd.spec
"$MK/mkqevm" odd.spec odd
damaged odd "a block length that is not a page multiple" "=corrupt: RAM block 'pc.ram': length 6144 is not a positive multiple of the page size 4096" @51
printf 'block pc.ram 0x100000000000\n' > huge.spec
"$MK/mkqevm" huge.spec huge
damaged huge "16 TiB of RAM declared in a few bytes" "=corrupt: RAM block list: 17592186044416 bytes of RAM is implausible for a 177-byte stream" @43
# a compressed stream's length is only known at its end: the same bound then
printf 'block pc.ram 0x4000000000\nram 0 3 seq:1 in=pc.ram\nlibvirt gzip\n' > hugez.spec
"$MK/mkqevm" hugez.spec hugez
damaged_data hugez "256 GiB declared in a compressed stream of 3 pages" "=corrupt: the RAM block list declares 67108864 pages, too many for a 12434-byte stream (most of them were never sent) (offset in the gzip-decompressed stream)" @12434
printf 'block pc.ram 0x10000\nblock pc.ram 0x2000\nram 0 1 same:1 in=pc.ram\n' > dup.spec; "$MK/mkqevm" dup.spec dup --map dup.map
damaged dup "a block name listed twice" "=corrupt: RAM block 'pc.ram' is listed twice" @$(field dup.map blk.1)

# ---- versions, sections ----
printf 'version 2\nblock pc.ram 0x1000\n' > v2.spec; "$MK/mkqevm" v2.spec v2
damaged v2 "stream version 2" "=migration stream version 2 is obsolete (QEMU reads only 3)" @4
printf 'version 4\nblock pc.ram 0x1000\n' > v4.spec; "$MK/mkqevm" v4.spec v4
damaged v4 "stream version 4" "=migration stream version 4 (only 3 is known)" @4
printf 'ramversion 3\nblock pc.ram 0x1000\n' > rv3.spec; "$MK/mkqevm" rv3.spec rv3
damaged rv3 "RAM section version 3" "=RAM section instance 0 version 3: only instance 0 version 4 is known" @26
printf 'device virtio-mem-early\nblock pc.ram 0x1000\n' > dev.spec; "$MK/mkqevm" dev.spec dev
damaged dev "a device section before RAM" "=section 'virtio-mem-early' (id 7) comes before the RAM section and cannot be skipped (device state has no length field)" @26
mkq other otherpart
damaged other "another iterable section inside the RAM data" "=section 5 (not RAM) continues inside the RAM data: other iterable sections (block, dirty-bitmap, vfio) are not supported" @20684
mkq eof eof
damaged eof "EOF before the RAM END" "=corrupt: EOF record before the RAM section's END (7 pages read)" @20684
mkq badf badfooter
damaged badf "a footer naming another section" "=corrupt: section footer names section 9, the section is 2" @20697
printf 'caps mapped-ram\nblock pc.ram 0x1000\n' > mr.spec; "$MK/mkqevm" mr.spec mr
damaged mr "mapped-ram" "=mapped-ram stream (capability 'mapped-ram', libvirt's 'sparse' save format): not supported yet" @8
printf 'command 7 4\nblock pc.ram 0x1000\n' > pkg.spec; "$MK/mkqevm" pkg.spec pkg
damaged pkg "a packaged postcopy stream" "=command 7 (packaged postcopy stream): postcopy streams are not supported" @26
v=$(variant q magic); pokestr "$v" 0 "QEVX"
damaged "$v" "a stream magic that is not QEVM" "=unknown dump format (first bytes 51 45 56 58); a raw memory image needs --format=raw" @0

# ---- libvirt save images ----
mkq lraw "libvirt raw"
mkq lpart libvirtpart
damaged lpart "an incomplete save (LibvirtQemudPart)" "=corrupt: libvirt save image is incomplete (magic LibvirtQemudPart: the save was still running or failed)" @0
mkq lsparse "libvirt sparse"
damaged lsparse "the sparse (mapped-ram) save format" "=libvirt 'sparse' save image (a mapped-ram stream): not supported yet" @28
v=$(variant lraw fmt9); poke "$v" 28 9 4
damaged "$v" "an unknown image format" "=corrupt: libvirt save header: unknown image format 9" @28
v=$(variant lraw gz); poke "$v" 28 1 4
damaged "$v" "header says gzip, payload is not" "=corrupt: libvirt save header says the payload is gzip-compressed, but it does not start with that format's magic" @4346
v=$(variant lraw ver); poke "$v" 16 7 4
damaged "$v" "an unknown header version" "=libvirt save header: version 117440512 (1 or 2 expected)" @16
v=$(variant lraw dlen); poke "$v" 20 0x7fffffff 4
damaged "$v" "XML length past the end" "=truncated: libvirt save header: domain XML of 2147483647 bytes runs past the end of the file (25128 bytes)" @20
truncated lraw 60 "inside the libvirt header" "=truncated: libvirt save header: file ends at byte 60 but 92 bytes are needed from offset 0" @0
truncated lraw $(( $(field lraw.map lv.payload) + $(rec 2) + 100 )) "libvirt image cut inside a page" "=truncated: page data: the stream ends 83 bytes further, 4096 bytes are needed" @12678
mkq lgz "libvirt gzip"
head -c $(( $(field lgz.map lv.payload) + $(field lgz.map lv.payload 3) / 2 )) lgz > lgz-cut
stream_bad lgz-cut "gzip payload cut short" "=truncated: gzip: compressed data ends before its end marker" @6588
# a stream read on after its first error would parse from the middle of a
# record: the library repeats the error, and with two workers the error is
# the same every time
"$TB/tools/dp-frames" lgz-cut > /dev/null 2> again.err
is "$(sed -n 2p again.err | sed 's/read again: //')" "$(sed -n 1p again.err)" "a failed stream gives the same error when read again"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	"$DA" -q -j 2 --csv lgz-cut 2>&1 > /dev/null | cut -d: -f3-
done | sort | uniq -c > j2.err
is "$(wc -l < j2.err | tr -d ' ')" 1 "two workers, 20 runs: one error message ($(head -c 200 j2.err))"
mkq lxz "libvirt xz"
head -c $(( $(field lxz.map lv.payload) + $(field lxz.map lv.payload 3) / 2 )) lxz > lxz-cut
stream_bad lxz-cut "xz payload cut short" "=truncated: xz: compressed data ends inside a block" @6002
cp lxz lxz-bad; poke lxz-bad $(( $(field lxz.map lv.payload) + 200 )) 0x55 1
stream_bad lxz-bad "xz payload corrupt" "=corrupt: xz data is corrupt: data error" @4568
mkq pipe-xbz "word 40"
gzip -c pipe-xbz > pipe-xbz.gz
stream_bad pipe-xbz.gz "an XBZRLE page in a gzip-compressed stream" "=XBZRLE-encoded page record (live migration with the xbzrle capability): not supported" @20671
done_testing
