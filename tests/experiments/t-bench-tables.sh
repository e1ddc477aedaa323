#!/bin/sh
# The scalability and isolation tables from runs given here (no guest):
# per-guest medians of the kept runs, the aggregate (sum when higher is
# better, mean when lower is better) over the guests that finished, a
# guest with a DNR run reported as DNR — never as zero — in the CSV, the
# JSON and the report; degradation under a stress load against the same
# benchmark alone.
. "$(dirname "$0")/../lib.sh"
python3 - "$TOP/scripts" "$TMPD" > "$TMPD/checks" <<'PY'
import csv, json, sys
sys.path.insert(0, sys.argv[1])
from explib import benchout
out = sys.argv[2]

def row(bench, env, ksm, guest, rep, value, phase="suite", n=1, stress="-", better="higher", unit="events/s",
        metric="m"):
    return {"bench": bench, "metric": None if value is None else metric, "unit": None if value is None else unit,
            "better": None if value is None else better, "env": env, "ksm": ksm, "guest": guest, "repeat": rep,
            "discarded": rep == 1, "value": value, "phase": phase, "guests_at_once": n, "stress": stress,
            "status": "DNR" if value is None else "ok", "note": "timed out" if value is None else ""}

rows = []
for rep, v in enumerate([50, 100, 110, 90], 1):
    rows.append(row("cpu", "native", "-", "host", rep, v))
    rows.append(row("t", "native", "-", "host", rep, v / 10, better="lower", unit="s"))
for rep, v in enumerate([9, 40, 44, 42], 1):   # suite: 1 guest
    rows.append(row("cpu", "vm", "off", "g1", rep, v))
# scale n=1: one guest; n=2: g1 finishes, g2 times out in run 3
for rep, v in enumerate([9, 40, 44, 42], 1):
    rows.append(row("cpu", "vm", "off", "s1-1", rep, v, phase="scale", n=1))
for rep, v in enumerate([9, 30, 20, 25], 1):
    rows.append(row("cpu", "vm", "off", "s2-1", rep, v, phase="scale", n=2))
for rep, v in enumerate([9, 35, None, None], 1):
    rows.append(row("cpu", "vm", "off", "s2-2", rep, v, phase="scale", n=2))
for rep, v in enumerate([3, 20, 30, 40], 1):   # lower is better: the mean of the guests
    rows.append(row("t", "vm", "off", "s2-1", rep, v, phase="scale", n=2, better="lower", unit="s"))
    rows.append(row("t", "vm", "off", "s2-2", rep, v * 2, phase="scale", n=2, better="lower", unit="s"))
# every guest DNR
for rep in range(1, 5):
    rows.append(row("t", "vm", "off", "s1-1", rep, None, phase="scale", n=1))
# isolation: alone 40 (median of 40, 38, 42), cpu stress 30 -> 25 % slower; fork: a DNR run
for rep, v in enumerate([5, 40, 38, 42], 1):
    rows.append(row("cpu", "vm", "off", "g1", rep, v, phase="isolation", n=2, stress="none"))
    rows.append(row("cpu", "vm", "off", "g1", rep, v * 0.75, phase="isolation", n=2, stress="cpu"))
    rows.append(row("stress cpu", "vm", "off", "g2", rep, 1000 + rep, phase="isolation-stressor", n=2,
                    stress="cpu", metric="stress_ng_cpu_ops", unit="bogo-ops/s"))
    rows.append(row("cpu", "vm", "off", "g1", rep, None if rep == 3 else v, phase="isolation", n=2, stress="fork"))
    rows.append(row("stress fork", "vm", "off", "g2", rep, None, phase="isolation-stressor", n=2, stress="fork"))
sc = {"name": "t", "description": "", "guests": 2, "memory_mib": 512, "vcpus": 1, "accel": "tcg", "repeats": 4,
      "ksm": {}, "benches": [], "scale": [1, 2], "scale_memory_mib": 1024, "scale_ksm": ["off"],
      "isolation": ["cpu", "fork"]}
iso = {"cpu": {"cpu": [{"stress_outlasted_benchmark": True}] * 4}}
steps = {"1 off": {"memory_mib": 1024}, "2 off": {"memory_mib": 512}}
doc = benchout.write(out, sc, rows, {}, {}, steps, iso)

def check(c, what):
    print("%s\t%s" % ("ok" if c else "not ok", what))

summ = list(csv.DictReader(open(out + "/bench-summary.csv")))
check(all(r["bench"] in ("cpu", "t") for r in summ) and len(summ) == 3,
      "bench-summary.csv: the suite only (native cpu, native t, vm cpu): %d rows" % len(summ))
vm = [r for r in summ if r["env"] == "vm"][0]
check(vm["median"] == "42" and vm["normalized"] == "0.42", "suite: median 42, normalized 42/100")
sc_rows = list(csv.DictReader(open(out + "/bench-scale.csv")))
def srow(b, n, g):
    return next(r for r in sc_rows if r["bench"] == b and r["guests"] == str(n) and r["guest"] == g)
check(srow("cpu", 1, "all")["median"] == "42" and srow("cpu", 1, "all")["status"] == "ok",
      "scale n=1: aggregate 42, status ok")
check(srow("cpu", 1, "all")["memory_mib"] == "1024" and srow("cpu", 2, "all")["memory_mib"] == "512",
      "scale: memory per guest 1024 and 512 MiB")
check(srow("cpu", 2, "s2-1")["median"] == "25" and srow("cpu", 2, "s2-1")["status"] == "ok", "scale n=2: guest 1 median 25")
g2 = srow("cpu", 2, "s2-2")
check(g2["status"] == "DNR" and g2["median"] == "" and g2["note"] == "timed out",
      "scale n=2: guest 2 with a timed-out run is DNR, no value (%s)" % g2)
a2 = srow("cpu", 2, "all")
check(a2["status"] == "partial" and a2["dnr"] == "1" and a2["median"] == "25" and a2["note"] == "1 of 2 guests DNR",
      "scale n=2: aggregate over the finished guest only, 1 DNR (%s)" % a2)
check(a2["normalized"] == "0.25", "scale n=2: per guest normalized 25/100")
t2 = srow("t", 2, "all")
check(t2["median"] == "45" and t2["normalized"] == "0.2222",
      "scale, lower is better: aggregate = mean of 30 and 60, normalized 10/45 (%s, %s)" % (t2["median"], t2["normalized"]))
t1 = srow("t", 1, "all")
check(t1["status"] == "DNR" and t1["median"] == "" and t1["normalized"] == "", "scale: every guest DNR: DNR, no value")
check(not any(r["median"] == "0" for r in sc_rows), "no zero in bench-scale.csv")
iso_rows = list(csv.DictReader(open(out + "/bench-isolation.csv")))
c = next(r for r in iso_rows if r["stress"] == "cpu")
check(c["alone_median"] == "40" and c["median"] == "30.0" and c["degradation_pct"] == "25.0",
      "isolation cpu: 30 under the load against 40 alone = 25 %% degradation (%s)" % c)
check(c["stressor_median"] == "1003" and c["stressor_status"] == "ok" and c["stress_outlasted_runs"] == "3/3",
      "isolation cpu: the stressed guest's median of its kept runs, the load outlasted the 3 kept runs")
f = next(r for r in iso_rows if r["stress"] == "fork")
check(f["status"] == "DNR" and f["degradation_pct"] == "" and f["stressor_status"] == "DNR",
      "isolation fork: a DNR run makes the cell DNR, no number (%s)" % f)
j = json.load(open(out + "/bench.json"))
check(j["schema"] == "samepage-bench/2" and j["scale"]["guest_counts"] == [1, 2], "bench.json: schema 2, scale counts")
check([r["value"] for r in j["runs"] if r["status"] == "DNR"] == [None] * sum(1 for r in j["runs"] if r["status"] == "DNR"),
      "bench.json: DNR runs have null values")
md = open(out + "/report.md").read()
check("| cpu | off | 2 | 512 | 25 off | 0.25 | 1 | 25, DNR |" in md.replace("25 events/s", "25 off"),
      "report: the scalability row of 2 guests shows the DNR guest")
check("| cpu | +25.0 % | 1003 |" in md and "| fork | DNR | DNR |" in md, "report: the isolation table, DNR cells")
PY
[ -s "$TMPD/checks" ] || bail "the checks did not run"
while IFS="$(printf '\t')" read -r res what; do
	[ "$res" = ok ]
	ok $? "$what"
done < "$TMPD/checks"

# the charts: drawn by plot-bench into charts/ and named in the report
command -v gnuplot > /dev/null || { done_testing; exit; }
for c in normalized scale; do
	head -c 8 "$TMPD/charts/bench-$c.png" | od -An -c | grep -q 'P   N   G'
	ok $? "charts/bench-$c.png is a PNG"
	grep -q "^!\[.*\](charts/bench-$c.png)" "$TMPD/report.md"
	ok $? "report.md shows charts/bench-$c.png"
done
# the scale chart draws the aggregate rows: 1 and 2 guests of cpu, 2 of t
is "$(cat "$TMPD/charts/data-scale/s1.dat" | tr '\t\n' ' ')" "1 0.42  2 0.25 some DNR " "scale chart: cpu at 1 and 2 guests, 2 marked DNR"
is "$(cat "$TMPD/charts/data-scale/s2.dat" | tr '\t\n' ' ')" "2 0.2222  " "scale chart: t only at 2 guests (every guest DNR at 1)"
is "$(grep -c "<img alt='[a-z]*' src='data:image/png;base64," "$TMPD/report.html")" 2 "report.html embeds the two charts"
[ ! -e "$TMPD/charts/bench-ksm.png" ]
ok $? "no KSM chart without KSM-on rows"
"$TOP/scripts/plot-bench" ksm "$TMPD/bench-summary.csv" -o "$TMPD/k.png" 2> "$TMPD/err"
is "$?" 1 "plot-bench ksm without KSM-on rows fails (exit 1)"
like "$(cat "$TMPD/err")" "no VM rows to draw" "plot-bench says why"
"$TOP/scripts/plot-bench" bars "$TMPD/bench-summary.csv" -o "$TMPD/k.png" 2> "$TMPD/err"
is "$?" 2 "plot-bench with an unknown chart kind: usage error"
"$TOP/scripts/plot-bench" scale "$TMPD/bench-summary.csv" -o "$TMPD/k.png" 2> "$TMPD/err"
is "$?" 1 "plot-bench scale of a summary file fails"
like "$(cat "$TMPD/err")" "bench-summary.csv: no column guest$" "plot-bench names the missing column"
done_testing
