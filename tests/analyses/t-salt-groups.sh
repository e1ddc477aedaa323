#!/bin/sh
# The salt groups file of --tps (docs/analyses.md, "TPS salting what-if"):
# only groups holding an analysed dump count; the file is checked before
# any dump is read and every dump's group before any page is hashed (usage
# errors, exit 2, naming file and line); paths with blanks can be named;
# fingerprints are matched by the dump path they store.  Expected savings
# come from model.py.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
for s in p q r; do "$TB/formats/mkelf" "$TOP/tests/analyses/$s.spec" "$TMPD/$s.elf" || exit 1; done
cd "$TMPD" || exit 1
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
m() { _g=$1; shift; _s=""; for _n in "$@"; do _s="$_s $TOP/tests/analyses/$_n.spec"; done
	python3 "$TOP/tests/analyses/model.py" tps "$_g" $_s; }
nth() { python3 -c 'import sys; print(eval(sys.argv[1])[int(sys.argv[2])])' "$1" "$2"; }
tps() { j "$1" 'tuple(d["tps"][k] for k in ("nonzero_pages","salt_groups","full_saved_pages","salted_saved_pages","intra_saved_pages"))'; }

# groups with no analysed dump do not count: p and r in A, two absent files in B and C
printf 'p.elf A\nabsent-1.elf B\nr.elf A\nabsent-2.elf C\n' > g1.txt
"$DA" -q --json --salt-groups=g1.txt p.elf r.elf > g1.json
is "$(tps g1.json)" "$(m A,A p r)" "salt_groups counts only groups holding an analysed dump (1, not 3)"
like "$("$DA" -q --salt-groups=g1.txt p.elf r.elf)" "inside 1 salt group " "and the text says 1 group"
"$DA" -q --csv --salt-groups=g1.txt p.elf r.elf > g1.csv
is "$(grep '^tps,' g1.csv | cut -d, -f2,3,7 | tr '\n' ' ')" \
   "full,$(nth "$(tps g1.json)" 2),1 salted,$(nth "$(tps g1.json)" 3),1 intra,$(nth "$(tps g1.json)" 4),2 " \
   "and the CSV: saved pages and groups of each mode as the JSON"

# a dump named twice: by the same path, or by two paths to one file
printf 'p.elf A\nq.elf A\n# again\np.elf B\n' > twice.txt
"$DA" -q --salt-groups=twice.txt p.elf q.elf > out.txt 2> err.txt
is "$?" 2 "a dump listed twice: usage error"
like "$(cat err.txt)" "twice.txt: lines 1 and 4: 'p.elf' is listed twice" "names the file and both lines"
printf 'p.elf A\nq.elf A\n%s/p.elf B\n' "$TMPD" > twice2.txt
"$DA" -q --salt-groups=twice2.txt p.elf q.elf > out.txt 2> err.txt
is "$?" 2 "one dump named by two lines (file name and full path): usage error"
like "$(cat err.txt)" "twice2.txt: lines 1 and 3 both name p.elf" "names both lines"

# a third field, an open quote: usage errors with the line, before any dump is read
printf '# groups\np.elf A\nq.elf A extra\n' > third.txt
"$DA" -q --salt-groups=third.txt p.elf no-such-dump.elf > out.txt 2> err.txt
is "$?" 2 "a third field: usage error"
like "$(cat err.txt)" "third.txt: line 3: a third field 'extra'" "names the file, the line and the field"
is "$(grep -c no-such-dump err.txt)" 0 "the salt file is checked before any dump is opened"
printf 'p.elf "A\n' > open.txt
"$DA" -q --salt-groups=open.txt p.elf > out.txt 2> err.txt
like "$?:$(cat err.txt)" "^2:.*open.txt: line 1: a quote is not closed" "an open quote: usage error with the line"
"$DA" -q --salt-groups=no-such-file.txt p.elf > out.txt 2> err.txt
like "$?:$(cat err.txt)" "^2:.*no-such-file.txt: cannot open" "a salt file that cannot be opened: usage error"

# a dump without a group: found before hashing (no fingerprint written, no report)
printf 'p.elf A\n' > short.txt
"$DA" -q --json --save-fp=fps --salt-groups=short.txt p.elf q.elf > out.json 2> err.txt
is "$?" 2 "a dump missing from the salt groups file: usage error"
like "$(cat err.txt)" "short.txt: no line names q.elf" "and says which"
is "$(ls fps 2> /dev/null | wc -l):$(wc -c < out.json)" "0:0" "found before any page is hashed: no fingerprint, no report"

# paths with blanks, '#' and quotes are written in double quotes
cp p.elf "vm 1.elf"; cp q.elf 'vm#"2".elf'
printf '"vm 1.elf"\t"group one"   # a comment\n"vm#\\"2\\".elf" "group one"\nr.elf\tB\n' > quoted.txt
"$DA" -q --json --salt-groups=quoted.txt "vm 1.elf" 'vm#"2".elf' r.elf > quoted.json
is "$(tps quoted.json)" "$(m A,A,B p q r)" "quoted paths with a blank, '#' and quotes; tab separators; comments"

# fingerprints: the file written for the dumps works with their .fp files
printf 'p.elf A\nq.elf A\nr.elf B\n' > dumps.txt
"$DA" -q --save-fp=fp p.elf q.elf r.elf > /dev/null
"$DA" -q --json --salt-groups=dumps.txt p.elf q.elf r.elf > d.json
mkdir elsewhere && cp fp/*.fp elsewhere/
"$DA" -q --json --salt-groups=dumps.txt elsewhere/p.elf.fp elsewhere/q.elf.fp elsewhere/r.elf.fp > f.json
is "$(tps f.json)" "$(tps d.json)" "a salt file naming the dumps works with their fingerprints"
is "$(tps f.json)" "$(m A,A,B p q r)" "and gives the model's numbers"
printf 'p.elf A\nq.elf A\n' > fshort.txt
"$DA" -q --salt-groups=fshort.txt elsewhere/p.elf.fp elsewhere/r.elf.fp > out.txt 2> err.txt
like "$?:$(cat err.txt)" "^2:.*no line names elsewhere/r.elf.fp \(a fingerprint of r.elf\)" "a fingerprint without a group: usage error naming its dump"
printf 'p.elf A\np.elf.fp B\nq.elf A\n' > both.txt
"$DA" -q --salt-groups=both.txt elsewhere/p.elf.fp q.elf > out.txt 2> err.txt
like "$?:$(cat err.txt)" "^2:.*lines 1 and 2 both name elsewhere/p.elf.fp" "a fingerprint named by its own name and by its dump's: usage error"
done_testing
