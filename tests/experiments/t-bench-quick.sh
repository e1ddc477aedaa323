#!/bin/sh
# The bench-quick profile end to end: two benchmarks natively and in two
# Debian guests, KSM off and on.  Checked on the results: every run of
# every place and mode is in bench-runs.csv (the repeat count and the
# discarded first run visible), the summary's medians, spreads and
# normalized values follow from those runs, every normalized value is in
# (0, 1.5], KSM saved memory with KSM on and nothing with it off, and
# afterwards no guest is left and every KSM knob is back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
for p in sysbench bzip2 debootstrap; do
	command -v $p > /dev/null || skip_all "$p is not installed (scripts/deps installs it)"
done
exp_take
OUT=$TMPD/out
exp_run "bench-quick profile" "$TOP/experiments/bench-quick.scenario" "$OUT"
is "$rc" 0 "the bench-quick profile ran (exit 0)$(tail -5 "$TMPD/err" | tr '\n' ' ')"
host_clean "$xpid" "$TMPD/knobs.before" "after the run" "$OUT/events.log" sp-bench-quick-
[ -f "$OUT/bench-summary.csv" ] || bail "no bench-summary.csv"
sed -n '/^## Normalized/,/^Files/p' "$OUT/report.md" | grep '^|' | sed 's/^/# /'

# every check below prints "ok|not ok<TAB>description" lines
python3 - "$OUT" > "$TMPD/checks" <<'PY'
import csv, json, statistics, sys
out = sys.argv[1]
runs = list(csv.DictReader(open(out + "/bench-runs.csv")))
summ = list(csv.DictReader(open(out + "/bench-summary.csv")))
doc = json.load(open(out + "/bench.json"))
def check(c, what):
    print("%s\t%s" % ("ok" if c else "not ok", what))
benches = ["sysbench-cpu time=3", "bzip2-9 size=2"]
guests = ["sp-bench-quick-1", "sp-bench-quick-2"]
places = [("native", "-", ["host"]), ("vm", "off", guests), ("vm", "on", guests)]
check(doc["schema"] == "samepage-bench/2" and doc["repeats"] == 4, "bench.json: schema and 4 repeats")
for b in benches:
    for env, ksm, gs in places:
        for g in gs:
            rs = sorted((r for r in runs if r["bench"] == b and r["env"] == env and r["ksm"] == ksm and r["guest"] == g),
                        key=lambda r: int(r["repeat"]))
            check([r["repeat"] for r in rs] == ["1", "2", "3", "4"], "%s, %s KSM %s, %s: runs 1-4 in the CSV" % (b, env, ksm, g))
            check([r["discarded"] for r in rs] == ["true", "false", "false", "false"],
                  "%s, %s KSM %s, %s: the first run is marked discarded, the others kept" % (b, env, ksm, g))
            check(all(float(r["value"]) > 0 for r in rs), "%s, %s KSM %s, %s: every value positive" % (b, env, ksm, g))
        s = [x for x in summ if x["bench"] == b and x["env"] == env and x["ksm"] == ksm]
        check(len(s) == 1, "%s, %s KSM %s: one summary row" % (b, env, ksm))
        if not s:
            continue
        s = s[0]
        kept = [float(r["value"]) for r in runs if r["bench"] == b and r["env"] == env and r["ksm"] == ksm
                and r["discarded"] == "false"]
        check(int(s["runs"]) == 4 * len(gs) and int(s["kept"]) == 3 * len(gs),
              "%s, %s KSM %s: %s runs, %s kept (first of each place discarded)" % (b, env, ksm, s["runs"], s["kept"]))
        med = statistics.median(kept)
        check(abs(float(s["median"]) - med) <= 1e-9 * med, "%s, %s KSM %s: median %s of the kept runs" % (b, env, ksm, s["median"]))
        spread = (max(kept) - min(kept)) / med * 100
        check(abs(float(s["spread_pct"]) - spread) < 0.01, "%s, %s KSM %s: spread %s %%" % (b, env, ksm, s["spread_pct"]))
    nat = [x for x in summ if x["bench"] == b and x["env"] == "native"][0]
    for ksm in ("off", "on"):
        s = [x for x in summ if x["bench"] == b and x["env"] == "vm" and x["ksm"] == ksm][0]
        n = float(s["normalized"])
        want = float(s["median"]) / float(nat["median"]) if s["better"] == "higher" else float(nat["median"]) / float(s["median"])
        check(abs(n - want) < 1e-3 * want, "%s, KSM %s: normalized %s = %s against native" %
              (b, ksm, n, "VM / native" if s["better"] == "higher" else "native / VM"))
        check(0 < n <= 1.5, "%s, KSM %s: normalized %s in (0, 1.5]" % (b, ksm, n))
    on = [x for x in summ if x["bench"] == b and x["env"] == "vm" and x["ksm"] == "on"][0]
    off = [x for x in summ if x["bench"] == b and x["env"] == "vm" and x["ksm"] == "off"][0]
    r = float(off["median"]) / float(on["median"]) if on["better"] == "lower" else float(on["median"]) / float(off["median"])
    check(on["ksm_on_vs_off"] != "" and abs(float(on["ksm_on_vs_off"]) - r) < 1e-3 * r,
          "%s: KSM on vs off %s, from the two medians" % (b, on["ksm_on_vs_off"]))
check(all(x["normalized"] == "" for x in summ if x["env"] == "native"), "native rows have no normalized value")
m = doc["ksm_modes"]
# KSM's counters are host-wide: a few pages of other processes may count
check(m["off"]["saved_bytes"] < 2 ** 20, "KSM off: nothing merged (%d bytes)" % m["off"]["saved_bytes"])
check(m["on"]["saved_bytes"] > 8 * 2 ** 20, "KSM on: %.1f MiB saved (> 8 MiB)" % (m["on"]["saved_bytes"] / 2 ** 20))
check(m["on"]["ksmd_cpu_pct"] is not None and m["on"]["ksmd_cpu_pct"] > m["off"]["ksmd_cpu_pct"],
      "ksmd used more CPU with KSM on (%s %%) than off (%s %%)" % (m["on"]["ksmd_cpu_pct"], m["off"]["ksmd_cpu_pct"]))
check(all(0 < m[k]["host_cpu_pct"] <= 100 for k in m), "host CPU percentages in (0, 100]")
# each benchmark's own window of a mode: within the mode, and the figures of its summary row
for k in m:
    w = m[k].get("benches", {})
    check(sorted(w) == sorted(doc["benches"]), "KSM %s: a window for each benchmark (%s)" % (k, sorted(w)))
    check(0 < sum(x["seconds"] for x in w.values()) <= m[k]["seconds"] + 1,
          "KSM %s: the benchmarks' windows (%.0f s) lie within the mode (%.0f s)" %
          (k, sum(x["seconds"] for x in w.values()), m[k]["seconds"]))
    for b, x in w.items():
        s = [r for r in summ if r["bench"] == b and r["env"] == "vm" and r["ksm"] == k][0]
        check(int(s["saved_bytes"]) == x["saved_bytes"] and float(s["ksmd_cpu_pct"]) == x["ksmd_cpu_pct"],
              "%s, KSM %s: the summary row has its window's saving and ksmd CPU" % (b, k))
check(all(x["saved_bytes"] > 8 * 2 ** 20 for x in m["on"]["benches"].values()),
      "KSM on: more than 8 MiB saved at the end of every benchmark")
PY
[ -s "$TMPD/checks" ] || bail "the result checks did not run"
while IFS="$(printf '\t')" read -r res what; do
	[ "$res" = ok ]
	ok $? "$what"
done < "$TMPD/checks"
grep -q '^## What KSM costs and saves' "$OUT/report.md"
ok $? "report.md has the KSM cost table"
done_testing
