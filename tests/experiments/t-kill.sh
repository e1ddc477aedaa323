#!/bin/sh
# The experiment runner killed with SIGKILL at several moments, on one tiny
# guest with a short run: after it took KSM but before its first write
# (ksm-taken), while the guest boots (booting), while the load runs and
# ksm-sample samples (sampling), inside the unmerge at the end of a run
# (unmerge), after the runs, before its own cleanup (runs-done).  Each time
# its record names what it left; `experiment --cleanup` then leaves no guest
# of it, no process or daemon it started (checked by PID and start time),
# every KSM knob as before and no record.  Also: a second experiment while
# another program owns KSM is refused, naming the owner's PID.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
ksm_lock
ksm_guard
export SAMEPAGE_KSM_LOCKED=1
export SAMEPAGE_STATE_DIR=$TMPD/state
T=$TMPD
mps=$(ksm_knob max_page_sharing)
cat > "$T/kill.scenario" <<EOF
name        kill
guests      1
image       tiny
memory      128M
ksm         run=1 pages_to_scan=4000 sleep_millisecs=10 use_zero_pages=1 max_page_sharing=$((mps * 2))
duration    4s
interval    1s
dumps       1s 3s
boot-timeout 120s
run a       memload size=16M wr=0 interval=5
EOF
start=$(date +%s)

gone() { # gone PID START: no process with that PID and start time (a zombie is gone)
	! running "$1" || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20)" != "$2" ]
}

kill_at() { # kill_at POINT [cont]
	p=$1 t0=$(date +%s)
	before=$(ksm_knobs)
	SAMEPAGE_EXPERIMENT_STOP_AT=$p "$EXP" "$T/kill.scenario" -o "$T/out-$p" -q 2> "$T/$p.err" &
	xpid=$!
	wait_until 400 stopped $xpid
	ok $? "$p: the runner stopped there$(tail -2 "$T/$p.err" | tr '\n' ' ')"
	rec=$SAMEPAGE_STATE_DIR/experiment.$xpid.state
	cp "$rec" "$T/$p.rec" 2>/dev/null
	is "$(rec_field "$SAMEPAGE_STATE_DIR/ksm.state" owner_pid)" "$xpid" "$p: the runner owns KSM (ksm.state)"
	is "$(rec_field "$T/$p.rec" owner_pid)" "$xpid" "$p: its record experiment.$xpid.state is there"
	case $p in
	ksm-taken) is "$(ksm_knobs)" "$before" "$p: nothing written to KSM yet" ;;
	booting) like "$(grep '^guest=' "$T/$p.rec")" '^guest=sp-kill-a-1$' "$p: the record names the guest"
		virsh -q -c qemu:///system domstate sp-kill-a-1 2>/dev/null | grep -q running
		ok $? "$p: the guest runs" ;;
	sampling) like "$(grep '^process=' "$T/$p.rec")" '^process=ksm-sample [0-9]+ [0-9]+$' \
			"$p: the record names the sampler"
		is "$(ksm_knob run)" 1 "$p: KSM runs with the scenario's knobs" ;;
	esac
	echo "# $p: record: $(grep -E '^(guest|daemon|process|ksm)=' "$T/$p.rec" | tr '\n' ' ')"
	[ "$2" = cont ] && kill -CONT $xpid
	kill -KILL $xpid
	wait $xpid 2>/dev/null
	"$EXP" --cleanup 2> "$T/$p.cleanup"
	is "$?" 0 "$p: --cleanup exit 0"
	sed 's/^/#   /' "$T/$p.cleanup" | grep -v ': ksm: '
	like "$(cat "$T/$p.cleanup")" "experiment PID $xpid .* is gone: undoing" "$p: --cleanup names the dead runner"
	n=$(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep -c '^sp-kill-')
	is "$n" 0 "$p: no guest of the run defined or running"
	n=$(ls "$LVSTATE/guests" 2>/dev/null | grep -c '^sp-kill-')
	is "$n" 0 "$p: no guest files left"
	ok "$([ ! -e "$LVSTATE/users/$xpid" ]; echo $?)" "$p: the runner is no libvirt user any more"
	left=""
	for v in $(grep -E '^(daemon|process)=' "$T/$p.rec" | tr ' =' ':,'); do
		set -- $(echo "$v" | tr ':,' '  ')
		gone "$3" "$4" && continue
		# a libvirtd that another live user of libvirt-env needs stays for it
		grep -q "$2 (PID $3) is used by PID" "$T/$p.cleanup" || left="$left $2:$3"
	done
	is "$left" "" "$p: every process and daemon the runner started is gone"
	is "$(ksm_knobs)" "$before" "$p: every KSM knob as before"
	is "$(ls "$SAMEPAGE_STATE_DIR" | grep -c '\.state$')" 0 "$p: no record left (KSM's nor the runner's)"
	echo "# $p: $(( $(date +%s) - t0 )) s"
}

kill_at ksm-taken
kill_at booting
kill_at sampling
kill_at unmerge cont
kill_at runs-done
grep -q '^daemon=libvirtd ' "$T/booting.rec" ||
	echo "# libvirtd ran already when the runs started: the daemon stop was not exercised"

# a second owner of KSM is refused, naming the owner's PID; nothing changes
sleep 300 &
sp=$!
at_exit "kill_pids $sp"
"$KS" --take=$sp 2> "$T/take.err"
is "$?" 0 "a stand-in owner took KSM (ksm-sample --take)"
before=$(ksm_knobs)
"$EXP" "$T/kill.scenario" -o "$T/out-refused" -q 2> "$T/refused.err"
is "$?" 1 "a second experiment exits 1"
like "$(cat "$T/refused.err")" "KSM is in use by PID $sp .*not starting" "it names the owner's PID"
is "$(ls "$SAMEPAGE_STATE_DIR" | grep -c '^experiment\..*\.state$')" 0 "it left no record"
is "$(ksm_knobs)" "$before" "it changed no knob"
"$KS" --release=$sp 2> /dev/null
is "$?" 0 "the stand-in owner released KSM"
echo "# kill test: $(( $(date +%s) - start )) s"
done_testing
