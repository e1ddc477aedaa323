#!/bin/sh
# The quick profile interrupted in the middle (SIGINT, then SIGTERM, once
# the load runs): the runner exits 130/143 and leaves the host as it found
# it — no guest defined or running, libvirtd stopped if it started it,
# ksm-sample gone, every KSM knob as before.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
ksm_lock
export SAMEPAGE_KSM_LOCKED=1

for sig in INT TERM; do
	knobs_now > "$TMPD/knobs.before"
	OUT=$TMPD/out-$sig
	"$EXP" "$TOP/experiments/quick.scenario" -o "$OUT" -q 2> "$TMPD/err-$sig" &
	xpid=$!
	started=1
	for _ in $(seq 1 1200); do
		if grep -q 'load started' "$OUT/events.log" 2>/dev/null; then started=0; break; fi
		kill -0 "$xpid" 2>/dev/null || break
		sleep 0.5
	done
	ok $started "SIG$sig: the first run's load started$(tail -2 "$TMPD/err-$sig" | tr '\n' ' ')"
	sleep 3
	# KSM runs with the scenario's knobs now: the restore has work to do
	is "$(ksm_knob run)" 1 "SIG$sig: KSM runs while the load runs"
	kill -"$sig" "$xpid"
	wait "$xpid"
	rc=$?
	want=130; [ "$sig" = TERM ] && want=143
	is "$rc" "$want" "SIG$sig: exit status $want"
	grep -q 'KSM knobs restored' "$OUT/events.log"
	ok $? "SIG$sig: the runner says it restored the knobs"
	host_clean "$xpid" "$TMPD/knobs.before" "after SIG$sig" "$OUT/events.log"
done
done_testing
