#!/bin/sh
# Real KSM, no guest: two `memload --mergeable` processes of 32 MiB each hold
# 2 x 8192 identical pages.  ksm-sample switches KSM on (--ksm), samples until
# it has settled, and must show pages_sharing rising to the expected amount
# and every page of both processes merging; at exit every knob is back and
# the pages are unmerged again (KSM was off before).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -r /proc/self/ksm_stat ] || skip_all "kernel without /proc/PID/ksm_stat (before 6.1)"
ksm_real_begin
T=$TMPD
before=$(ksm_knobs)
mps=$(cat "$KSM/max_page_sharing")

m1=$(start_memload "$T/m1.log" --mergeable --size=32M --duration=120 -q)
m2=$(start_memload "$T/m2.log" --mergeable --size=32M --duration=120 -q)
at_exit "kill_pids $m1 $m2"
wait_until 20 grep -q filled "$T/m1.log"
ok $? "memload 1 filled its buffer"
wait_until 20 grep -q filled "$T/m2.log"
ok $? "memload 2 filled its buffer"

"$KS" --ksm=run=1,pages_to_scan=5000,sleep_millisecs=10,use_zero_pages=0 --pid="$m1,$m2" -i 0.25 -d 60 \
	--settle=stop -o "$T/h.csv" -V "$T/v.csv" --prom="$T/k.prom" 2> "$T/err"
is "$?" 0 "ksm-sample exits 0"
settle=$(grep 'settled after' "$T/err")
like "$settle" "^ksm-sample: settled after [0-9.]+ s .*; 90% of the final saving after [0-9.]+ s$" \
	"--settle reports the time to settle and to 90 % ($settle)"
ts=$(echo "$settle" | sed 's/.*settled after \([0-9.]*\) s.*/\1/')
t90=$(echo "$settle" | sed 's/.*saving after \([0-9.]*\) s$/\1/')
ok "$(num_le "$t90" "$ts"; echo $?)" "90 % of the saving comes no later than settling ($t90 <= $ts)"
last=$(csv_col "$T/h.csv" elapsed_s | tail -n 1)
ok "$(awk -v a="$last" -v b="$ts" 'BEGIN { d = a - b; exit !(d > -0.01 && d < 0.01) }'; echo $?)" \
	"--settle=stop ends the run at that sample ($last)"

# each process: all 8192 pages merged (identical content)
for p in "$m1" "$m2"; do
	row=$(grep ",memload\[$p\],$p,pid," "$T/v.csv" | tail -n 1)
	is "$(echo "$row" | awk -F, '{ print $(NF - 4) }')" 8192 "memload $p: ksm_merging_pages 8192 in the last row"
	is "$(echo "$row" | awk -F, '{ print $(NF - 2) }')" 1 "memload $p: ksm_mergeable"
	rss=$(echo "$row" | awk -F, '{ print $NF }')
	ok "$([ "$rss" -ge 33554432 ]; echo $?)" "memload $p: rss_bytes covers its 32 MiB ($rss)"
	profit=$(echo "$row" | awk -F, '{ print $(NF - 3) }')
	rmap=$(echo "$row" | awk -F, '{ print $(NF - 6) }')
	ok "$([ "$rmap" -eq 8192 ] && [ "$profit" -gt $((8192 * 4096 - 8192 * 128)) ] &&
		[ "$profit" -lt $((8192 * 4096)) ]; echo $?)" \
		"memload $p: ksm_process_profit = merged bytes - rmap items' cost ($profit, $rmap items)"
	first=$(grep ",memload\[$p\],$p,pid," "$T/v.csv" | head -n 1 | awk -F, '{ print $(NF - 4) }')
	is "$first" 0 "memload $p: nothing merged in the first row"
done
like "$(cat "$T/k.prom")" "samepage_vm_ksm_merging_pages\{vm=\"memload\[$m1\]\",pid=\"$m1\",source=\"pid\"\} 8192" \
	"per-process figures in the Prometheus file"

# the host counters: from nothing to the expected amount
sharing_first=$(csv_col "$T/h.csv" pages_sharing | head -n 1)
sharing_last=$(csv_col "$T/h.csv" pages_sharing | tail -n 1)
shared_last=$(csv_col "$T/h.csv" pages_shared | tail -n 1)
saved_last=$(csv_col "$T/h.csv" saved_bytes | tail -n 1)
is "$saved_last" $((sharing_last * 4096)) "saved_bytes = pages_sharing * 4096"
is "$(csv_col "$T/h.csv" run | tail -n 1)" 1 "run=1 recorded during the run"
# 16384 copies of one page with max_page_sharing M: 16384/M full stable pages
exp_shared=$((16384 / mps + (16384 % mps >= 2 ? 1 : 0)))
exp_sharing=$((16384 - exp_shared - (16384 % mps == 1 ? 1 : 0)))
others=0
for f in /proc/[0-9]*/ksm_stat; do
	p=${f#/proc/}; p=${p%/ksm_stat}
	[ "$p" = "$m1" ] || [ "$p" = "$m2" ] && continue
	grep -q '^ksm_mergeable: yes' "$f" 2>/dev/null && others=$((others + 1))
done
if [ "$others" -eq 0 ]; then
	is "$((sharing_last - sharing_first))" "$exp_sharing" "pages_sharing rose by exactly $exp_sharing"
	is "$shared_last" "$exp_shared" "pages_shared = $exp_shared full stable pages (max_page_sharing $mps)"
else
	echo "# $others other mergeable processes on this host: global counters include them"
	ok "$([ $((sharing_last - sharing_first)) -ge "$exp_sharing" ]; echo $?)" \
		"pages_sharing rose by at least $exp_sharing ($sharing_first -> $sharing_last)"
	ok "$([ "$shared_last" -ge 1 ]; echo $?)" "pages_shared > 0 ($shared_last)"
fi

# after the run: the host as before
is "$(ksm_knobs)" "$before" "every KSM knob is back"
is "$(ksm_stat_of "$m1" ksm_merging_pages)" 0 "memload 1 unmerged again (KSM was off before)"
is "$(ksm_stat_of "$m2" ksm_merging_pages)" 0 "memload 2 unmerged again"

done_testing
