#!/bin/sh
# Damaged and wrong ELF input: every case ends in exit 1 with
# "dedup-analyze: FILE: what (at offset N)", never a crash; with several
# inputs the good ones are still analyzed.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
"$TB/formats/mkelf" "$TOP/tests/formats/elf/a.spec" "$TMPD/a.elf" || exit 1
"$TB/formats/mkelf" "$TOP/tests/formats/elf/b.spec" "$TMPD/b.elf" || exit 1
cd "$TMPD" || exit 1

# Each line written by the generator: FILE<TAB>OFFSET<TAB>MESSAGE, the whole
# message expected after "dedup-analyze: FILE: " and before " (at offset
# OFFSET)", with every number in it taken from the file's own headers.
python3 - a.elf > cases.txt <<'EOF'
import struct, sys
src = open(sys.argv[1], "rb").read()
size = len(src)
phoff = struct.unpack_from("<Q", src, 0x20)[0]
nph = struct.unpack_from("<H", src, 0x38)[0]
ph = [phoff + 56 * i for i in range(nph)]
note_ph, load_ph = ph[0], ph[1]
note_off, note_sz = struct.unpack_from("<Q", src, note_ph + 8)[0], struct.unpack_from("<Q", src, note_ph + 32)[0]
data_off, _, load_paddr, filesz, memsz = struct.unpack_from("<QQQQQ", src, load_ph + 8)
namesz, descsz = struct.unpack_from("<II", src, note_off)
n = 0
def case(data, off, msg):
    global n
    n += 1
    name = "bad%02d.elf" % n
    open(name, "wb").write(data)
    print("%s\t%d\t%s" % (name, off, msg))
def patch(fmt, at, val, base=src):
    b = bytearray(base)
    struct.pack_into(fmt, b, at, val)
    return bytes(b)
def pht_past(at, flen):
    return "truncated: program header table (%d entries at offset %d) runs past the end of the file (%d bytes)" % (nph, at, flen)
def load_past(at, flen):
    return ("truncated: PT_LOAD 1 (physical %#x): data at offset %d..%d lies past the end of the file (%d bytes; %d missing)"
            % (load_paddr, at, at + filesz, flen, at + filesz - max(at, flen)))
short = "truncated: ELF header: file is %d bytes, shorter than an ELF header"
# truncated at every header boundary and inside each structure
case(src[:4], 4, short % 4)
case(src[:20], 20, short % 20)
case(src[:63], 16, "truncated: ELF header: file ends at byte 63 but %d bytes are needed from offset 16" % (64 - 16))
case(src[:phoff + 10], phoff, pht_past(phoff, phoff + 10))
case(src[:load_ph + 30], phoff, pht_past(phoff, load_ph + 30))
case(src[:note_off + 10], note_ph, "truncated: PT_NOTE 0: notes at offset %d..%d lie past the end of the file (%d bytes)"
     % (note_off, note_off + note_sz, note_off + 10))
case(src[:data_off], load_ph, load_past(data_off, data_off))
case(src[:data_off + 5000], load_ph, load_past(data_off, data_off + 5000))
case(src[:-1], load_ph, load_past(data_off, size - 1))
# values no producer writes
case(patch("<B", 4, 3), 4, "corrupt: ELF class 3 is neither ELF32 nor ELF64")
case(patch("<B", 5, 7), 5, "corrupt: ELF data encoding 7 is neither little- nor big-endian")
case(patch("<B", 6, 9), 6, "corrupt: ELF version 9 is not 1")
case(patch("<H", 16, 2), 16, "ELF file is not a core dump (e_type 2, a core is 4): not a memory dump")
case(patch("<H", 0x38, 0), 0x38, "ELF core has no program headers, so no memory segments")
case(patch("<H", 0x36, 40), 0x36, "corrupt: program header size 40, expected 56 for ELF64")
case(patch("<Q", 0x20, 10), 0x20, "corrupt: program headers at offset 10 overlap the ELF header")
case(patch("<Q", 0x20, 1 << 40), size, pht_past(1 << 40, size))
case(patch("<Q", 0x20, (1 << 64) - 8), size, pht_past((1 << 64) - 8, size))
case(patch("<Q", load_ph + 8, (1 << 64) - 4096), load_ph,
     "corrupt: PT_LOAD 1: p_offset %d + p_filesz %d overflows" % ((1 << 64) - 4096, filesz))
case(patch("<Q", load_ph + 8, 1 << 40), load_ph, load_past(1 << 40, size))
case(patch("<Q", load_ph + 32, 1 << 20), load_ph, "corrupt: PT_LOAD 1: p_filesz %d exceeds p_memsz %d" % (1 << 20, memsz))
case(patch("<Q", load_ph + 40, 4096), load_ph, "corrupt: PT_LOAD 1: p_filesz %d exceeds p_memsz 4096" % filesz)
case(patch("<Q", load_ph + 24, (1 << 64) - 4096), load_ph,
     "corrupt: PT_LOAD 1: physical range %#x + %d wraps the address space" % ((1 << 64) - 4096, memsz))
case(patch("<Q", note_ph + 32, 1 << 62), note_ph, "truncated: PT_NOTE 0: notes at offset %d..%d lie past the end of the file (%d bytes)"
     % (note_off, note_off + (1 << 62), size))
case(patch("<I", note_off, 0x7fffffff), note_off,
     "corrupt: ELF note (name %d bytes, data %d bytes) runs past its PT_NOTE segment" % (0x7fffffff, descsz))
case(patch("<I", note_off + 4, 0xffffff00), note_off,
     "corrupt: ELF note (name %d bytes, data %d bytes) runs past its PT_NOTE segment" % (namesz, 0xffffff00))
case(patch("<I", load_ph, 6), phoff, "ELF core has %d program headers but no PT_LOAD: it holds no memory" % nph)
case(patch("<H", 0x38, 0xffff), 0x28, "corrupt: e_phnum is PN_XNUM but there is no section header 0 to hold the count")
x = patch("<H", 0x38, 0xffff); x = patch("<Q", 0x28, 1 << 30, x); x = patch("<H", 0x3a, 64, x)
case(x, size, "truncated: section header 0 (program header count): file ends at byte %d but 64 bytes are needed from offset %d"
     % (size, 1 << 30))
case(b"\x7fELF", 4, short % 4)
case(b"", 0, "corrupt: file is empty")
case(b"\x00" * 100, 0, "unknown dump format (first bytes 00 00 00 00); a raw memory image needs --format=raw")
EOF
ncase=$(wc -l < cases.txt)
ok $([ "$ncase" -ge 30 ] && echo 0 || echo 1) "$ncase damaged inputs generated"

tab=$(printf '\t')
while IFS="$tab" read -r f off want; do
	"$DA" -q "$f" > out.txt 2> err.txt
	rc=$?
	msg=$(cat err.txt)
	is "$rc" 1 "$f: exit 1 ($msg)"
	is "$msg" "dedup-analyze: $f: $want (at offset $off)" "$f: names file, problem and offset"
	is "$(cat out.txt)" "" "$f: no report"
done < cases.txt

# files that are not dumps at all
mkdir adir
"$DA" adir > /dev/null 2> err.txt
is "$?" 1 "a directory: exit 1"
like "$(cat err.txt)" "^dedup-analyze: adir: is a directory" "a directory: clear message"
"$DA" no-such-file > /dev/null 2> err.txt
is "$?" 1 "a missing file: exit 1"
like "$(cat err.txt)" "^dedup-analyze: no-such-file: cannot open: No such file" "a missing file: clear message"
cp a.elf locked.elf
chmod 000 locked.elf
chmod 755 "$TMPD"
if command -v setpriv > /dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$DA" locked.elf > /dev/null 2> err.txt
	is "$?" 1 "an unreadable file: exit 1"
	like "$(cat err.txt)" "^dedup-analyze: locked.elf: cannot open: Permission denied" "an unreadable file: clear message"
else
	"$DA" locked.elf > /dev/null 2> err.txt
	is "$?" 1 "an unreadable file: exit 1"
	like "$(cat err.txt)" "Permission denied" "an unreadable file: clear message"
fi

# one bad input among good ones: the rest is analyzed, exit 1
"$DA" -q --csv a.elf bad07.elf b.elf > out.txt 2> err.txt
is "$?" 1 "good, bad, good: exit 1"
like "$(cat err.txt)" "^dedup-analyze: bad07.elf: " "good, bad, good: the bad one is reported"
is "$(tail -n 1 out.txt)" "TOTAL,,10,0,3,7,4,2,1,16384" "good, bad, good: the good ones are analyzed"
is "$(grep -c '^bad07' out.txt)" 0 "good, bad, good: the bad one has no row"
"$DA" -q --json a.elf bad07.elf > out.txt 2> /dev/null
like "$(tr -d '\n' < out.txt)" '"failed": \[ *\{"path": "bad07.elf", "error": "bad07.elf: ' "JSON lists the failed dump"

# a stream that ends early is reported, not counted
head -c 20000 a.elf | gzip > short.elf.gz
"$DA" -q --csv short.elf.gz b.elf > out.txt 2> err.txt
is "$?" 1 "truncated gzip stream: exit 1"
like "$(cat err.txt)" "^dedup-analyze: short.elf.gz: .*file ends at byte 20000.*\\(at offset [0-9]+\\)" "truncated gzip stream: where it ended"
is "$(tail -n 1 out.txt)" "TOTAL,,4,0,1,3,2,1,0,8192" "truncated gzip stream: nothing of it is counted"
# a stream's headers may declare far more than it holds: 1 PiB in one
# PT_LOAD of a gzip stream is read until the stream ends, in bounded memory
python3 - a.elf <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
phoff = struct.unpack_from("<Q", b, 0x20)[0]
struct.pack_into("<QQ", b, phoff + 56 + 32, 1 << 50, 1 << 50)
open("huge.elf", "wb").write(b)
EOF
gzip -c huge.elf > huge.elf.gz
"$DA" -q --csv huge.elf.gz > out.txt 2> err.txt
is "$?" 1 "1 PiB declared in a gzip stream: exit 1"
like "$(cat err.txt)" "^dedup-analyze: huge.elf.gz: truncated: page data: file ends at byte [0-9]+ .*\\(at offset [0-9]+\\)" \
	"1 PiB declared in a gzip stream: where it ended"
"$DA" -q --csv huge.elf > out.txt 2> err.txt
like "$(cat err.txt)" "^dedup-analyze: huge.elf: truncated: PT_LOAD 1 .*past the end of the file" \
	"1 PiB declared in a regular file: refused at once"
printf 'garbage' | gzip > junk.gz
head -c 30 junk.gz > junk2.gz
"$DA" junk2.gz > /dev/null 2> err.txt
is "$?" 1 "cut gzip header: exit 1"
like "$(cat err.txt)" "^dedup-analyze: junk2.gz: .*(gzip|empty|unknown)" "cut gzip header: says so"

# usage errors exit 2
"$DA" > /dev/null 2>&1; is "$?" 2 "no argument: exit 2"
"$DA" --hash=md5 a.elf > /dev/null 2>&1; is "$?" 2 "unknown hash: exit 2"
"$DA" -j 0 a.elf > /dev/null 2>&1; is "$?" 2 "zero jobs: exit 2"
"$DA" --format=nope a.elf > /dev/null 2>&1; is "$?" 2 "unknown format: exit 2"
"$DA" --page-size=3000 a.elf > /dev/null 2>&1; is "$?" 2 "bad page size: exit 2"
done_testing
