#!/bin/sh
# A scenario of the kinds the quick profile does not use, end to end: guests
# from the user's own libvirt domain XML (`image xml:`, the tiny guest's
# kernel started with memload on its command line, a ready pattern of its
# own), KSM started by the ksmtuned rule (`ksm-policy`), dumps in the
# kdump-compressed format.  Checked: every guest booted, loaded and was dumped
# twice as kdump files; each policy decision in meta.json follows the rule
# from its own figures, KSM's run knob in the samples follows the decisions
# and KSM merged pages only after it was switched on; dedup-analyze reads the
# kdump dumps (flattened, as QEMU writes them) to the same numbers as the
# report; the host is left clean.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
[ -f "$TOP/build/guest/vmlinuz" ] || "$TOP/scripts/mkguest" > /dev/null 2>&1 || bail "the tiny guest cannot be built (scripts/mkguest)"
exp_take

# The threshold: the largest whole percentage at which 2 guests of ~300 MiB
# resident memory exceed the host (ksmtuned's rule), whatever its size.
total_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
P=$(( 100 - 300 * 100 / total_mib ))
[ "$P" -gt 100 ] && P=100

cat > "$TMPD/guest.xml" <<EOF
<domain type='qemu'>
  <name>@NAME@</name>
  <memory unit='MiB'>@MEMORY_MIB@</memory>
  <vcpu>@VCPUS@</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$TOP/build/guest/vmlinuz</kernel>
    <initrd>$TOP/build/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet no_timer_check ml_mb=96 ml_wr=0 ml_interval=5</cmdline>
  </os>
  <features><acpi/><vmcoreinfo state='on'/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='@SERIAL_LOG@' append='on'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
cat > "$TMPD/xml.scenario" <<EOF
name        quick-xml
guests      2
image       xml:guest.xml
ready-pattern memload: filled
memory      256M
ksm         run=1 pages_to_scan=4000 sleep_millisecs=10 max_page_sharing=256 use_zero_pages=1
ksm-policy  ksmtuned threshold=$P%
duration    24s
interval    1s
dumps       12s 18s
dump-format kdump-zlib
boot-timeout 120s
run own     idle
EOF
OUT=$TMPD/out
exp_run "xml + ksmtuned policy + kdump-zlib, threshold $P % of $total_mib MiB" "$TMPD/xml.scenario" "$OUT" --keep-dumps
is "$rc" 0 "the scenario ran (exit 0)$(tail -3 "$TMPD/err" | tr '\n' ' ')"
host_clean "$xpid" "$TMPD/knobs.before" "after the run" "$OUT/events.log"
R=$OUT/runs/own
[ -f "$R/meta.json" ] || bail "no meta.json"
is "$(json "$R/meta.json" 'len(d["guests"])')" 2 "2 guests from the domain XML"
is "$(json "$R/meta.json" 'sum(1 for r in d["dumps"] for g in r["guests"])')" 4 "every guest dumped twice"
kd=0
for f in $(json "$R/meta.json" '" ".join(g["file"] for r in d["dumps"] for g in r["guests"])'); do
	[ "$(head -c 12 "$R/$f" 2>/dev/null)" = makedumpfile ] && kd=$((kd + 1))
done
is "$kd" 4 "the dumps are kdump-compressed files in makedumpfile's flattened framing (what QEMU writes through libvirt)"

# the policy: each decision follows the rule from its own figures
is "$(json "$R/meta.json" 'len(d["policy"]) >= 1')" True "the policy decided at least once$(json "$R/meta.json" 'd["policy"]' | cut -c1-200)"
is "$(json "$R/meta.json" 'all((p["run"] == "1") == (p["committed_bytes"] + p["threshold_bytes"] > p["total_bytes"]) for p in d["policy"])')" True \
	"every decision follows ksmtuned's rule (guests + threshold > host)"
is "$(json "$R/meta.json" 'd["policy"][0]["run"]')" 1 "the first decision switches KSM on (2 guests exceed $P % of $total_mib MiB)"
on_at=$(json "$R/meta.json" 'd["policy"][0]["elapsed_s"]')
# samples: KSM off (run 0, nothing merged) before the decision, on and
# merging after it
csvq() { python3 -c 'import csv, sys; rows = list(csv.DictReader(open(sys.argv[1]))); on = float(sys.argv[2]); print(eval(sys.argv[3]))' "$R/host.csv" "$on_at" "$1"; }
is "$(csvq 'rows[0]["run"] + " " + rows[0]["pages_sharing"]')" "0 0" "the t = 0 sample: KSM off, nothing merged"
late=$(csvq 'sum(1 for r in rows if float(r["elapsed_s"]) > on + 3 and r["run"] == "1" and int(r["pages_sharing"]) > 1000)')
ok "$(num_le 3 "$late"; echo $?)" "KSM ran and merged > 1000 pages in the samples after the decision at $on_at s ($late samples)"
is "$(csvq 'sum(1 for r in rows if float(r["elapsed_s"]) < on and (r["run"] != "0" or r["pages_sharing"] != "0"))')" 0 \
	"no sample before the decision shows KSM running or merged pages"

# the kdump dumps read by dedup-analyze to the report's numbers
S=$OUT/summary.json
"$BIN/dedup-analyze" -q --json $(json "$R/meta.json" '" ".join("'"$R"'/" + g["file"] for g in d["dumps"][0]["guests"])') > "$TMPD/da.json" ||
	bail "dedup-analyze on the kdump dumps failed"
for k in intra_pages inter_pages nonzero_pages zero_pages; do
	is "$(json "$S" '[r for r in d if r["run"] == "own"][0]["total"]["'$k'"]')" "$(json "$TMPD/da.json" 'd["total"]["'$k'"]')" \
		"report total.$k = dedup-analyze on the kdump dumps"
done
nz=$(json "$TMPD/da.json" 'd["total"]["nonzero_pages"]')
ok "$(num_le 40000 "$nz"; echo $?)" "the guests' memload buffers are in the dumps ($nz >= 40000 non-zero pages)"
done_testing
