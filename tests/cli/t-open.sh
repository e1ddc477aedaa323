#!/bin/sh
# Inputs are opened on up to --jobs threads at once; what the program says
# about them comes in input order and the report is the same whatever the
# number of jobs: good dumps, a fingerprint, a missing file and a file of
# no known format, mixed.
. "$(dirname "$0")/../lib.sh"
DA=$BIN/dedup-analyze
MK=$TB/formats
[ -x "$DA" ] || bail "$DA not built"
[ -x "$MK/mkelf" ] || bail "$MK/mkelf not built"
cd "$TMPD" || exit 1

printf 'ram 0 64 seq:1\nram 64 32 zero\n' > a.spec
printf 'ram 0 48 seq:1\nram 48 16 seq:9\n' > b.spec
"$MK/mkelf" a.spec a.elf && "$MK/mkelf" b.spec b.elf || exit 1
mkdir fp && "$DA" -q --save-fp=fp b.elf > /dev/null || exit 1
head -c 100000 /dev/urandom > noise.bin
set -- a.elf missing.elf noise.bin fp/b.elf.fp b.elf a.elf

for j in 1 2 4; do
	"$DA" -j "$j" --json "$@" > "out$j.raw" 2> "err$j.txt"
	echo $? > "rc$j"
	sed 's/"seconds": [0-9.]*//' "out$j.raw" > "out$j.json" # time taken: the one field that may differ
done
is "$(cat rc1)" 1 "-j 1: exit status 1 (two inputs failed)"
for j in 2 4; do
	is "$(cat "rc$j")" 1 "-j $j: exit status 1"
	cmp -s out1.json "out$j.json"; ok $? "-j $j: the same report as -j 1"
	cmp -s err1.txt "err$j.txt"; ok $? "-j $j: the same messages, in the same order"
done
is "$(grep -c . err1.txt)" 2 "one message per failed input"
like "$(sed -n 1p err1.txt)" "missing.elf" "the missing file first (input order)"
like "$(sed -n 2p err1.txt)" "noise.bin" "then the file of no known format"
is "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["dumps"]))' out4.raw)" 4 \
	"four inputs hashed (two dumps, the fingerprint, a dump given twice)"
done_testing
