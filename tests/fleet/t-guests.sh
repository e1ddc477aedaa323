#!/bin/sh
# dedup-analyze-mpi on real guest dumps (those `make demo` leaves in
# build/demo, or the *.elf of the folder SAMEPAGE_GUEST_DUMPS): the dumps on
# 2 ranks, their fingerprints on 1 and 4, each the report of dedup-analyze
# field for field.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fleet/lib-fleet.sh"
dir=${SAMEPAGE_GUEST_DUMPS:-$BUILD/demo}
[ -n "${SAMEPAGE_GUEST_DUMPS:-}" ] || [ -d "$dir" ] || dir=$TOP/build/demo
set -- "$dir"/*.elf
[ -r "$1" ] || skip_all "no real guest dumps in $dir (make demo writes them; or set SAMEPAGE_GUEST_DUMPS)"
"$DA" -q --json --all --save-fp="$TMPD/fp" "$@" > "$TMPD/a.json"
ok $? "dedup-analyze on $# guest dumps"
is "$(j "$TMPD/a.json" 'd["total"]["dumps"], d["total"]["nonzero_pages"] > 0')" "($#, True)" \
   "$# dumps with non-zero pages"
mpi 2 -q --json --all "$@" > "$TMPD/m2.json"
ok $? "2 ranks on the dumps: exit 0"
same "$TMPD/a.json" "$TMPD/m2.json" "2 ranks on the dumps, --all"
cd "$TMPD/fp" || exit 1
"$DA" -q --json --all *.fp > ../f.json
for n in 1 4; do
	mpi $n -q --json --all *.fp > ../m.json
	same ../f.json ../m.json "$n rank(s) on their fingerprints, --all"
done
done_testing
