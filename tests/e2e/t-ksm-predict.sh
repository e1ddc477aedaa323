#!/bin/sh
# dedup-analyze --ksm against the real thing: two tiny guests with memload
# (wr = 0) merge under host KSM until it settles; then their dumps go
# through dedup-analyze and the predicted pages_shared + pages_sharing must
# be within 2 % of what KSM reports for the two QEMU processes.  Zero pages
# are kept out of both sides with use_zero_pages=1 (guest RAM the guest never
# touched is zero in a dump but was never allocated, so KSM never sees it).
# Every KSM knob is restored afterwards, also on failure or Ctrl-C.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
[ -w "$KSM/run" ] || skip_all "no writable $KSM (kernel without KSM, or not root)"
need qemu-system-x86_64
ksm_lock
for k in $KSM_KNOBS; do [ -e "$KSM/$k" ] && echo "$k $(ksm_knob "$k")"; done > "$TMPD/ksm.before"
ksm_save
RUN=$TMPD/run
GC=$TOP/scripts/guestctl
at_exit "\"$GC\" stop ka --dir=$RUN; \"$GC\" stop kb --dir=$RUN"

echo 2 > "$KSM/run"
ksm_set use_zero_pages 1
ksm_set pages_to_scan 2000
ksm_set sleep_millisecs 10
"$GC" start ka --dir="$RUN" --mem=128 --ml-mb=48 --wr=0 --seed=11 || exit 1
"$GC" start kb --dir="$RUN" --mem=128 --ml-mb=48 --wr=0 --seed=12 || exit 1
"$GC" wait ka --dir="$RUN" && "$GC" wait kb --dir="$RUN"
ok $? "both guests filled their memload buffers"
pa=$(cat "$RUN/ka.pid") pb=$(cat "$RUN/kb.pid")
ksm_set run 1

merging() { echo $(( $(sed -n 's/^ksm_merging_pages //p' /proc/$pa/ksm_stat) + $(sed -n 's/^ksm_merging_pages //p' /proc/$pb/ksm_stat) )); }
# settled: two full scans in a row change the merged pages by < 1 %
prev=-1 scans=$(cat "$KSM/full_scans") settled=1 end=$(( $(date +%s) + 240 ))
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 1
	s=$(cat "$KSM/full_scans")
	[ "$s" -ge $((scans + 2)) ] || continue
	scans=$s
	cur=$(merging)
	if [ "$prev" -gt 0 ] && [ $(( (cur - prev) * 100 )) -lt "$prev" ] && [ $(( (prev - cur) * 100 )) -lt "$prev" ]; then
		settled=0
		break
	fi
	prev=$cur
done
ok $settled "KSM settled (merged pages of the two guests: $(merging), full scans $(cat "$KSM/full_scans"))"
real=$(merging)
shared=$(cat "$KSM/pages_shared") sharing=$(cat "$KSM/pages_sharing")
echo "# KSM: pages_shared $shared, pages_sharing $sharing, merging pages of the guests $real"
"$GC" dump ka "$TMPD/ka.elf" --dir="$RUN" && "$GC" dump kb "$TMPD/kb.elf" --dir="$RUN"
ok $? "dumped both guests"
"$GC" stop ka --dir="$RUN"; "$GC" stop kb --dir="$RUN"

"$DA" -q --json --ksm --use-zero-pages "$TMPD/ka.elf" "$TMPD/kb.elf" > "$TMPD/p.json"
ok $? "dedup-analyze --ksm ran"
pred=$(python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["ksm"]; print(k["pages_shared"] + k["pages_sharing"])' "$TMPD/p.json")
psharing=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ksm"]["pages_sharing"])' "$TMPD/p.json")
echo "# predicted: pages_shared + pages_sharing $pred (pages_sharing $psharing)"
within() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if b > 0 and abs(a - b) / b <= 0.02 else 1)' "$1" "$2"; }
within "$real" "$pred"
ok $? "merged pages of the guests ($real) within 2 % of the prediction ($pred)"
if [ "$real" -eq $((shared + sharing)) ]; then
	within "$sharing" "$psharing"
	ok $? "pages_sharing ($sharing) within 2 % of the prediction ($psharing)"
else
	ok 0 "# SKIP other processes merge pages too; global pages_sharing not comparable"
fi

ksm_restore
diff_knobs=0
while read -r k v; do [ "$(ksm_knob "$k")" = "$v" ] || diff_knobs=1; done < "$TMPD/ksm.before"
ok $diff_knobs "every KSM knob is back to its value before the test"
done_testing
