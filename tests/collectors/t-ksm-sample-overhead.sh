#!/bin/sh
# ksm-sample's own CPU cost at a 1 s interval with 10 processes recorded
# (every output on: host CSV, per-VM CSV, Prometheus file) must stay below
# 0.5 % of one core.  Measured from the kernel's per-task run time
# (/proc/PID/schedstat, nanoseconds) over the run, start-up included.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -x "$KS" ] && [ -x "$BIN/memload" ] || bail "$KS or $BIN/memload not built (make)"
[ -r /proc/self/schedstat ] || skip_all "kernel without schedstat"
T=$TMPD
pids=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	p=$(start_memload "$T/m$i.log" --size=4M --interval=1 -q)
	pids="$pids $p"
done
# shellcheck disable=SC2086
at_exit "kill_pids $pids"
list=$(echo $pids | tr ' ' ,)
secs=20
"$KS" --no-libvirt --pid="$list" -i 1 -d 60 -o "$T/h.csv" -V "$T/v.csv" --prom="$T/k.prom" 2> "$T/err" &
ks=$!
at_exit "kill_pids $ks"
wait_until 10 test -s "$T/h.csv"
start=$(date +%s.%N)
run0=$(cut -d' ' -f1 "/proc/$ks/schedstat")
sleep $secs
run1=$(cut -d' ' -f1 "/proc/$ks/schedstat")
end=$(date +%s.%N)
kill -TERM "$ks"
wait "$ks"
is "$?" 0 "ksm-sample stops cleanly on SIGTERM"
is "$(cat "$T/err")" "" "nothing on stderr"
rows=$(csv_rows "$T/v.csv")
ok "$([ "$rows" -ge $((10 * secs)) ]; echo $?)" "10 processes recorded every second ($rows per-process rows)"
pct=$(awk -v a="$run0" -v b="$run1" -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", 100 * (b - a) / 1e9 / (e - s) }')
echo "# ksm-sample used $pct % of one core over $secs s (1 s interval, 10 processes, all outputs)"
ok "$(awk -v p="$pct" 'BEGIN { exit !(p < 0.5) }'; echo $?)" "CPU overhead below 0.5 % of a core ($pct %)"

done_testing
