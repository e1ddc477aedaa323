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
pages pc.ram 0 1,2,0,1,3
part
pages pc.bios 0 4,0
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
truncated q 6 "inside the stream header" "stream header: the stream ends 2 bytes further, 4 bytes are needed"
truncated q 20 "inside the configuration section" "configuration section: machine name: the stream ends"
truncated q $(( $(field $M blk.1) + 3 )) "inside the RAM block list" "RAM block (name|length): the stream ends"
truncated q $(( $(rec 2) + 4 )) "inside a record's flags" "RAM record: the stream ends 4 bytes further, 8 bytes are needed"
truncated q $(( $(rec 2) + 100 )) "inside a page's bytes" "page data: the stream ends [0-9]+ bytes further, 4096 bytes are needed"
truncated q $(( $(rec 3) )) "between records, before the RAM END" "the stream ends inside a RAM section \(3 pages read, its END section never came\)"
truncated q $(field $M ram.end) "right before the RAM END section" "the stream ends inside the RAM section \(7 pages read, its END section never came\)"

# ---- records this reader refuses ----
mkq xbz "word 40"
damaged xbz "an XBZRLE page" "XBZRLE-encoded page record .*not supported"
mkq cmp "word 100"
damaged cmp "a compressed page" "compressed page record \(the 'compress' migration capability\): not supported"
mkq mfd "word 200"
damaged mfd "a multifd flush" "multifd flush record: .*not supported"
mkq hook "word 80"
damaged hook "an RDMA hook" "RDMA hook record: not supported in a file"
mkq full "word 1"
damaged full "the obsolete FULL flag" "RAM record with unknown flags 0x1"
mkq flags "word 400"
damaged flags "unknown flags" "RAM record with unknown flags 0x400"
mkq both "word a"
damaged both "zero and page flags together" "RAM record with unknown flags 0xa"
mkq memsz "word 4"
damaged memsz "a RAM size record in a PART section" "RAM size record outside the RAM section's start"
mkq eos "word 30"
damaged eos "end of section with the continue flag" "end-of-section with flags 0x30"

# ---- blocks and offsets ----
mkq noblk "page ? 0 1"
damaged noblk "a block that is not in the list" "RAM record names block 'no-such-block', which is not in the block list"
mkq past "page pc.bios 0x2000 1"
damaged past "an offset past the block's end" "RAM record: offset 0x2000 lies past the end of block 'pc.bios' \(8192 bytes\)"
printf 'block pc.ram 0x2000\nword 28\n' > cont.spec
"$MK/mkqevm" cont.spec cont
damaged cont "continue flag with no block named before" "RAM record continues a block but no block was named before"
printf 'block pc.ram 0x1800\nblock pc.bios 0x800\n' > odd.spec
"$MK/mkqevm" odd.spec odd
damaged odd "a block length that is not a page multiple" "RAM block 'pc.ram': length 6144 is not a positive multiple of the page size 4096"
printf 'block pc.ram 0x100000000000\n' > huge.spec
"$MK/mkqevm" huge.spec huge
damaged huge "16 TiB of RAM declared in a few bytes" "RAM block list: 17592186044416 bytes of RAM is implausible for a [0-9]+-byte stream"
# a compressed stream's length is only known at its end: the same bound then
printf 'block pc.ram 0x4000000000\npages pc.ram 0 1,2,3\nlibvirt gzip\n' > hugez.spec
"$MK/mkqevm" hugez.spec hugez
damaged_data hugez "256 GiB declared in a compressed stream of 3 pages" "the RAM block list declares 67108864 pages, too many for a [0-9]+-byte stream"
v=$(variant q dup); pokestr "$v" $(( $(field $M blk.1) + 1 )) "pc.ram\0"
damaged "$v" "a block name listed twice" "RAM block list|listed twice|past the total"

# ---- versions, sections ----
printf 'version 2\nblock pc.ram 0x1000\n' > v2.spec; "$MK/mkqevm" v2.spec v2
damaged v2 "stream version 2" "migration stream version 2 is obsolete"
printf 'version 4\nblock pc.ram 0x1000\n' > v4.spec; "$MK/mkqevm" v4.spec v4
damaged v4 "stream version 4" "migration stream version 4 \(only 3 is known\)"
printf 'ramversion 3\nblock pc.ram 0x1000\n' > rv3.spec; "$MK/mkqevm" rv3.spec rv3
damaged rv3 "RAM section version 3" "RAM section instance 0 version 3: only instance 0 version 4 is known"
printf 'device virtio-mem-early\nblock pc.ram 0x1000\n' > dev.spec; "$MK/mkqevm" dev.spec dev
damaged dev "a device section before RAM" "section 'virtio-mem-early' \(id 7\) comes before the RAM section and cannot be skipped"
mkq other otherpart
damaged other "another iterable section inside the RAM data" "section 5 \(not RAM\) continues inside the RAM data"
mkq eof eof
damaged eof "EOF before the RAM END" "EOF record before the RAM section's END \(7 pages read\)"
mkq badf badfooter
damaged badf "a footer naming another section" "section footer names section 9, the section is 2"
printf 'caps mapped-ram\nblock pc.ram 0x1000\n' > mr.spec; "$MK/mkqevm" mr.spec mr
damaged mr "mapped-ram" "mapped-ram stream \(capability 'mapped-ram'.*not supported yet"
printf 'command 7 4\nblock pc.ram 0x1000\n' > pkg.spec; "$MK/mkqevm" pkg.spec pkg
damaged pkg "a packaged postcopy stream" "command 7 \(packaged postcopy stream\): postcopy streams are not supported"
v=$(variant q magic); pokestr "$v" 0 "QEVX"
damaged "$v" "a stream magic that is not QEVM" "unknown dump format"

# ---- libvirt save images ----
mkq lraw "libvirt raw"
mkq lpart libvirtpart
damaged lpart "an incomplete save (LibvirtQemudPart)" "libvirt save image is incomplete \(magic LibvirtQemudPart"
mkq lsparse "libvirt sparse"
damaged lsparse "the sparse (mapped-ram) save format" "libvirt 'sparse' save image \(a mapped-ram stream\): not supported yet"
v=$(variant lraw fmt9); poke "$v" 28 9 4
damaged "$v" "an unknown image format" "libvirt save header: unknown image format 9"
v=$(variant lraw gz); poke "$v" 28 1 4
damaged "$v" "header says gzip, payload is not" "libvirt save header says the payload is gzip-compressed, but it does not start with that format's magic"
v=$(variant lraw ver); poke "$v" 16 7 4
damaged "$v" "an unknown header version" "libvirt save header: version [0-9]+ \(1 or 2 expected\)"
v=$(variant lraw dlen); poke "$v" 20 0x7fffffff 4
damaged "$v" "XML length past the end" "libvirt save header: domain XML of 2147483647 bytes runs past the end of the file"
truncated lraw 60 "inside the libvirt header" "libvirt save header: .*file ends at byte 60"
truncated lraw $(( $(field lraw.map lv.payload) + $(rec 2) + 100 )) "libvirt image cut inside a page" "page data: the stream ends"
mkq lgz "libvirt gzip"
head -c $(( $(field lgz.map lv.payload) + $(field lgz.map lv.payload 3) / 2 )) lgz > lgz-cut
stream_bad lgz-cut "gzip payload cut short" "gzip: compressed data ends before its end marker"
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
stream_bad lxz-cut "xz payload cut short" "xz: compressed data ends inside a block"
cp lxz lxz-bad; poke lxz-bad $(( $(field lxz.map lv.payload) + 200 )) 0x55 1
stream_bad lxz-bad "xz payload corrupt" "xz data is corrupt"
mkq pipe-xbz "word 40"
gzip -c pipe-xbz > pipe-xbz.gz
stream_bad pipe-xbz.gz "an XBZRLE page in a gzip-compressed stream" "XBZRLE-encoded page record"
done_testing
