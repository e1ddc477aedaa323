#!/bin/sh
# Full and read-only disks: an output that cannot be written completely
# (a 64 KiB tmpfs that fills up) makes ksm-sample fail with the file's name,
# leaves no partial file (CSV, per-VM CSV, Prometheus temporary), and KSM is
# restored, owner record included; a read-only folder fails before KSM is
# touched; a full state folder refuses --ksm with nothing written to KSM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ksm.sh"

[ -x "$KS" ] || bail "$KS not built (make)"
[ "$(id -u)" = 0 ] || skip_all "mounting a small tmpfs needs root"
T=$TMPD
mkdir "$T/full" "$T/ro" "$T/state"
mount -t tmpfs -o size=64k,mode=0755 samepage-full "$T/full" ||
	skip_all "cannot mount a tmpfs (no privilege in this container?)"
at_exit "umount '$T/full'"
mount -t tmpfs -o ro,size=64k samepage-ro "$T/ro" || bail "tmpfs mounted once but not read-only"
at_exit "umount '$T/ro'"
export SAMEPAGE_STATE_DIR=$T/state

# Real KSM when there is one to change (then one test at a time), otherwise a
# scratch folder: the restore is checked either way.
if [ -w "$KSM/run" ]; then
	ksm_lock
	ksm_guard
	D=$KSM
else
	D=$T/ksm
	mkdir "$D"
	for kv in run=0 max_page_sharing=256 pages_to_scan=100 sleep_millisecs=20; do
		echo "${kv#*=}" > "$D/${kv%%=*}"
	done
fi
echo "# KSM folder: $D"
before=$(ksm_knobs "$D")
mps=$(ksm_norm "$(cat "$D/max_page_sharing")")
spec=run=1,pages_to_scan=1000,max_page_sharing=$((mps * 2))
ks() { "$KS" --ksm-dir="$D" --no-libvirt "$@"; }
after_error() { # NAME FILE: the common checks after an output error
	is "$(ksm_knobs "$D")" "$before" "$1: every KSM knob as before"
	is "$(ls -A "$T/state")" "" "$1: no owner record left"
	ok "$([ ! -e "$2" ]; echo $?)" "$1: no partial file"
}

# ---- the host CSV fills the disk ----
ks --ksm=$spec -i 0.01 -d 60 -o "$T/full/run.csv" 2> "$T/a.err"
is "$?" 1 "host CSV on a full disk: exit 1"
is "$(cat "$T/a.err")" "ksm-sample: $T/full/run.csv: write error: No space left on device; removed the incomplete file" \
	"host CSV: the file and the error named, removal said"
after_error "host CSV" "$T/full/run.csv"
is "$(ls -A "$T/full")" "" "host CSV: the disk is empty again"

# ---- the per-VM CSV fills the disk (the host CSV elsewhere is kept) ----
sleep 30 &
sp=$!
at_exit "kill $sp 2>/dev/null"
ks --ksm=$spec --pid=$sp -i 0.01 -d 60 -o "$T/host.csv" -V "$T/full/vms.csv" 2> "$T/b.err"
is "$?" 1 "per-VM CSV on a full disk: exit 1"
is "$(cat "$T/b.err")" "ksm-sample: $T/full/vms.csv: write error: No space left on device; removed the incomplete file" \
	"per-VM CSV: the file and the error named"
after_error "per-VM CSV" "$T/full/vms.csv"
rows=$(csv_rows "$T/host.csv")
ok "$([ "$rows" -gt 10 ] && tail -c 1 "$T/host.csv" | od -c | grep -q '\\n'; echo $?)" \
	"the host CSV on the good disk is kept, whole rows only ($rows rows)"

# ---- the Prometheus file cannot be written (disk already full) ----
dd if=/dev/zero of="$T/full/filler" bs=4k 2> /dev/null
ks --ksm=$spec -i 0.1 -d 5 -o /dev/null --prom="$T/full/ksm.prom" 2> "$T/c.err"
is "$?" 1 "Prometheus file on a full disk: exit 1"
like "$(cat "$T/c.err")" "^ksm-sample: $T/full/ksm.prom: cannot write: No space left on device$" "Prometheus: the file named"
after_error "Prometheus" "$T/full/ksm.prom"
is "$(ls -A "$T/full")" "filler" "Prometheus: no temporary file left"

# ---- the state folder is full: --ksm refuses before touching KSM ----
ks --ksm=$spec -d 1 -o "$T/s.csv" 2> "$T/s.err" --state-dir="$T/full"
is "$?" 1 "full state folder: exit 1"
like "$(cat "$T/s.err")" "^ksm-sample: --ksm: cannot write state file $T/full/ksm(-[0-9a-f]+)?\.state: No space left on device$" \
	"full state folder: the record named"
is "$(ksm_knobs "$D")" "$before" "full state folder: KSM untouched"
is "$(ls -A "$T/full")" "filler" "full state folder: no temporary record left"
ok "$([ ! -e "$T/s.csv" ]; echo $?)" "full state folder: no output file made"
rm -f "$T/full/filler"

# ---- a read-only folder ----
ks --ksm=$spec -d 1 -o "$T/ro/run.csv" 2> "$T/d.err"
is "$?" 1 "read-only folder: exit 1"
is "$(cat "$T/d.err")" "ksm-sample: $T/ro/run.csv: Read-only file system" "read-only folder: the file named"
after_error "read-only folder" "$T/ro/run.csv"

# ---- a device that refuses every write is not removed ----
ks --ksm=$spec -d 1 -o /dev/full 2> "$T/e.err"
is "$?" 1 "/dev/full: exit 1"
is "$(cat "$T/e.err")" "ksm-sample: /dev/full: write error: No space left on device" "/dev/full: named, not removed"
ok "$([ -c /dev/full ]; echo $?)" "/dev/full still there"
is "$(ksm_knobs "$D")" "$before" "/dev/full: every KSM knob as before"

done_testing
