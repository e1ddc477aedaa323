#!/bin/sh
# The makedumpfile flattened framing is a container: any dump inside it
# reads with the numbers of the plain file (makedumpfile -E -F writes a
# flattened ELF).  Flattened files are written by tests/tools/flatten from
# the format facts: records in order, in reverse, cut across pages, with a
# record written again later (the later one wins), without end marker,
# piped and compressed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
FL=$TB/tools/flatten
[ -x "$FL" ] || bail "flatten not built (make tests-build)"
E=$TOP/tests/formats/elf
cd "$TMPD" || exit 1

"$MK/mkelf" "$E/a.spec" a.elf || bail "mkelf failed"
"$MK/mkelf" "$E/c.spec" c.elf || bail "mkelf failed"
row() { "$DA" -q --csv "$@" 2>&1 | sed -n 2p | cut -d, -f2-; }
want=$(row a.elf)
is "$want" "elf,6,0,2,4,3,1,,12288" "the plain ELF core: its numbers"

"$FL" a.elf a.flat
is "$(row a.flat)" "$want" "flattened ELF: the numbers of the plain file"
info=$("$DA" --info a.flat)
like "$info" "format: +elf" "flattened ELF: detected as elf"
like "$info" "flattened: +format version 1, 7 record\(s\)" "--info: the flattened framing and its records"
like "$info" "input: +read through a temporary copy \(24832 bytes" "--info: read through a plain temporary copy"

"$FL" --reverse --chunk=1000 a.elf a.rev
is "$(row a.rev)" "$want" "records in reverse order, cut across pages"
"$FL" --rewrite a.elf a.rw
is "$(row a.rw)" "$want" "a record written again later wins over the first copy"
"$FL" --no-end a.elf a.noend
is "$(row a.noend)" "$want" "no end marker, no byte missing: read"
like "$("$DA" --info a.noend)" "flattened: +format version 1, 7 record\(s\), no end marker" "--info: no end marker"
is "$(cat a.flat | "$DA" -q --csv - 2>&1 | sed -n 2p | cut -d, -f2-)" "$want" "flattened ELF from a pipe"
gzip -c < a.rev > a.rev.gz
is "$(row a.rev.gz)" "$want" "flattened ELF, gzip-compressed"
# gzip inside the framing: container, then codec
gzip -c < a.elf > a.elf.gz
"$FL" --reverse --chunk=700 a.elf.gz a.gz.flat
is "$(row a.gz.flat)" "$want" "a gzip-compressed ELF inside the framing"
like "$("$DA" --info a.gz.flat)" "compression: +gzip" "--info: compression inside the framing"

# an ELF with absent and partial frames, overlapping ranges
cwant=$(row c.elf)
"$FL" --chunk=3000 --rewrite c.elf c.flat
is "$(row c.flat)" "$cwant" "flattened ELF with absent and partial frames"

# other formats in the framing: LiME
printf 'ram 0 8 seq:1\nram 0x10 4 cycle:30:2\nbytes 0x20000 0x800 same:7\n' > l.spec
"$MK/mklime" l.spec l.lime || bail "mklime failed"
lwant=$(row l.lime)
"$FL" --reverse l.lime l.flat
is "$(row l.flat)" "$lwant" "flattened LiME image: the numbers of the plain file"

# damaged framing: the container's messages
"$FL" --chunk=5000 a.elf cut.flat
head -c 9000 cut.flat > cut2.flat
"$DA" -q --csv cut2.flat > /dev/null 2> cut.err
like "$?:$(cat cut.err)" "^1:dedup-analyze: cut2.flat: truncated: flattened record at offset 4096: 5000 bytes of data, only 4888 in the file" \
	"a record cut short: refused with the container's message"
done_testing
