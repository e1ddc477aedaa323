#!/bin/sh
# ksm-sample without touching the host: usage, CSV columns and values read
# from a scratch KSM directory (--ksm-dir), empty cells for missing and
# unreadable files, the fixed schedule, Prometheus output, --ksm ordering and
# restore on a scratch directory, --pid/--match, libvirt unreachable.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -x "$KS" ] || bail "$KS not built (make)"
T=$TMPD
# the KSM owner records of --ksm on scratch folders stay in the scratch space
export SAMEPAGE_STATE_DIR=$T/state

# ---- usage ----
"$KS" --help > "$T/help" 2>&1
ok $? "--help exits 0"
like "$(cat "$T/help")" "--interval=SECONDS" "--help lists the options"
is "$("$KS" --version)" "ksm-sample (samepage) 0.1" "--version"
for args in "--interval=0" "--interval=abc" "--duration=-1" "--bogus" "--settle=maybe" \
	    "--ksm=run" "--pid=abc" "extra" "--connect=qemu:///system --no-libvirt"; do
	# shellcheck disable=SC2086
	"$KS" $args -d 0 > /dev/null 2> "$T/err"
	is "$?" 2 "bad usage exits 2: $args"
done
like "$(head -n 1 "$T/err")" "^ksm-sample: " "errors start with the program name"

# ---- a scratch KSM directory ----
F=$T/ksm
mkdir "$F"
put() { printf '%s\n' "$2" > "$F/$1"; }
put run 0
put pages_shared 64
put pages_sharing 16320
put full_scans 5
put use_zero_pages 1
put ksm_zero_pages 10
put max_page_sharing 256
put pages_to_scan 100
put sleep_millisecs 20
put advisor_mode "[none] scan-time"
put future_counter 42           # a counter of some newer kernel
ln -s "$T/nowhere" "$F/broken_counter"   # listed but unreadable
snap() { (cd "$F" && for f in *; do printf '%s ' "$f"; stat -c '%y' "$f" 2>/dev/null || echo -; cat "$f" 2>/dev/null; done); }
snap > "$T/before"
knobs_before=$(ksm_knobs "$F")

"$KS" --ksm-dir="$F" --no-libvirt -i 0.2 -d 1 -o "$T/a.csv" --prom="$T/a.prom" 2> "$T/a.err"
is "$?" 0 "sampling a scratch directory exits 0"
is "$(cat "$T/a.err")" "" "nothing on stderr"
is "$(csv_rows "$T/a.csv")" 6 "samples at 0, 0.2, ..., 1.0: 6 rows"
hdr=$(head -n 1 "$T/a.csv")
like "$hdr" "^time,elapsed_s,advisor_mode,broken_counter,full_scans,future_counter,general_profit," \
	"header: time, elapsed, then every KSM file sorted (core files included)"
like "$hdr" ",saved_bytes,sharing_ratio,cpu_user_pct,cpu_system_pct,cpu_iowait_pct,cpu_steal_pct,cpu_idle_pct,ksmd_cpu_pct,mem_MemTotal_bytes," \
	"derived, CPU and meminfo columns"
like "$hdr" ",vm_count,vm_rss_bytes,vm_used_bytes$" "VM totals last"
is "$(csv_col "$T/a.csv" pages_sharing | sort -u)" 16320 "pages_sharing read"
is "$(csv_col "$T/a.csv" future_counter | sort -u)" 42 "a file unknown to the program becomes a column"
is "$(csv_col "$T/a.csv" broken_counter | sort -u)" "" "unreadable file: empty cell"
is "$(csv_col "$T/a.csv" general_profit | sort -u)" "" "missing counter: empty cell"
is "$(csv_col "$T/a.csv" advisor_mode | sort -u)" none "choice file: the selected value"
is "$(csv_col "$T/a.csv" saved_bytes | sort -u)" $(( (16320 + 10) * 4096 )) \
	"saved_bytes = (pages_sharing + ksm_zero_pages with use_zero_pages=1) * 4096"
is "$(csv_col "$T/a.csv" sharing_ratio | sort -u)" 255.000 "sharing_ratio = pages_sharing / pages_shared"
bad=$(csv_col "$T/a.csv" elapsed_s | awk '{ d = $1 - 0.2 * (NR - 1); if (d < -0.001 || d > 0.05) print NR": "$1 }')
is "$bad" "" "every sample within 50 ms of its slot"
like "$(csv_col "$T/a.csv" time | head -n 1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
	"ISO-8601 UTC timestamps"
is "$(csv_col "$T/a.csv" time | sort -c 2>&1 && csv_col "$T/a.csv" time | sort -u | wc -l)" 6 \
	"timestamps strictly increasing"
is "$(csv_col "$T/a.csv" cpu_idle_pct | head -n 1)" "" "first row: no CPU interval yet"
sums=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^cpu_.*_pct$/) c[++n] = i; next }
	NR > 2 { s = 0; for (j = 1; j <= n; j++) s += $c[j]; printf "%.2f\n", s }' "$T/a.csv" | sort -u)
ok "$(echo "$sums" | awk '{ if ($1 < 99.9 || $1 > 100.1) bad = 1 } END { print bad + 0 }')" \
	"CPU modes add up to 100 % in every later row ($(echo $sums))"
memtotal=$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)
is "$(csv_col "$T/a.csv" mem_MemTotal_bytes | sort -u)" "$memtotal" "mem_MemTotal_bytes = /proc/meminfo MemTotal in bytes"
if grep -qx ksmd /proc/[0-9]*/comm 2>/dev/null; then
	like "$(csv_col "$T/a.csv" ksmd_cpu_pct | sed -n 2p)" '^[0-9]+\.[0-9]{2}$' "ksmd_cpu_pct from the second row"
fi
is "$(csv_col "$T/a.csv" vm_count | sort -u)" 0 "no VMs"
snap > "$T/after"
cmp -s "$T/before" "$T/after"
ok $? "without --ksm nothing in the KSM directory is written (contents and mtimes)"

# ---- Prometheus ----
P=$T/a.prom
like "$(cat "$P")" "node_ksmd_pages_sharing 16320" "node_exporter name for pages_sharing"
like "$(cat "$P")" "node_ksmd_sleep_seconds 0.02" "sleep_millisecs as node_ksmd_sleep_seconds"
like "$(cat "$P")" "# TYPE node_ksmd_full_scans_total counter" "full_scans is a counter"
like "$(cat "$P")" "samepage_ksm_saved_bytes 66887680" "saved bytes"
like "$(cat "$P")" 'samepage_ksm_advisor_mode_info\{value="none"\} 1' "text file as an info metric"
like "$(cat "$P")" "samepage_mem_MemTotal_bytes $memtotal" "meminfo"
dups=$(awk '/^# TYPE/ { if (seen[$3]++) print "dup " $3; fam = $3; next } /^#/ { next }
	{ n = $1; sub(/\{.*/, "", n); if (n != fam) print "stray " n }' "$P")
is "$dups" "" "one TYPE line per family, samples right under it"
is "$(ls "$T" | grep -c '\.tmp$')" 0 "no temporary file left"

# atomic rewrite: a reader never sees half a file
"$KS" --ksm-dir="$F" --no-libvirt -i 0.01 -d 2 -o /dev/null --prom="$T/b.prom" &
ks=$!
wait_until 5 test -f "$T/b.prom"
partial=0 reads=0
while running "$ks"; do
	reads=$((reads + 1))
	tail -n 1 "$T/b.prom" | grep -q '^samepage_vm_count 0$' || partial=$((partial + 1))
done
wait "$ks"
is "$partial" 0 "$reads reads during rewrites: every one complete"

# ---- a file vanishing mid-run ----
"$KS" --ksm-dir="$F" --no-libvirt -i 0.2 -d 2 -o "$T/c.csv" 2> "$T/c.err" &
ks=$!
sleep 0.9
mv "$F/pages_sharing" "$T/pages_sharing.away"
wait "$ks"
is "$?" 0 "file removed mid-run: still exit 0"
mv "$T/pages_sharing.away" "$F/pages_sharing"
is "$(csv_col "$T/c.csv" pages_sharing | head -n 1)" 16320 "present at first"
is "$(csv_col "$T/c.csv" pages_sharing | tail -n 1)" "" "then an empty cell"
is "$(csv_col "$T/c.csv" saved_bytes | tail -n 1)" "" "and no derived saving"
is "$(csv_rows "$T/c.csv")" 11 "no sample lost"

# ---- fixed schedule: no drift over many samples ----
"$KS" --ksm-dir="$F" --no-libvirt -i 0.05 -d 3 -o "$T/d.csv"
is "$(csv_rows "$T/d.csv")" 61 "3 s at 0.05 s: 61 samples"
last=$(csv_col "$T/d.csv" elapsed_s | tail -n 1)
ok "$(awk -v l="$last" 'BEGIN { print !(l >= 3.0 && l < 3.05) }')" "last sample at 3.0 s, not later ($last)"

# ---- --ksm on the scratch directory ----
"$KS" --ksm-dir="$F" --no-libvirt --ksm=run=1,max_page_sharing=512,pages_to_scan=1000 -v \
	-i 0.2 -d 0.4 -o "$T/k.csv" 2> "$T/k.err"
is "$?" 0 "--ksm run exits 0"
is "$(csv_col "$T/k.csv" run | sort -u)" 1 "run=1 during the run"
is "$(csv_col "$T/k.csv" max_page_sharing | sort -u)" 512 "max_page_sharing=512 during the run"
is "$(csv_col "$T/k.csv" pages_to_scan | sort -u)" 1000 "pages_to_scan=1000 during the run"
is "$(ksm_knobs "$F")" "$knobs_before" "every knob restored after a normal exit"
order=$(sed -n 's/^ksm-sample: ksm: \([a-z_]*=[0-9]*\) .*/\1/p' "$T/k.err" | tr '\n' ' ')
is "$order" "run=2 max_page_sharing=512 pages_to_scan=1000 run=1 run=2 max_page_sharing=256 pages_to_scan=100 run=0 " \
	"unmerge before max_page_sharing changes, run last; the same when restoring"

"$KS" --ksm-dir="$F" --no-libvirt --ksm=run=1,nonsense=1 -d 0 -o /dev/null 2> "$T/e.err"
is "$?" 2 "unknown knob: exit 2"
like "$(cat "$T/e.err")" "not a KSM setting" "unknown knob named"
is "$(ksm_knobs "$F")" "$knobs_before" "unknown knob: nothing written"
"$KS" --ksm-dir="$F" --no-libvirt --ksm=pages_sharing=5 -d 0 -o /dev/null 2> /dev/null
is "$?" 2 "a counter is not a knob"

"$KS" --ksm-dir="$F" --no-libvirt --ksm=run=1,sleep_millisecs=5 -d 1 -o /dev/full 2> "$T/f.err"
is "$?" 1 "write error: exit 1"
like "$(cat "$T/f.err")" "ksm-sample: standard output|/dev/full: write error" "write error reported"
is "$(ksm_knobs "$F")" "$knobs_before" "knobs restored after an error"

for sig in INT TERM HUP; do
	"$KS" --ksm-dir="$F" --no-libvirt --ksm=run=1,sleep_millisecs=5 -i 0.1 -o /dev/null &
	ks=$!
	wait_until 5 grep -qx 1 "$F/run"
	kill -s "$sig" "$ks"
	wait "$ks"
	is "$?" 0 "SIG$sig: exit 0"
	is "$(ksm_knobs "$F")" "$knobs_before" "SIG$sig: every knob restored"
done

# ---- --pid and --match ----
cp /bin/sleep "$T/kstestsleep"
"$T/kstestsleep" 30 &
p1=$!
sleep 0.8 &
p2=$!
at_exit "kill $p1 2>/dev/null"
"$KS" --ksm-dir="$F" -i 0.2 -d 1.6 --pid="$p1,$p2,999999999" -V "$T/p.csv" -o "$T/ph.csv" 2> "$T/p.err"
is "$?" 0 "--pid run exits 0"
is "$(grep -c "^" "$T/p.err")" 1 "one warning for the missing PID"
like "$(cat "$T/p.err")" "pid 999999999: no such process" "it names the PID"
is "$(grep -c ",kstestsleep\[$p1\],$p1,pid," "$T/p.csv")" 9 "a row per sample for the live process"
n2=$(grep -c ",sleep\[$p2\],$p2,pid," "$T/p.csv")
ok "$([ "$n2" -ge 2 ] && [ "$n2" -le 6 ]; echo $?)" "the process that ended has rows until it ended ($n2)"
rss=$(grep ",kstestsleep\[$p1\]," "$T/p.csv" | tail -n 1 | awk -F, '{ print $NF }')
ok "$([ "${rss:-0}" -gt 100000 ]; echo $?)" "rss_bytes recorded ($rss)"
is "$(csv_col "$T/ph.csv" vm_count | head -n 1)" 2 "vm_count counts both while they live"
is "$(csv_col "$T/ph.csv" vm_count | tail -n 1)" 1 "and one after the other ended"
is "$(csv_col "$T/p.csv" ksm_mergeable | sort -u)" 0 "sleep is not mergeable"

"$KS" --ksm-dir="$F" -i 0.2 -d 0.2 --match='kstest*' -V "$T/m.csv" -o /dev/null 2> "$T/m.err"
is "$(grep -c ",kstestsleep\[$p1\],$p1,match," "$T/m.csv")" 2 "--match finds the process by name"
is "$(grep -vc "kstestsleep" "$T/m.csv")" 1 "and nothing else (header only)"

# ---- libvirt not reachable ----
"$KS" --ksm-dir="$F" --connect="qemu+unix:///system?socket=$T/no-such-socket" -i 0.5 -d 5.5 \
	-o "$T/l.csv" -V "$T/lv.csv" 2> "$T/l.err"
is "$?" 0 "libvirt unreachable: still samples the host"
is "$(grep -c "^" "$T/l.err")" 1 "exactly one warning in 5.5 s (it retried once meanwhile)"
like "$(cat "$T/l.err")" "^ksm-sample: libvirt: cannot connect to qemu\+unix" "the warning says libvirt"
is "$(csv_rows "$T/l.csv")" 12 "host rows all there"
is "$(csv_rows "$T/lv.csv")" 0 "no VM rows"

done_testing
