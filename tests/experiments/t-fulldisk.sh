#!/bin/sh
# A dump that does not fit: the output folder is a 24 MiB tmpfs and the
# guest has 256 MiB, so its dump fills the file system.  The runner fails
# with exit status 1 and a message naming the dump file and the reason,
# leaves no partial dump, shows the run as failed in its report (never as
# measured), and still destroys its guest, stops what it started and puts
# every KSM knob back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
[ "$(id -u)" = 0 ] || skip_all "mounting a small tmpfs needs root"
mkdir "$TMPD/full"
mount -t tmpfs -o size=24m,mode=0755 samepage-full "$TMPD/full" ||
	skip_all "cannot mount a tmpfs (no privilege in this container?)"
at_exit "umount '$TMPD/full'"
exp_take

cat > "$TMPD/full.scenario" <<'EOF'
name        fulldisk
description One tiny guest whose dump does not fit the output folder.
guests      1
image       tiny
memory      256M
vcpus       1
ksm         run=1 pages_to_scan=4000 sleep_millisecs=10
duration    20s
interval    1s
dumps       8s 12s
dump-format elf
boot-timeout 120s
run full    memload size=32M wr=0 interval=5
EOF
OUT=$TMPD/full/out
exp_run "full disk" "$TMPD/full.scenario" "$OUT"
sed 's/^/# /' "$TMPD/err"
is "$rc" 1 "the run fails with exit status 1"
dump=$OUT/runs/full/dumps/sp-fulldisk-full-1.1.elf
msg=$(grep "dump sp-fulldisk-full-1 to " "$TMPD/err" | head -n 1)
like "$msg" "^experiment: libvirt-env: dump sp-fulldisk-full-1 to $dump failed: .*; the partial file is removed\$" \
	"the message names the dump file and says that the partial file is removed"
like "$msg" "[Nn]o space left on device" "the message gives the reason"
[ ! -e "$dump" ]
ok $? "no partial dump is left"
is "$(ls "$OUT/runs/full/dumps" | wc -l)" 0 "the dump folder is empty"
is "$(json "$OUT/runs/full/meta.json" 'd["failed"] is not None and "No space left" in d["failed"]')" True \
	"the run's record says that it failed, and why"
grep -q '^| full | failed: ' "$OUT/report.md"
ok $? "the report shows the run as failed$(grep '^| full |' "$OUT/report.md" | head -1 | sed 's/^/: /')"
host_clean "$xpid" "$TMPD/knobs.before" "after the failed dump" "$OUT/events.log" sp-fulldisk-
done_testing
