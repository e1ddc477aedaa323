#!/bin/sh
# scripts/plot-sharing, plot-cpu and plot-vms on CSVs with known values: the
# gnuplot data files hold the expected series in the expected units, and a
# PNG (800x500) or SVG is produced.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

need gnuplot
T=$TMPD
S=$TOP/scripts
MiB=1048576

# A: 10 minutes, one sample a minute; a quoted comma in a column on the way
awk -v M=$MiB 'BEGIN {
	print "time,elapsed_s,note,pages_shared,pages_sharing,pages_volatile,saved_bytes,cpu_user_pct,cpu_system_pct,cpu_iowait_pct,cpu_steal_pct,cpu_idle_pct,ksmd_cpu_pct,vm_used_bytes"
	for (k = 0; k <= 10; k++)
		printf "2026-01-01T00:%02d:00.000Z,%d.000,\"a,b\",%d,%d,500,%.0f,%d,%d,1,0,%d,%d,%s\n",
			k, 60 * k, 100 * k, 25600 * k, 100 * M * k, 20 + k, 10, 69 - k, 10 + k,
			k ? sprintf("%.0f", (2000 - 100 * k) * M) : ""
}' > "$T/a.csv"
# B: 20000 s, up to 3000 MiB saved
awk -v M=$MiB 'BEGIN {
	print "time,elapsed_s,pages_shared,pages_sharing,pages_volatile,saved_bytes,cpu_idle_pct,ksmd_cpu_pct"
	for (k = 0; k <= 10; k++)
		printf "t%d,%d,%d,%d,0,%.0f,%d,%d\n", k, 2000 * k, k, 76800 * k, 300 * M * k, 50, 5
}' > "$T/b.csv"

png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'; }
dat() { tr '\n' ' ' < "$1"; }

"$S/plot-sharing" "$T/a.csv" -o "$T/a.png" --keep="$T/ka"
is "$?" 0 "plot-sharing exits 0"
is "$(head -c 8 "$T/a.png" | od -An -c | tr -d ' ')" '211PNG\r\n032\n' "a PNG is produced"
is "$(png_size "$T/a.png")" 800x500 "800x500 pixels"
is "$(cut -f2-4 "$T/ka/series.tsv" | tr '\t\n' ':|')" \
	"1:saved:saved_bytes|1:used by VMs:vm_used_bytes|2:pages_sharing:pages_sharing|2:pages_shared:pages_shared|2:pages_volatile:pages_volatile|" \
	"series: saved and used on top, the page counters below"
is "$(dat "$T/ka/p1-s1.dat")" "0 0 1 100 2 200 3 300 4 400 5 500 6 600 7 700 8 800 9 900 10 1000 " \
	"saved: minutes (10 min span) and MiB"
is "$(dat "$T/ka/p1-s2.dat")" "1 1900 2 1800 3 1700 4 1600 5 1500 6 1400 7 1300 8 1200 9 1100 10 1000 " \
	"used by VMs: empty cell skipped"
is "$(dat "$T/ka/p2-s3.dat")" "0 0 1 25600 2 51200 3 76800 4 102400 5 128000 6 153600 7 179200 8 204800 9 230400 10 256000 " \
	"pages_sharing in pages"
is "$(sort -u "$T/ka/p2-s5.dat" | cut -d' ' -f2 | sort -u)" 500 "pages_volatile"
gp=$(cat "$T/ka/plot.gp")
like "$gp" "set terminal pngcairo size 800,500" "PNG terminal at 800x500"
like "$gp" "set xlabel 'time \(min\)'" "x axis in minutes"
like "$gp" "set ylabel 'memory \(MiB\)'" "y axis in MiB"
like "$gp" "noenhanced" "labels printed as they are (no _ subscripts)"

# two CSVs: one curve each, labelled; the longer span and the larger values pick the units
"$S/plot-sharing" "$T/a.csv" "$T/b.csv" --labels=small,big --title="two runs" -o "$T/ab.svg" --keep="$T/kab"
is "$?" 0 "plot-sharing with two CSVs"
like "$(head -c 400 "$T/ab.svg")" '<svg' "an SVG is produced"
like "$(head -c 600 "$T/ab.svg")" 'width="800"' "SVG 800 wide"
is "$(cut -f3 "$T/kab/series.tsv" | head -n 2 | tr '\n' '|')" "small saved|small used by VMs|" "curves labelled per CSV"
is "$(tail -n 1 "$T/kab/p1-s1.dat")" "0.166667 0.976562" "600 s = 0.166667 h, 1000 MiB = 0.976562 GiB"
is "$(tail -n 1 "$T/kab/p1-s6.dat")" "5.55556 2.92969" "20000 s in hours, 3000 MiB in GiB"
like "$(cat "$T/kab/plot.gp")" "time \(h\).*|memory \(GiB\)" "units: hours and GiB"
like "$(cat "$T/kab/plot.gp")" "two runs" "title"

# plot-cpu
"$S/plot-cpu" "$T/a.csv" -o "$T/c.png" --keep="$T/kc"
is "$?" 0 "plot-cpu exits 0"
is "$(png_size "$T/c.png")" 800x500 "plot-cpu PNG 800x500"
is "$(cut -f3 "$T/kc/series.tsv" | tr '\n' '|')" "user|system|iowait|steal|ksmd|" "host modes and ksmd"
is "$(dat "$T/kc/p2-s5.dat")" "0 10 1 11 2 12 3 13 4 14 5 15 6 16 7 17 8 18 9 19 10 20 " "ksmd_cpu_pct series"
is "$(dat "$T/kc/p1-s1.dat" | cut -d' ' -f1-6)" "0 20 1 21 2 22" "cpu_user_pct series"
"$S/plot-cpu" "$T/a.csv" "$T/b.csv" -o "$T/c2.png" --keep="$T/kc2"
is "$(cut -f3,4 "$T/kc2/series.tsv" | tr '\t\n' ':|')" \
	"a busy:100-cpu_idle_pct|a ksmd:ksmd_cpu_pct|b busy:100-cpu_idle_pct|b ksmd:ksmd_cpu_pct|" \
	"several CSVs: busy share and ksmd per CSV"
is "$(head -n 2 "$T/kc2/p1-s1.dat" | tr '\n' ' ')" "0 31 0.0166667 32 " "busy = 100 - cpu_idle_pct"

# plot-vms: one curve per VM, names with commas survive
awk -v M=$MiB 'BEGIN {
	print "time,elapsed_s,vm,pid,source,ksm_merging_pages,rss_bytes"
	for (k = 0; k <= 4; k++) {
		printf "t,%d.000,\"vm,one\",11,pid,%d,%d\n", k, 1024 * k, 512 * M
		printf "t,%d.000,two,22,pid,%d,%d\n", k, 2048 * k, 256 * M
	}
}' > "$T/v.csv"
"$S/plot-vms" "$T/v.csv" -o "$T/v.png" --keep="$T/kv"
is "$?" 0 "plot-vms exits 0"
is "$(png_size "$T/v.png")" 800x500 "plot-vms PNG 800x500"
is "$(cut -f2,3 "$T/kv/series.tsv" | tr '\t\n' ':|')" "1:vm,one|2:vm,one|1:two|2:two|" "RSS and merged memory per VM"
is "$(dat "$T/kv/p1-s1.dat")" "0 512 1 512 2 512 3 512 4 512 " "vm,one RSS in MiB over seconds"
is "$(dat "$T/kv/p2-s4.dat")" "0 0 1 8 2 16 3 24 4 32 " "two: ksm_merging_pages x 4096 in MiB"

# usage
"$S/plot-sharing" "$T/a.csv" > /dev/null 2>&1
is "$?" 2 "no -o: exit 2"
"$S/plot-sharing" "$T/a.csv" -o "$T/x.gif" > /dev/null 2>&1
is "$?" 2 "unknown image type: exit 2"
"$S/plot-cpu" "$T/missing.csv" -o "$T/x.png" > /dev/null 2>&1
is "$?" 1 "unreadable CSV: exit 1"
"$S/plot-vms" --help | grep -q "Usage: plot-vms"
ok $? "--help"

done_testing
