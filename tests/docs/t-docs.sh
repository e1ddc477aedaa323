#!/bin/sh
# The README's examples and the documented facts agree with the code: the
# examples are rerun by scripts/readme-examples (on stand-in dumps, numbers
# masked) and the check fails when a line, label or field drifts; the digest
# bits and fingerprint sizes the docs give are measured here.
. "$(dirname "$0")/../lib.sh"
DA=$BIN/dedup-analyze
MK=$TB/formats
RX=$TOP/scripts/readme-examples
[ -x "$DA" ] || bail "$DA not built"
[ -x "$MK/mkelf" ] || bail "$MK/mkelf not built"
need python3
cd "$TMPD" || exit 1

# ---- README examples ----
"$RX" --stand-ins > rx.out 2>&1
rc=$?
is "$rc" 0 "every README example agrees with a real run (stand-in dumps, numbers masked)"
[ $rc -eq 0 ] || sed 's/^/#   /' rx.out
like "$(cat rx.out)" "^readme-examples: [4-9] examples agree" "at least the four dedup-analyze examples are checked"

# drift: the check must fail on a README whose example lost a line, renamed
# a label or a field; numbers alone may differ
grep -v '^hash back end: ' "$TOP/README.md" > r1.md
"$RX" --stand-ins --readme=r1.md > rx1.out 2>&1
is "$?" 1 "a README whose --info example lacks the last line fails the check"
like "$(cat rx1.out)" "'dedup-analyze --info wr0.elf' prints other lines than the README shows" "and the message names the command"
sed 's/^  minimum RAM  /  min. RAM     /' "$TOP/README.md" > r2.md
"$RX" --stand-ins --readme=r2.md > /dev/null 2>&1
is "$?" 1 "a renamed label in the table fails the check"
sed 's/"distinct_pages": /"distinct": /' "$TOP/README.md" > r3.md
"$RX" --stand-ins --readme=r3.md > /dev/null 2>&1
is "$?" 1 "a renamed JSON field fails the check"
sed 's/^  pages_shared  *[0-9]*$/  pages_shared                   1/' "$TOP/README.md" > r4.md
"$RX" --stand-ins --readme=r4.md > /dev/null 2>&1
is "$?" 0 "another number alone passes (the numbers are those of the last demo run)"
printf '# x\n\n<!-- example -->\n```\n$ dedup-analyze --bogus\n```\n' > r5.md
"$RX" --stand-ins --readme=r5.md > rx5.out 2>&1
is "$?" 1 "a command that fails fails the check"
like "$(cat rx5.out)" "unrecognized option '--bogus'" "and its error is shown"

# ---- digest bits: docs/metrics.md and docs/analyses.md against dedup.h ----
key=$(sed -n 's/^#define DD_KEY \([0-9]*\).*/\1/p' "$TOP/dedup/dedup.h")
bits=$((key * 8))
like "$(tr '\n' ' ' < "$TOP/docs/metrics.md")" "first $bits bits of their SHA1 digests" "metrics.md: $bits bits of SHA1 compared, as DD_KEY says"
is "$(grep -c '160 *bits' "$TOP/docs/metrics.md" "$TOP/docs/analyses.md" "$TOP/README.md" | awk -F: '{s+=$2} END {print s}')" 0 "no doc claims 160 bits"
like "$(tr '\n' ' ' < "$TOP/docs/analyses.md")" "$bits *bits of SHA1" "analyses.md says the same"

# ---- fingerprint size: the formula and the range the docs give ----
printf 'ram 0 2048 seq:1\n' > distinct.spec
printf 'ram 0 2048 same:1\n' > same.spec
printf 'ram 0 1024 seq:1\nram 1024 1024 same:1\n' > half.spec
for s in distinct same half; do "$MK/mkelf" $s.spec $s.elf || exit 1; done
"$DA" -q --save-fp=fp distinct.elf same.elf half.elf > /dev/null
ok $? "fingerprints written"
# size = 80 + path padded to 8 + 24 C + 16 R + 4 P + 8 (docs/fingerprints.md)
for s in "distinct 2048" "same 1" "half 1024"; do
	set -- $s
	want=$((80 + (${#1} + 4 + 7) / 8 * 8 + 24 * $2 + 16 + 4 * 2048 + 8))
	is "$(wc -c < fp/$1.elf.fp | tr -d ' ')" "$want" "$1: size = 24 x $2 contents + 4 x 2048 pages + runs, header, path"
done
pct() { python3 -c 'import os,sys; print("%.3f" % (100.0 * os.path.getsize(sys.argv[1]) / os.path.getsize(sys.argv[2])))' "$1" "$2"; }
lo=$(pct fp/same.elf.fp same.elf) hi=$(pct fp/distinct.elf.fp distinct.elf) mid=$(pct fp/half.elf.fp half.elf)
is "$(python3 -c "print(0.098 <= $lo < 0.11 and 0.67 < $hi <= 0.69 and abs($mid - (0.098 + 0.586 * 0.5)) < 0.01)")" True \
	"fingerprint share of the dump: $lo % (all pages alike) .. $hi % (all distinct), $mid % at half distinct"
fpd=$(tr '\n' ' ' < "$TOP/docs/fingerprints.md")
like "$fpd" "between 0\.1 % \(every page zero or a copy" "fingerprints.md gives the low end"
like "$fpd" "and 0\.68 % \(every page different\)" "and the high end"
like "$(grep -e '--save-fp=DIR' "$TOP/README.md")" "0\.1 to 0\.7 % of its size" "the README's option table gives the range, not 0.2 %"

done_testing
