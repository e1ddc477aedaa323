#!/bin/sh
# scripts/esxtop-import on a fixture laid out like `esxtop -b` output
# (perfmon CSV, "\\host\Group Memory(GID:VM)\Counter" headers): PSHARE and
# the per-VM ZERO/SHRD/SHRDSVD/COWH figures land in ksm-sample's columns, and
# the result charts with the same scripts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

need python3
T=$TMPD
D=$TOP/tests/collectors/data
IMP=$TOP/scripts/esxtop-import

"$IMP" "$D/esxtop-batch.csv" -o "$T/h.csv" -V "$T/v.csv" 2> "$T/err"
is "$?" 0 "import exits 0"
is "$(cat "$T/err")" "" "nothing on stderr"
cmp -s "$T/h.csv" "$D/esxtop-batch.host.expect"
ok $? "host CSV as expected"
cmp -s "$T/v.csv" "$D/esxtop-batch.vm.expect"
ok $? "per-VM CSV as expected"

# the same schema as ksm-sample: every ksm-sample column name is there
"$KS" --ksm-dir="$T/none" --no-libvirt -d 0 -o "$T/ks.csv" 2> /dev/null
missing=$(head -n 1 "$T/ks.csv" | tr , '\n' | while read -r c; do
	head -n 1 "$T/h.csv" | tr , '\n' | grep -qx "$c" || echo "$c"; done)
is "$missing" "" "host CSV has every column of ksm-sample's core schema"
"$KS" --ksm-dir="$T/none" --no-libvirt -d 0 -o /dev/null -V "$T/ksv.csv" 2> /dev/null
is "$(head -n 1 "$T/v.csv" | cut -d, -f1-22)" "$(head -n 1 "$T/ksv.csv")" \
	"per-VM CSV: ksm-sample's columns first, esx_* after"

# values worked out by hand from the fixture (second sample, t = 5 s)
row=$(sed -n 3p "$T/h.csv")
col() { echo "$2" | awk -F, -v c="$1" -v h="$(head -n 1 "$3")" \
	'BEGIN { n = split(h, H, ","); for (i = 1; i <= n; i++) if (H[i] == c) k = i } { print $k }'; }
is "$(col time "$row" "$T/h.csv")" 2026-11-22T10:00:05.000Z "time from the PDH column, UTC"
is "$(col elapsed_s "$row" "$T/h.csv")" 5.000 "seconds since the first sample"
is "$(col pages_shared "$row" "$T/h.csv")" $((150 * 256)) "PShare Common 150 MB -> pages_shared"
is "$(col pages_sharing "$row" "$T/h.csv")" $((450 * 256)) "PShare Savings 450 MB -> pages_sharing"
is "$(col saved_bytes "$row" "$T/h.csv")" $((450 * 1048576)) "saved_bytes"
is "$(col sharing_ratio "$row" "$T/h.csv")" 3.000 "sharing ratio"
is "$(col esx_pshare_shared_bytes "$row" "$T/h.csv")" $((600 * 1048576)) "PShare Shared kept"
is "$(col cpu_idle_pct "$row" "$T/h.csv")" 64.75 "100 - Physical Cpu(_Total) % Util Time"
is "$(col vm_count "$row" "$T/h.csv")" 2 "the system group (Memory Size 0) is no VM"
is "$(col vm_rss_bytes "$row" "$T/h.csv")" $(((1800 + 3900) * 1048576)) "vm_rss_bytes = sum of consumed"
is "$(grep -c '"db, primary (01)",1002,esxtop' "$T/v.csv")" 4 "VM name with comma and parentheses kept, quoted"
web=$(grep '^2026-11-22T10:00:05.000Z,5.000,web-01,' "$T/v.csv")
is "$(col ksm_merging_pages "$web" "$T/v.csv")" $((400 * 256)) "SHRD -> ksm_merging_pages"
is "$(col ksm_zero_pages "$web" "$T/v.csv")" $((100 * 256)) "ZERO -> ksm_zero_pages"
is "$(col ksm_process_profit "$web" "$T/v.csv")" $((300 * 1048576)) "SHRDSVD -> ksm_process_profit"
is "$(col esx_cowh_bytes "$web" "$T/v.csv")" $((50 * 1048576)) "COWH kept"
is "$(col rss_bytes "$web" "$T/v.csv")" $((1800 * 1048576)) "consumed -> rss_bytes"

"$IMP" "$D/esxtop-batch.csv" --all-groups -V "$T/all.csv" > /dev/null
is "$(grep -c ',system,5,esxtop,' "$T/all.csv")" 4 "--all-groups keeps the system group"
printf 'a,b\n1,2\n' > "$T/bad.csv"
"$IMP" "$T/bad.csv" > /dev/null 2> "$T/bad.err"
is "$?" 1 "not esxtop: exit 1"
like "$(cat "$T/bad.err")" "not an esxtop batch file" "and says so"
"$IMP" > /dev/null 2>&1
is "$?" 2 "no input: exit 2"

# charts the same way
"$TOP/scripts/plot-sharing" "$T/h.csv" -o "$T/s.png" --keep="$T/ks"
is "$?" 0 "plot-sharing takes the import"
# used by the VMs reaches 6 GiB: the memory axis is in GiB
is "$(cat "$T/ks/p1-s1.dat" | tr '\n' ' ')" "0 0 5 0.439453 10 0.878906 15 0.893555 " "saved series in GiB over seconds"
like "$(cat "$T/ks/plot.gp")" "memory \(GiB\)" "axis labelled GiB"
"$TOP/scripts/plot-vms" "$T/v.csv" -o "$T/v.png" --keep="$T/kv"
is "$?" 0 "plot-vms takes the import"
is "$(cut -f3 "$T/kv/series.tsv" | sort -u | tr '\n' '|')" "db, primary (01)|web-01|" "one curve per VM"

done_testing
