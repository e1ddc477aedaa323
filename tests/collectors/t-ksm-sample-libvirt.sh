#!/bin/sh
# ksm-sample through libvirt: two tiny guests (scripts/mkguest) run under
# libvirtd (scripts/libvirt-env); a third one starts and the first one is
# destroyed while ksm-sample samples.  Per-VM rows must match what
# `virsh dommemstat` and /proc say, and the series must not break.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -x "$KS" ] || bail "$KS not built (make)"
need virsh libvirtd virtlogd qemu-system-x86_64
[ "$(id -u)" = 0 ] || skip_all "needs root to run libvirtd"
T=$TMPD
"$TOP/scripts/mkguest" > "$T/mkguest.log" 2>&1 ||
	bail "cannot build the test guest (scripts/mkguest failed: $(tail -n 1 "$T/mkguest.log"))"
LE=$TOP/scripts/libvirt-env
uri=$("$LE" uri)

"$LE" start --owner=$$
ok $? "libvirtd is running"
at_exit "'$LE' stop --owner=$$"
a=ks-$$-a b=ks-$$-b c=ks-$$-c
"$LE" guest "$a" --owner=$$ --ml-mb=32 > /dev/null
ok $? "guest $a started"
"$LE" guest "$b" --owner=$$ --ml-mb=48 --wr=1/8 --interval=2 > /dev/null
ok $? "guest $b started"
"$LE" wait "$a" --timeout=90 && "$LE" wait "$b" --timeout=90
ok $? "both guests filled their memload buffers"
pa=$("$LE" pid "$a")
pb=$("$LE" pid "$b")

"$KS" -i 0.5 -d 14 -o "$T/h.csv" -V "$T/v.csv" --prom="$T/k.prom" 2> "$T/err" &
ks=$!
t0=$(date +%s.%N)
sleep 3
tc=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
"$LE" guest "$c" --owner=$$ --ml-mb=16 > /dev/null
ok $? "guest $c started while sampling (at ${tc} s)"
tcr=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
echo "# $c running at $tcr s"
sleep 3
"$LE" destroy "$a"
ta=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
echo "# $a destroyed at $ta s"
wait "$ks"
is "$?" 0 "ksm-sample exits 0"
is "$(cat "$T/err")" "" "nothing on stderr"
virsh -q -c "$uri" dommemstat "$b" > "$T/dommemstat"
pc=$("$LE" pid "$c")

# host series unbroken
is "$(csv_rows "$T/h.csv")" 29 "29 host rows over 14 s"
gaps=$(csv_col "$T/h.csv" elapsed_s | awk 'NR > 1 && ($1 - p < 0.4 || $1 - p > 0.6) { print p " -> " $1 } { p = $1 }')
is "$gaps" "" "samples every 0.5 s through the churn"
vmc=$(csv_col "$T/h.csv" vm_count | uniq | tr '\n' ' ')
like "$vmc" "^([0-9]+ )*2 3 2 $" "vm_count goes 2 -> 3 -> 2 ($vmc; other guests on the host add to it)"

# per-VM rows
rows() { grep ",$1,[0-9]*,libvirt," "$T/v.csv"; }
is "$(rows "$b" | wc -l)" 29 "$b: a row in every sample"
is "$(rows "$b" | cut -d, -f4 | sort -u)" "$pb" "$b: its QEMU PID"
na=$(rows "$a" | wc -l)
la=$(rows "$a" | tail -n 1 | cut -d, -f2)
is "$(rows "$a" | cut -d, -f4 | sort -u)" "$pa" "$a: its QEMU PID"
ok "$(num_le "$la" "$ta"; echo $?)" "$a: no row after it was destroyed (last $la s, destroyed $ta s, $na rows)"
ok "$(num_le "$(awk -v t="$ta" 'BEGIN { print t - 1.01 }')" "$la"; echo $?)" "$a: rows until it was destroyed"
fc=$(rows "$c" | head -n 1 | cut -d, -f2)
# libvirtd holds a starting domain's job for a while: allow a few samples
ok "$(num_le "$tc" "$(awk -v f="$fc" 'BEGIN { print f + 0.01 }')" &&
	num_le "$fc" "$(awk -v t="$tcr" 'BEGIN { print t + 3 }')"; echo $?)" \
	"$c: rows from its start on (first $fc s; start asked at $tc s, running at $tcr s)"
is "$(rows "$c" | tail -n 1 | cut -d, -f2)" "$(csv_col "$T/h.csv" elapsed_s | tail -n 1)" "$c: rows until the end"
is "$(rows "$c" | cut -d, -f4 | sort -u)" "$pc" "$c: its QEMU PID"

# consistent with virsh dommemstat and /proc
col() { # VM-ROW COLUMN-NAME
	echo "$1" | awk -F, -v c="$2" -v h="$(head -n 1 "$T/v.csv")" \
		'BEGIN { n = split(h, H, ","); for (i = 1; i <= n; i++) if (H[i] == c) k = i } { print $k }'
}
# the last row with libvirt's figures (they stay empty while libvirt lags)
last=$(rows "$b" | awk -F, '$6 != ""' | tail -n 1)
actual=$(awk '$1 == "actual" { printf "%.0f", $2 * 1024 }' "$T/dommemstat")
vrss=$(awk '$1 == "rss" { printf "%.0f", $2 * 1024 }' "$T/dommemstat")
is "$(col "$last" dom_actual_bytes)" "$actual" "$b: dom_actual_bytes = virsh dommemstat actual (KiB) * 1024"
drss=$(col "$last" dom_rss_bytes)
ok "$(awk -v a="$drss" -v b="$vrss" 'BEGIN { exit !(a > 0.9 * b && a < 1.1 * b) }'; echo $?)" \
	"$b: dom_rss_bytes within 10 % of virsh dommemstat rss ($drss vs $vrss)"
prss=$(col "$last" rss_bytes)
ok "$(awk -v a="$prss" -v b="$drss" 'BEGIN { exit !(a > 0.95 * b && a < 1.05 * b) }'; echo $?)" \
	"$b: VmRSS of the QEMU PID agrees with libvirt's rss ($prss vs $drss)"
ok "$([ "$drss" -gt $((48 * 1048576)) ]; echo $?)" "$b: RSS covers the 48 MiB memload buffer"
is "$(col "$last" ksm_mergeable)" 1 "$b: QEMU guest RAM is mergeable (ksm_stat)"
like "$(col "$last" ksm_rmap_items)" '^[0-9]+$' "$b: ksm_stat figures present"
t_last=$(echo "$last" | cut -d, -f1)
sum=$(grep "^$t_last," "$T/v.csv" | awk -F, '{ s += $NF } END { printf "%.0f", s }')
is "$(csv_col "$T/h.csv" vm_rss_bytes | tail -n 1)" "$sum" "vm_rss_bytes = sum of the VMs' rss_bytes"
like "$(cat "$T/k.prom")" "samepage_vm_dom_actual_bytes\{vm=\"$b\",pid=\"$pb\",source=\"libvirt\"\} $actual" \
	"per-VM metrics in the Prometheus file"

done_testing
