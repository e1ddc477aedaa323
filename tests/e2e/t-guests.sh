#!/bin/sh
# End to end: boot three tiny guests running memload at different write
# rates, dump them with QEMU (dump-guest-memory, ELF), and check every number
# dedup-analyze reports against an independent count (count_elf.py: Python,
# hashlib, no shared code).  Equal, not close.  dedup-analyze-mpi on 1, 2
# and 4 ranks gives the same report.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
need qemu-system-x86_64
RUN=$TMPD/run
GC="$TOP/scripts/guestctl"
names="e2e-a e2e-b e2e-c"
at_exit "for g in $names; do \"$GC\" stop \$g --dir=$RUN; done"

"$GC" start e2e-a --dir="$RUN" --mem=128 --ml-mb=32 --wr=0 --seed=1 || exit 1
"$GC" start e2e-b --dir="$RUN" --mem=128 --ml-mb=32 --wr=1/8 --interval=1 --seed=2 || exit 1
"$GC" start e2e-c --dir="$RUN" --mem=128 --ml-mb=48 --wr=1 --interval=1 --seed=3 || exit 1
for g in $names; do
	"$GC" wait "$g" --dir="$RUN" --timeout=180
	ok $? "$g: memload filled its buffer"
done
for g in $names; do
	"$GC" dump "$g" "$TMPD/$g.elf" --dir="$RUN"
	ok $? "$g: dumped with dump-guest-memory"
	"$GC" stop "$g" --dir="$RUN"
done
cd "$TMPD" || exit 1

"$DA" -q --json e2e-a.elf e2e-b.elf e2e-c.elf > da.json
ok $? "dedup-analyze exits 0 on real QEMU dumps"
python3 "$TOP/tests/e2e/count_elf.py" e2e-a.elf e2e-b.elf e2e-c.elf > py.json
ok $? "independent count ran"

# compare every field the independent count has
fields() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for x in d["dumps"]:
    print(x["path"], x["pages"], x["zero_pages"], x["nonzero_pages"], x["distinct_pages"], x["intra_pages"])
t = d["total"]
print("total", t["dumps"], t["pages"], t["zero_pages"], t["nonzero_pages"], t["distinct_pages"],
      t["intra_pages"], t["inter_pages"], t["min_ram_bytes"])' "$1"
}
want=$(fields py.json)
got=$(fields da.json)
printf '%s\n' "$want" | sed 's/^/# independent: /'
printf '%s\n' "$want" > want.txt
printf '%s\n' "$got" > got.txt
i=0
while read -r line; do
	i=$((i + 1))
	is "$(sed -n "${i}p" got.txt)" "$line" "equal to the independent count: ${line%% *}"
done < want.txt

# what the guests did must show: memload's buffer is one content repeated
python3 -c '
import json, sys
d = json.load(open("da.json"))
a = d["dumps"][0]
# 32 MiB of identical pages: at least 8191 of them are intra-VM sharing
sys.exit(0 if a["intra_pages"] >= 8191 else 1)'
ok $? "the wr=0 guest's 32 MiB memload buffer shows as intra-VM sharing"
is "$(python3 -c 'import json; d=json.load(open("da.json")); print(d["dumps"][0]["absent_pages"], d["total"]["absent_pages"])')" \
   "0 0" "QEMU ELF dumps have no absent pages"

# any number of workers, and compressed input, give the same numbers
"$DA" -q --csv -j 1 e2e-a.elf e2e-b.elf e2e-c.elf > j1.csv
"$DA" -q --csv -j 2 e2e-a.elf e2e-b.elf e2e-c.elf > j2.csv
is "$(cat j1.csv)" "$(cat j2.csv)" "-j 1 and -j 2 agree"
zstd -q -1 e2e-b.elf -o e2e-b.elf.zst
is "$("$DA" -q --csv e2e-a.elf e2e-b.elf.zst e2e-c.elf | tail -n 1)" "$(tail -n 1 j1.csv)" "a zstd-compressed dump gives the same totals"
is "$("$DA" -q --csv --hash=xxh128 e2e-a.elf e2e-b.elf e2e-c.elf | tail -n 1)" "$(tail -n 1 j1.csv)" "xxh128 gives the same totals"

# the same dumps through dedup-analyze-mpi on 1, 2 and 4 ranks: dedup-analyze's
# report field for field (the program is built where Open MPI is installed)
if command -v mpirun > /dev/null 2>&1; then
	. "$TOP/tests/fleet/lib-fleet.sh"
	"$DA" -q --json --all e2e-a.elf e2e-b.elf e2e-c.elf > all.json
	for n in 1 2 4; do
		mpi "$n" -q --json --all e2e-a.elf e2e-b.elf e2e-c.elf > "mpi$n.json"
		ok $? "dedup-analyze-mpi, $n rank(s): exit 0"
		same all.json "mpi$n.json" "dedup-analyze-mpi, $n rank(s), --all: dedup-analyze's report"
	done
	mpi 2 -q --csv rank=1:e2e-a.elf rank=1:e2e-b.elf rank=0:e2e-c.elf > mpi-placed.csv
	is "$(cat mpi-placed.csv)" "$(cat j1.csv)" "dedup-analyze-mpi, 2 ranks, the first two dumps on rank 1: the same CSV"
else
	echo "# dedup-analyze-mpi not checked: Open MPI is not installed (scripts/deps installs it)"
fi
done_testing
