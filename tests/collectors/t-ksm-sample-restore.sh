#!/bin/sh
# --ksm on the real KSM: the requested knobs are in force during the run, and
# every knob is back afterwards — after SIGINT, SIGTERM, a normal end, a
# value the kernel refuses, and an output error — also when pages are merged
# and max_page_sharing / merge_across_nodes need an unmerge to change back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

ksm_real_begin
T=$TMPD
before=$(ksm_knobs)
echo "# knobs before: $(echo $before)"

m=$(start_memload "$T/m.log" --mergeable --size=16M --duration=120 -q)
at_exit "kill_pids $m"
wait_until 20 grep -q filled "$T/m.log"
ok $? "memload filled its buffer"

merged() { [ "$(ksm_stat_of "$m" ksm_merging_pages)" -gt 0 ] 2>/dev/null; }
knob() { ksm_norm "$(cat "$KSM/$1")"; }

# run SIGNAL KSM-SPEC CHECKS...: start, wait for merging, check each
# name=value in force (name!=value: changed), send SIGNAL, expect exit 0 and every knob restored
run_with_signal() {
	sig=$1 spec=$2; shift 2
	"$KS" --ksm="$spec" --pid="$m" -i 0.2 -o "$T/$sig.csv" 2> "$T/$sig.err" &
	ks=$!
	wait_until 30 merged
	ok $? "SIG$sig run: memload pages merged"
	for nv in "$@"; do
		case "$nv" in
		*'!='*) v=$(knob "${nv%%!=*}")
			ok "$([ "$v" != "${nv#*!=}" ]; echo $?)" "SIG$sig run: ${nv%%!=*} changed ($v, was ${nv#*!=})" ;;
		*) is "$(knob "${nv%%=*}")" "${nv#*=}" "SIG$sig run: ${nv%%=*} in force" ;;
		esac
	done
	kill -s "$sig" "$ks"
	wait "$ks"
	is "$?" 0 "SIG$sig: exit 0"
	is "$(ksm_knobs)" "$before" "SIG$sig: every knob as before"
	is "$(ksm_stat_of "$m" ksm_merging_pages)" 0 "SIG$sig: pages unmerged again"
	is "$(cat "$T/$sig.err")" "" "SIG$sig: no complaint"
}

mps=$(knob max_page_sharing)
man=$(knob merge_across_nodes)
run_with_signal INT \
	"run=1,pages_to_scan=2000,sleep_millisecs=5,max_page_sharing=$((mps * 2)),merge_across_nodes=$((1 - man)),use_zero_pages=1,smart_scan=0,stable_node_chains_prune_millisecs=1500,advisor_max_cpu=50,advisor_min_pages_to_scan=600,advisor_max_pages_to_scan=20000,advisor_target_scan_time=100" \
	run=1 pages_to_scan=2000 sleep_millisecs=5 max_page_sharing=$((mps * 2)) \
	merge_across_nodes=$((1 - man)) use_zero_pages=1 smart_scan=0 \
	stable_node_chains_prune_millisecs=1500 advisor_max_cpu=50 advisor_target_scan_time=100

# the scan-time advisor takes pages_to_scan over: it must come back too
run_with_signal TERM "run=1,advisor_mode=scan-time,advisor_target_scan_time=1,advisor_min_pages_to_scan=4000,sleep_millisecs=5,max_page_sharing=$((mps + 7))" \
	run=1 advisor_mode=scan-time advisor_target_scan_time=1 sleep_millisecs=5 max_page_sharing=$((mps + 7)) \
	"pages_to_scan!=$(knob pages_to_scan)"

# normal end
"$KS" --ksm=run=1,pages_to_scan=3000,sleep_millisecs=5,max_page_sharing=$((mps * 4)) --pid="$m" \
	-i 0.25 -d 2 -o "$T/n.csv" 2> "$T/n.err"
is "$?" 0 "normal end: exit 0"
is "$(csv_col "$T/n.csv" max_page_sharing | sort -u)" $((mps * 4)) "normal end: recorded max_page_sharing in force"
ok "$([ "$(csv_col "$T/n.csv" pages_sharing | tail -n 1)" -gt 0 ]; echo $?)" "normal end: pages were merged"
is "$(ksm_knobs)" "$before" "normal end: every knob as before"
is "$(ksm_stat_of "$m" ksm_merging_pages)" 0 "normal end: unmerged again"

# the kernel refuses a value after others were written
"$KS" --ksm=run=1,max_page_sharing=$((mps * 2)),pages_to_scan=lots -v -d 1 -o /dev/null 2> "$T/r.err"
is "$?" 1 "refused value: exit 1"
like "$(cat "$T/r.err")" "ksm-sample: --ksm: cannot set pages_to_scan=lots: Invalid argument" "refused value named"
like "$(cat "$T/r.err")" "ksm: max_page_sharing=$((mps * 2)) " "max_page_sharing had been written before"
is "$(ksm_knobs)" "$before" "refused value: every knob as before"

# an error while sampling
"$KS" --ksm=run=1,max_page_sharing=$((mps * 2)) -i 0.2 -d 5 -o /dev/full 2> "$T/w.err"
is "$?" 1 "output error: exit 1"
is "$(ksm_knobs)" "$before" "output error: every knob as before"

done_testing
