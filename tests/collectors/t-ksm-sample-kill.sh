#!/bin/sh
# SIGKILL of a `ksm-sample --ksm` run on the real KSM at several moments —
# after the owner record is written but before the first write, right
# before and during the unmerge when applying, while sampling, right before
# and during the unmerge when restoring, after the restore but before the
# record is removed — then `ksm-sample --restore` brings back every knob
# (all of them compared) and unmerges what merged.  Also: the record sits
# at /run/samepage/ksm.state by default; a second owner is refused; a new
# run after a dead owner restores first.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

ksm_real_begin
T=$TMPD
export SAMEPAGE_STATE_DIR=$T/state
before=$(ksm_knobs)
echo "# knobs before: $(echo $before)"
knob() { ksm_norm "$(cat "$KSM/$1")"; }
mps=$(knob max_page_sharing)
spec=run=1,pages_to_scan=4000,sleep_millisecs=5,max_page_sharing=$((mps * 2)),use_zero_pages=1,smart_scan=0
REC=$SAMEPAGE_STATE_DIR/ksm.state

m=$(start_memload "$T/m.log" --mergeable --size=64M --duration=300 -q)
at_exit "kill_pids $m"
wait_until 30 grep -q filled "$T/m.log"
ok $? "memload filled its buffer"
merged() { [ "$(ksm_stat_of "$m" ksm_merging_pages)" -gt 0 ] 2>/dev/null; }

# restore_check MOMENT [on]: --restore after the kill puts every knob back
# (and unmerges, unless KSM was on before: "on")
restore_check() {
	ok "$([ -f "$REC" ]; echo $?)" "$1: the record outlives the killed owner"
	"$KS" --restore 2> "$T/$1.restore"
	is "$?" 0 "$1: --restore exit 0"
	like "$(cat "$T/$1.restore")" "owner PID $pid \(ksm-sample.* is gone" "$1: --restore names the dead owner"
	like "$(cat "$T/$1.restore")" "KSM restored \([0-9]+ of [0-9]+ knobs differed" "$1: --restore says what it did"
	is "$(ksm_knobs)" "$before" "$1: every knob as before"
	[ "$2" = on ] || is "$(ksm_stat_of "$m" ksm_merging_pages)" 0 "$1: nothing merged any more"
	ok "$([ ! -e "$REC" ]; echo $?)" "$1: record removed"
	sed 's/^/#   /' "$T/$1.restore" | grep -v ': ksm: '
}

# kill_at POINT [cont]: stop there (KSM_SAMPLE_STOP_AT), SIGKILL; with
# "cont", let it go on and SIGKILL at once (lands inside the write)
kill_at() {
	KSM_SAMPLE_STOP_AT=$1 "$KS" --ksm=$spec --pid="$m" -i 0.2 -v -o "$T/$1.csv" 2> "$T/$1.err" &
	pid=$!
	case $1 in restore-unmerge|restored)
		wait_until 60 merged
		ok $? "$1${2:+-$2}: pages merged during the run"
		kill -TERM $pid ;;
	esac
	wait_until 60 stopped $pid
	ok $? "$1${2:+-$2}: stopped at '$1'"
	[ "$2" = cont ] && kill -CONT $pid
	kill -KILL $pid
	wait $pid 2>/dev/null
}

# 1. after the record, before the first write
kill_at saved
is "$(ksm_knobs)" "$before" "saved: nothing written before the kill"
is "$(sed -n 's/^knob\.//p' "$REC" | sort)" "$before" "saved: the record holds every knob as found"
restore_check saved

# 2. while sampling, pages merged under the run's settings
"$KS" --ksm=$spec --pid="$m" -i 0.2 -o "$T/run.csv" 2> "$T/run.err" &
pid=$!
wait_until 60 merged
ok $? "sampling: pages merged"
kill -KILL $pid; wait $pid 2>/dev/null
is "$(knob run) $(knob max_page_sharing)" "1 $((mps * 2))" "sampling: the run's settings stay after SIGKILL"
restore_check sampling

# 3. at and during the unmerge when restoring (pages merged, nothing put back yet)
kill_at restore-unmerge
is "$(knob run) $(knob max_page_sharing)" "1 $((mps * 2))" "restore-unmerge: killed before anything was put back"
restore_check restore-unmerge
kill_at restore-unmerge cont
echo "# killed inside the unmerge: run=$(knob run), merging pages $(ksm_stat_of "$m" ksm_merging_pages)"
restore_check restore-unmerge-cont

# 4. after the restore, before the record is removed
kill_at restored
is "$(ksm_knobs)" "$before" "restored: knobs already back when killed"
restore_check restored
like "$(cat "$T/restored.restore")" "\(0 of [0-9]+ knobs differed" "restored: nothing left to put back"

# 5. at and during the unmerge when applying: KSM already merging before the
# run, max_page_sharing to change
ksm_set pages_to_scan 4000; ksm_set sleep_millisecs 5; ksm_set run 1
wait_until 60 merged
ok $? "KSM merging before the run"
before_all=$before
before=$(ksm_knobs)
kill_at apply-unmerge
is "$(knob max_page_sharing)" "$mps" "apply-unmerge: killed before max_page_sharing changed"
restore_check apply-unmerge on
kill_at apply-unmerge cont
echo "# killed inside the unmerge: run=$(knob run), merging pages $(ksm_stat_of "$m" ksm_merging_pages)"
restore_check apply-unmerge-cont on
before=$before_all
echo 2 > "$KSM/run"
ksm_guard_restore 2> /dev/null
is "$(ksm_knobs)" "$before" "KSM back to the state found at the start"

# ---- the default record path, a second owner, restore first ----
unset SAMEPAGE_STATE_DIR
"$KS" --ksm=$spec --pid="$m" -i 0.2 -o "$T/live.csv" 2> "$T/live.err" &
pid=$!
wait_until 30 test -f /run/samepage/ksm.state
ok $? "default record: /run/samepage/ksm.state"
is "$(rec_field /run/samepage/ksm.state owner_pid)" "$pid" "it names the running owner"
"$KS" --ksm=run=1 -d 1 -o "$T/second.csv" 2> "$T/second.err"
is "$?" 1 "a second --ksm run is refused: exit 1"
like "$(cat "$T/second.err")" "KSM is in use by PID $pid \(ksm-sample" "the refusal names the owner's PID"
ok "$([ ! -e "$T/second.csv" ]; echo $?)" "the refused run wrote no file"
"$KS" --restore 2> "$T/live.restore"
is "$?" 1 "--restore refuses while the owner runs"
like "$(cat "$T/live.restore")" "in use by PID $pid " "--restore names the owner"
wait_until 60 merged
kill -KILL $pid; wait $pid 2>/dev/null
is "$(knob run)" 1 "owner SIGKILLed: KSM left running"
"$KS" --ksm=pages_to_scan=3000 --pid="$m" -i 0.2 -d 1 -o "$T/next.csv" 2> "$T/next.err"
is "$?" 0 "the next run starts after restoring: exit 0"
like "$(head -n 1 "$T/next.err")" "owner PID $pid .* is gone: restoring KSM before starting" "it says it restores first"
is "$(csv_col "$T/next.csv" max_page_sharing | sort -u) $(csv_col "$T/next.csv" pages_to_scan | sort -u)" \
	"$mps 3000" "it ran with the dead owner's settings undone and its own in force"
is "$(ksm_knobs)" "$before" "after the next run every knob as before"
ok "$([ ! -e /run/samepage/ksm.state ]; echo $?)" "no record left"

done_testing
