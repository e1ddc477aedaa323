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

# Each line written by the generator: FILE<TAB>OFFSET-or-none<TAB>REGEX
python3 - a.elf > cases.txt <<'EOF'
import struct, sys
src = open(sys.argv[1], "rb").read()
phoff = struct.unpack_from("<Q", src, 0x20)[0]
ph = [phoff + 56 * i for i in range(struct.unpack_from("<H", src, 0x38)[0])]
note_ph, load_ph = ph[0], ph[1]
note_off = struct.unpack_from("<Q", src, note_ph + 8)[0]
data_off = struct.unpack_from("<Q", src, load_ph + 8)[0]
n = 0
def case(data, off, regex):
    global n
    n += 1
    name = "bad%02d.elf" % n
    open(name, "wb").write(data)
    print("%s\t%s\t%s" % (name, off, regex))
def patch(fmt, at, val, base=src):
    b = bytearray(base)
    struct.pack_into(fmt, b, at, val)
    return bytes(b)
# truncated at every header boundary and inside each structure
case(src[:4], "4", "truncated|shorter than an ELF header")
case(src[:20], "20", "shorter than an ELF header")
case(src[:63], "[0-9]+", "ELF header")
case(src[:phoff + 10], "[0-9]+", "program header table")
case(src[:load_ph + 30], "[0-9]+", "program header table")
case(src[:note_off + 10], "[0-9]+", "PT_NOTE")
case(src[:data_off], "[0-9]+", "PT_LOAD 1 .*past the end of the file")
case(src[:data_off + 5000], "[0-9]+", "PT_LOAD 1 .*missing")
case(src[:-1], "[0-9]+", "1 missing")
# values no producer writes
case(patch("<B", 4, 3), "4", "class 3")
case(patch("<B", 5, 7), "5", "data encoding 7")
case(patch("<B", 6, 9), "6", "version 9")
case(patch("<H", 16, 2), "16", "not a core dump .e_type 2")
case(patch("<H", 0x38, 0), "56", "no program headers")
case(patch("<H", 0x36, 40), "54", "program header size 40")
case(patch("<Q", 0x20, 10), "32", "overlap the ELF header")
case(patch("<Q", 0x20, 1 << 40), "[0-9]+", "program header table")
case(patch("<Q", 0x20, (1 << 64) - 8), "[0-9]+", "program header table")
case(patch("<Q", load_ph + 8, (1 << 64) - 4096), "%d" % load_ph, "overflows")
case(patch("<Q", load_ph + 8, 1 << 40), "%d" % load_ph, "past the end of the file")
case(patch("<Q", load_ph + 32, 1 << 20), "%d" % load_ph, "exceeds p_memsz|past the end")
case(patch("<Q", load_ph + 40, 4096), "%d" % load_ph, "p_filesz 24576 exceeds p_memsz 4096")
case(patch("<Q", load_ph + 24, (1 << 64) - 4096), "%d" % load_ph, "wraps the address space")
case(patch("<Q", note_ph + 32, 1 << 62), "%d" % note_ph, "PT_NOTE 0")
case(patch("<I", note_off, 0x7fffffff), "%d" % note_off, "runs past its PT_NOTE segment")
case(patch("<I", note_off + 4, 0xffffff00), "%d" % note_off, "runs past its PT_NOTE segment")
case(patch("<I", load_ph, 6), "[0-9]+", "no PT_LOAD")
case(patch("<H", 0x38, 0xffff), "40", "PN_XNUM but there is no section header 0")
x = patch("<H", 0x38, 0xffff); x = patch("<Q", 0x28, 1 << 30, x); x = patch("<H", 0x3a, 64, x)
case(x, "[0-9]+", "section header 0 .*past the end|section header 0")
case(b"\x7fELF", "4", "shorter than an ELF header")
case(b"", "0", "file is empty")
case(b"\x00" * 100, "0", "unknown dump format")
EOF
ncase=$(wc -l < cases.txt)
ok $([ "$ncase" -ge 30 ] && echo 0 || echo 1) "$ncase damaged inputs generated"

tab=$(printf '\t')
while IFS="$tab" read -r f off re; do
	"$DA" -q "$f" > out.txt 2> err.txt
	rc=$?
	msg=$(cat err.txt)
	is "$rc" 1 "$f: exit 1 ($msg)"
	like "$msg" "^dedup-analyze: $f: .*($re).* \\(at offset $off\\)\$" "$f: names file, problem and offset"
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
