#!/bin/sh
# The KSM prediction for one content of k copies against what a 6.18 kernel
# reports for one process holding k identical pages with max_page_sharing
# M = 256 (docs/analyses.md, "KSM prediction").  Chains and dups were
# measured at every k below; pages_shared/pages_sharing at 257, 258, 513 and
# 600, and follow at the others from each full KSM page carrying M mappings.
# The same rule checked with M = 2 and M = 3, where every case is a few pages.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
cd "$TMPD" || exit 1
# ksm M K: pages_shared pages_sharing pages_unshared chains dups for one dump of K copies of one content
ksm() {
	echo "ram 0 $2 same:1" > "k$2.spec"
	"$TB/formats/mkelf" "k$2.spec" "k$2.elf" || return 1
	"$DA" -q --json --ksm --max-page-sharing="$1" "k$2.elf" | python3 -c '
import json, sys
k = json.load(sys.stdin)["ksm"]
print(*(k[f] for f in ("pages_shared", "pages_sharing", "pages_unshared", "stable_node_chains", "stable_node_dups")))'
}
#        k    shared sharing unshared chains dups
while read -r k want; do
	is "$(ksm 256 "$k")" "$want" "M = 256, k = $k: shared sharing unshared chains dups as the kernel"
done <<'T'
1 0 0 1 0 0
2 1 1 0 0 0
256 1 255 0 0 0
257 1 255 0 0 0
258 2 256 0 1 2
259 2 257 0 1 2
512 2 510 0 1 2
513 2 510 0 1 2
514 3 511 0 1 3
600 3 597 0 1 3
T
# M = 2: a chain from k = 4 (two KSM pages); k = 5 leaves one page in no counter
while read -r k want; do
	is "$(ksm 2 "$k")" "$want" "M = 2, k = $k"
done <<'T'
2 1 1 0 0 0
3 1 1 0 0 0
4 2 2 0 1 2
5 2 2 0 1 2
6 3 3 0 1 3
T
is "$(ksm 3 7)" "2 4 0 1 2" "M = 3, k = 7: two full KSM pages, one page left"
is "$(ksm 3 8)" "3 5 0 1 3" "M = 3, k = 8: a third KSM page for a remainder of 2"
# text and CSV carry the same numbers as the JSON (k = 513, M = 256)
"$DA" -q --csv --ksm k513.elf > k.csv
is "$(grep '^ksm,' k.csv | cut -d, -f2,4-8)" "256,2,510,0,1,2" "CSV: max_page_sharing, shared, sharing, unshared, chains, dups"
"$DA" -q --ksm k513.elf > k.txt
is "$(awk '$1 ~ /^(pages_shared|pages_sharing|pages_unshared|stable_node_chains|stable_node_dups)$/ { printf "%s ", $2 }' k.txt)" \
   "2 510 0 1 2 " "text: the same five counters"
done_testing
