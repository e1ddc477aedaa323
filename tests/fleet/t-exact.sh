#!/bin/sh
# dedup-analyze-mpi on 1, 2 and 4 ranks gives dedup-analyze's report field
# for field: every analysis, text, JSON and CSV, inputs placed on the ranks
# in different ways, dumps and fingerprints mixed, exchanges of many rounds.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fleet/lib-fleet.sh"
names="p q r h1 h2 d1 d2 fam-x1 fam-x2 fam-y1 fam-y2 fam-z1 fam-z2"
for s in $names; do "$TB/formats/mkelf" "$TOP/tests/analyses/$s.spec" "$TMPD/$s.elf" || bail "mkelf $s"; done
cd "$TMPD" || exit 1
ALL=""; for s in $names; do ALL="$ALL $s.elf"; done

"$DA" -q --json --all $ALL > a.json
is "$(j a.json 'd["total"]["dumps"], d["total"]["inter_pages"] > 0, len(d["pairs"]), len(d["top"])')" \
   "(13, True, 78, 10)" "dedup-analyze: 13 dumps with inter-VM sharing, 78 pairs, 10 top contents"
for n in 1 2 4; do
	mpi $n -q --json --all $ALL > m$n.json
	ok $? "$n rank(s): exit 0"
	same a.json m$n.json "$n rank(s), --json --all: the same report"
done

"$DA" -q --all $ALL > a.txt
mpi 4 -q --all $ALL > m.txt
same_text a.txt m.txt "4 ranks, text --all: the same bytes"
"$DA" -q --csv --all --huge=64K --top=3 $ALL > a.csv
mpi 2 -q --csv --all --huge=64K --top=3 $ALL > m.csv
same_text a.csv m.csv "2 ranks, --csv --all --huge=64K --top=3: the same bytes"

# placements: every input on the last rank; in reverse; the host's ranks in
# turn from a pattern; half by host name, half by pattern
P=""; for s in $names; do P="$P rank=3:$s.elf"; done
mpi 4 -q --json --all $P > m.json
same a.json m.json "4 ranks, every input on rank 3"
P=""; i=0; for s in $names; do P="$P rank=$((3 - i % 4)):$s.elf"; i=$((i + 1)); done
mpi 4 -q --json --all $P > m.json
same a.json m.json "4 ranks, inputs dealt in reverse"
"$DA" -q --json --all [dfh]*.elf p.elf q.elf r.elf > a2.json
host=$(hostname)
mpi 3 -q --json --all '[dfh]*.elf' "$host:p.elf" "$host:q.elf" "$host:r.elf" > m.json
same a2.json m.json "3 ranks, a pattern expanded on the host and HOST:PATH inputs"

# many rounds: one record per rank and round; every record sent is received,
# and there is one per (content, dump) pair
mpi 4 -q --json --all --round=1 --stats $ALL > m.json 2> stats.txt
same a.json m.json "4 ranks, one record a round: the same report"
is "$(grep -c 'stats: rank [0-3]:' stats.txt)" 4 "--stats: one line per rank"
pairs=$(j a.json 'd["total"]["distinct_pages"] + d["total"]["inter_pages"]')
is "$(sed -n 's/.*records sent \([0-9]*\), received \([0-9]*\),.*/\1 \2/p' stats.txt |
      awk '{s += $1; r += $2} END {print s, r}')" "$pairs $pairs" \
   "records sent and received: one per (content, dump) pair, $pairs"
like "$(sed -n 's/.* in \([0-9]*\) rounds;.*/\1/p' stats.txt | sort -n | tail -1)" '^[1-9][0-9]+$' \
     "--round=1: many rounds"

# options of the analyses; fingerprints among the dumps; another hash
printf 'p.elf A\nq.elf A\nr.elf B\nh1.elf B\nh2.elf C\n' > groups.txt
"$DA" -q --json --salt-groups=groups.txt --max-page-sharing=3 --use-zero-pages --degree --top=4 \
	p.elf q.elf r.elf h1.elf h2.elf > a3.json
mpi 2 -q --json --salt-groups=groups.txt --max-page-sharing=3 --use-zero-pages --degree --top=4 \
	p.elf q.elf r.elf h1.elf h2.elf > m.json
same a3.json m.json "2 ranks: salt groups, max_page_sharing 3, use_zero_pages, top 4"
"$DA" -q --save-fp=fp p.elf q.elf d1.elf > /dev/null || bail "fingerprints"
"$DA" -q --json --all fp/p.elf.fp fp/q.elf.fp r.elf fp/d1.elf.fp h1.elf > a4.json
mpi 4 -q --json --all fp/p.elf.fp fp/q.elf.fp r.elf fp/d1.elf.fp h1.elf > m.json
same a4.json m.json "4 ranks: fingerprints and dumps mixed"
"$DA" -q --json --diff d1.elf d2.elf > a5.json
mpi 2 -q --json --diff d1.elf d2.elf > m.json
same a5.json m.json "2 ranks: --diff"
"$DA" -q --json --hosts=3:1M --hash=xxh128 --ksm --degree $ALL > a6.json
mpi 4 -q --json --hosts=3:1M --hash=xxh128 --ksm --degree $ALL > m.json
same a6.json m.json "4 ranks: --hosts=3:1M, --hash=xxh128"
done_testing
