#!/bin/sh
# One owner of KSM, on a scratch KSM folder (--ksm-dir) and a scratch state
# folder: the owner record is written before the first write (its fields,
# PID and start time, every knob), a second owner is refused with the
# owner's PID, --restore puts back what a SIGKILLed owner left and refuses
# while the owner runs, a new run restores a dead owner's record first,
# a reused PID / an earlier boot / a broken record are told apart, and a
# script owns KSM with --take and --release.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -x "$KS" ] || bail "$KS not built (make)"
T=$TMPD
ST=$T/state
export SAMEPAGE_STATE_DIR=$ST
F=$T/ksm
mkdir "$F"
for kv in run=0 max_page_sharing=256 pages_to_scan=100 sleep_millisecs=20 use_zero_pages=0 \
	  pages_shared=0 pages_sharing=0 full_scans=0; do
	echo "${kv#*=}" > "$F/${kv%%=*}"
done
F=$(cd "$F" && pwd -P)
before=$(ksm_knobs "$F")
pids=""
at_exit 'for p in $pids; do kill -KILL $p 2>/dev/null; done'
spec=run=1,max_page_sharing=512,pages_to_scan=1000
ks() { "$KS" --ksm-dir="$F" "$@"; }
record() { ls "$ST"/ksm-*.state 2>/dev/null; }

# ---- the record exists before the first write ----
KSM_SAMPLE_STOP_AT=saved "$KS" --ksm-dir="$F" --ksm=$spec --no-libvirt -i 0.1 -o "$T/a.csv" 2> "$T/a.err" &
p=$!; pids="$pids $p"
wait_until 10 stopped $p
ok $? "stopped at 'saved'"
R=$(record)
ok "$([ -f "$R" ]; echo $?)" "record written: ${R#$T/}"
is "$(ksm_knobs "$F")" "$before" "nothing written to KSM yet"
is "$(rec_field "$R" format)" 1 "record: format=1"
is "$(rec_field "$R" owner_pid)" "$p" "record: owner_pid"
is "$(rec_field "$R" owner_start)" "$(start_time $p)" "record: owner_start = field 22 of /proc/PID/stat"
is "$(rec_field "$R" owner_comm)" ksm-sample "record: owner_comm"
is "$(rec_field "$R" boot_id)" "$(cat /proc/sys/kernel/random/boot_id)" "record: boot_id"
is "$(rec_field "$R" ksm_dir)" "$F" "record: absolute KSM folder"
is "$(sed -n 's/^knob\.//p' "$R" | sort)" "$(echo "$before" | grep -Ev '^(full_scans|pages_shared|pages_sharing)=')" \
	"record: every knob with its value (not the counters)"
is "$(ls -A "$ST" | grep -c tmp)" 0 "no temporary file left"

# ---- a second owner is refused, --restore too, while the owner lives ----
ks --ksm=run=1 --no-libvirt -d 0 -o "$T/second.csv" 2> "$T/second.err"
is "$?" 1 "second --ksm run: exit 1"
like "$(cat "$T/second.err")" "^ksm-sample: KSM is in use by PID $p \(ksm-sample, owner since [0-9T:.-]+Z\)" \
	"second run names the owner's PID"
ok "$([ ! -e "$T/second.csv" ]; echo $?)" "the refused run created no output file"
ks --restore 2> "$T/r0.err"
is "$?" 1 "--restore while the owner runs: exit 1"
like "$(cat "$T/r0.err")" "in use by PID $p .*not restoring while it runs" "--restore names the owner"
ks --release=$$ 2> "$T/rel0.err"
is "$?" 1 "--release by a process that is not the owner: exit 1"
is "$(ksm_knobs "$F")" "$before" "KSM untouched by the refused commands"

# ---- SIGKILL at 'saved', then --restore ----
kill -KILL $p; wait $p 2>/dev/null
ks --restore 2> "$T/r1.err"
is "$?" 0 "--restore after SIGKILL at 'saved': exit 0"
like "$(cat "$T/r1.err")" "KSM owner PID $p \(ksm-sample.* is gone: restoring 5 saved knobs of $F" "--restore says whose record it restores"
like "$(cat "$T/r1.err")" "KSM restored \(0 of 5 knobs differed and were put back\); removed $R" "--restore says what it did"
is "$(record)" "" "record removed"
ks --restore 2> "$T/r2.err"
is "$?" 0 "--restore with no record: exit 0"
like "$(cat "$T/r2.err")" "nothing to restore" "--restore with no record says so"

# ---- SIGKILL while running; a new run restores first, then starts ----
"$KS" --ksm-dir="$F" --ksm=$spec,use_zero_pages=1 --no-libvirt -i 0.1 -o /dev/null &
p=$!; pids="$pids $p"
wait_until 10 grep -qx 1 "$F/run"
wait_until 10 test -f "$(record)"
kill -KILL $p; wait $p 2>/dev/null
is "$(cat "$F/run" "$F/max_page_sharing" "$F/use_zero_pages" | tr '\n' ' ')" "1 512 1 " \
	"after SIGKILL the run's values stay"
echo tmp > "$(record).tmp.999999999"
ks --ksm=pages_to_scan=300 --no-libvirt -i 0.1 -d 0.2 -o "$T/n.csv" -v 2> "$T/n.err"
is "$?" 0 "new run after a dead owner: exit 0"
like "$(head -n 1 "$T/n.err")" "KSM owner PID $p .* is gone: restoring KSM before starting; 5 saved knobs" \
	"new run says it restores first"
like "$(cat "$T/n.err")" "KSM restored \(4 of 5 knobs differed" "four knobs put back"
is "$(csv_col "$T/n.csv" max_page_sharing | sort -u) $(csv_col "$T/n.csv" use_zero_pages | sort -u) $(csv_col "$T/n.csv" pages_to_scan | sort -u)" \
	"256 0 300" "then it ran with the dead owner's changes undone and its own in force"
is "$(ksm_knobs "$F")" "$before" "every knob as before after the new run"
is "$(record)" "" "no record after a complete restore"
is "$(ls -A "$ST")" "" "a dead writer's temporary file is removed"

# ---- a reused PID, an earlier boot, a broken record ----
NAME=$(basename "$R")
mkrec() { # mkrec PID START BOOT [extra lines]
	{ echo "# test record"; echo format=1; echo "owner_pid=$1"; echo "owner_start=$2"
	  echo owner_comm=ghost; echo "boot_id=$3"; echo created=2026-01-01T00:00:00.000Z
	  echo "ksm_dir=$F"; sed 's/^/knob./' "$T/saved"; } > "$ST/$NAME"
}
ksm_knobs "$F" | grep -Ev '^(full_scans|pages_shared|pages_sharing)=' > "$T/saved"
echo 1 > "$F/run"; echo 77 > "$F/pages_to_scan"
boot=$(cat /proc/sys/kernel/random/boot_id)
mkrec $$ 1 "$boot"
ks --restore 2> "$T/reuse.err"
is "$?" 0 "live PID with another start time (reused PID): owner counts as gone"
is "$(ksm_knobs "$F")" "$before" "reused PID: knobs restored"
mkrec $$ "$(start_time $$)" "$boot"
ks --restore 2> "$T/live.err"
is "$?" 1 "the same PID and start time: owner alive, refused"
mkrec 999999999 1 00000000-0000-0000-0000-000000000000
echo 1 > "$F/run"
ks --restore 2> "$T/boot.err"
is "$?" 0 "record of an earlier boot: exit 0"
like "$(cat "$T/boot.err")" "from an earlier boot .*removed" "earlier boot: said so"
is "$(cat "$F/run")" 1 "earlier boot: nothing written (the reboot reset KSM)"
echo 0 > "$F/run"
is "$(record)" "" "earlier boot: record removed"
printf 'format=1\nowner_pid=zz\n' > "$ST/$NAME"
ks --restore 2> "$T/bad.err"
is "$?" 1 "broken record: exit 1"
like "$(cat "$T/bad.err")" "$NAME:2: malformed line; check KSM and remove the record by hand" "broken record: file and line named"
ks --ksm=run=1 --no-libvirt -d 0 -o /dev/null 2> /dev/null
is "$?" 1 "broken record: --ksm refuses to start"
mkrec 999999999 1 "$boot"
echo "knob.vanished=5" >> "$ST/$NAME"
ks --restore 2> "$T/fail.err"
is "$?" 1 "a knob that cannot be restored: exit 1"
like "$(cat "$T/fail.err")" "could not restore $F/vanished to 5" "the knob is named"
ok "$([ -f "$ST/$NAME" ]; echo $?)" "the record is kept for another try"
rm -f "$ST/$NAME"
is "$(ksm_knobs "$F")" "$before" "the other knobs restored"

# ---- a script owns KSM: --take and --release; a nested run inside it ----
cat > "$T/owner.sh" <<EOF
. "$TOP/tests/collectors/lib-ksm.sh"
"$KS" --ksm-dir="$F" --take=\$\$ --ksm=$spec || exit 9
"$KS" --ksm-dir="$F" --ksm=pages_to_scan=7 --no-libvirt -i 0.1 -d 0.1 -o "$T/nested.csv" 2> "$T/nested.err" || exit 8
ksm_knobs "$F" > "$T/during"
[ "\$1" = release ] && { "$KS" --ksm-dir="$F" --release=\$\$ 2> "$T/release.err" || exit 7; }
[ "\$1" = hang ] && sleep 60
exit 0
EOF
sh "$T/owner.sh" release
is "$?" 0 "--take, a nested --ksm run and --release in a script: exit 0"
is "$(csv_col "$T/nested.csv" pages_to_scan | sort -u) $(csv_col "$T/nested.csv" max_page_sharing | sort -u)" \
	"7 512" "the nested run (the owner is its ancestor) ran over the script's settings"
is "$(grep -E '^(run|max_page_sharing|pages_to_scan)=' "$T/during" | tr '\n' ' ')" \
	"max_page_sharing=512 pages_to_scan=1000 run=1 " "the nested run put back the script's settings"
like "$(cat "$T/release.err")" "owner PID [0-9]+ .* releases it: restoring" "--release says what it restores"
is "$(ksm_knobs "$F")" "$before" "after --release every knob as before"
is "$(record)" "" "after --release no record"
rm -f "$T/during"
sh "$T/owner.sh" hang &
p=$!; pids="$pids $p"
wait_until 10 test -f "$T/during"
is "$(rec_field "$(record)" owner_pid)" "$p" "--take=PID records that PID"
ks --take=$$ 2> "$T/take2.err"
is "$?" 1 "--take while another owns KSM: exit 1"
like "$(cat "$T/take2.err")" "in use by PID $p \(sh," "--take names the owner"
kill -KILL $p; wait $p 2>/dev/null
ks --restore 2> /dev/null
is "$?" 0 "owner script SIGKILLed: --restore exit 0"
is "$(ksm_knobs "$F")" "$before" "owner script SIGKILLed: every knob back"

# ---- two runs starting at once: exactly one owns KSM ----
"$KS" --ksm-dir="$F" --ksm=$spec --no-libvirt -i 0.1 -d 1 -o /dev/null 2> "$T/c1.err" &
c1=$!
"$KS" --ksm-dir="$F" --ksm=$spec --no-libvirt -i 0.1 -d 1 -o /dev/null 2> "$T/c2.err" &
c2=$!
wait $c1; r1=$?
wait $c2; r2=$?
is "$r1$r2" "$([ $r1 = 0 ] && echo 01 || echo 10)" "two runs at once: one runs, one is refused ($r1, $r2)"
is "$(cat "$T/c1.err" "$T/c2.err" | grep -c 'in use by PID')" 1 "the refused one names the owner"
is "$(ksm_knobs "$F")" "$before" "two runs at once: every knob as before"

# ---- usage ----
for args in "--restore -o x.csv" "--take=abc" "--take=1 --release=1" "--release=0" "--restore --ksm=run=1"; do
	# shellcheck disable=SC2086
	ks $args 2> /dev/null
	is "$?" 2 "bad usage exits 2: $args"
done
like "$("$KS" --help | tr '\n' ' ')" "--restore .*--take=PID .*--release=PID" "--help lists the owner options"
unset SAMEPAGE_STATE_DIR
like "$("$KS" --help)" "--state-dir=DIR" "--help names --state-dir"

done_testing
