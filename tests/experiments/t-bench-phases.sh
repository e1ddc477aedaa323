#!/bin/sh
# The network benchmarks, the isolation phase and the scalability phase end
# to end, small: ab and iperf3 from the host against two Debian guests
# (their servers reached through the port forwards of the guests'
# user-mode network) and sysbench OLTP on a MariaDB in each guest, KSM off; isolation of a short sysbench run against
# the cpu and network loads; scalability with 1 and 2 guests sharing 1 GiB,
# a short benchmark that finishes and one that cannot finish within the
# bench timeout: every guest DNR there, reported as DNR and never as a
# number (it runs natively not at all: "native suite").  Afterwards no
# guest is left and every KSM knob is back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
for p in sysbench ab iperf3 debootstrap; do
	command -v $p > /dev/null || skip_all "$p is not installed (scripts/deps installs it)"
done
[ -x /usr/sbin/apache2 ] || skip_all "apache2 is not installed (apache2-bin; scripts/deps installs it)"
cat > "$TMPD/phases.scenario" <<'SC'
name        bench-phases
guests      2
image       debian
memory      512M
ksm-modes   off
repeats     2
native      suite
bench       ab n=200 c=4 page=4
bench       iperf3 time=2
bench       sysbench-cpu time=2
bench       sysbench-oltp time=2 table_size=100
isolation   cpu network
isolation-bench sysbench-cpu time=2
scale       1 2
scale-memory 1G
scale-bench sysbench-cpu time=2
scale-bench stress-ng stressor=cpu time=600
bench-timeout 45s
boot-timeout 15m
idle-cpu    40%
SC
exp_take
OUT=$TMPD/out
exp_run "bench phases" "$TMPD/phases.scenario" "$OUT"
is "$rc" 0 "the scenario ran (exit 0)$(tail -5 "$TMPD/err" | tr '\n' ' ')"
host_clean "$xpid" "$TMPD/knobs.before" "after the run" "$OUT/events.log" sp-bench-phases-
[ -f "$OUT/bench-summary.csv" ] || bail "no bench-summary.csv"
sed -n '/^## Normalized/,/^## Charts/p' "$OUT/report.md" | grep '^|' | sed 's/^/# /'
python3 - "$OUT" > "$TMPD/checks" <<'PY'
import csv, json, sys
out = sys.argv[1]
runs = list(csv.DictReader(open(out + "/bench-runs.csv")))
summ = list(csv.DictReader(open(out + "/bench-summary.csv")))
scale = list(csv.DictReader(open(out + "/bench-scale.csv")))
iso = list(csv.DictReader(open(out + "/bench-isolation.csv")))
def check(c, what):
    print("%s\t%s" % ("ok" if c else "not ok", what))
g = ["sp-bench-phases-1", "sp-bench-phases-2"]
for b, metric in (("ab n=200 c=4 page=4", "ab_requests"), ("iperf3 time=2", "iperf3_mbits"),
                  ("sysbench-oltp time=2 table_size=100", "sysbench_oltp_tps")):
    rs = [r for r in runs if r["bench"] == b and r["phase"] == "suite" and r["env"] == "vm"]
    check(sorted((r["guest"], r["repeat"]) for r in rs) == [(x, y) for x in g for y in ("1", "2")],
          "%s: 2 runs in each guest" % b)
    check(all(r["metric"] == metric and float(r["value"]) > 0 and r["status"] == "ok" for r in rs),
          "%s: every guest run a positive %s" % (b, metric))
    s = [x for x in summ if x["bench"] == b and x["env"] == "vm"]
    check(len(s) == 1 and 0 < float(s[0]["normalized"]) <= 1.5,
          "%s: normalized %s in (0, 1.5]" % (b, s[0]["normalized"] if s else None))
    check(any(x["bench"] == b and x["env"] == "native" for x in summ), "%s: a native row" % b)
# isolation
for st in ("cpu", "network"):
    r = [x for x in iso if x["stress"] == st]
    check(len(r) == 1, "isolation: one row for the %s load" % st)
    if not r:
        continue
    r = r[0]
    check(r["status"] == "ok" and float(r["median"]) > 0 and float(r["alone_median"]) > 0 and r["degradation_pct"] != "",
          "isolation %s: sysbench %s alone, %s under the load, degradation %s %%" %
          (st, r["alone_median"], r["median"], r["degradation_pct"]))
    check(abs((1 - float(r["median"]) / float(r["alone_median"])) * 100 - float(r["degradation_pct"])) < 0.11,
          "isolation %s: the degradation follows from the two medians" % st)
    check(r["stressor_status"] == "ok" and float(r["stressor_median"]) > 0 and
          r["stressor_metric"] == ("iperf3_mbits" if st == "network" else "stress_ng_cpu_ops"),
          "isolation %s: the stressed guest's own result %s %s" % (st, r["stressor_median"], r["stressor_metric"]))
    check(r["stress_outlasted_runs"] == "1/1", "isolation %s: the load outlasted the kept run (%s)" %
          (st, r["stress_outlasted_runs"]))
# scalability
def srow(b, n, guest="all"):
    x = [r for r in scale if r["bench"] == b and r["guests"] == str(n) and r["guest"] == guest]
    return x[0] if x else None
for n in (1, 2):
    a = srow("sysbench-cpu time=2", n)
    per = [r for r in scale if r["bench"] == "sysbench-cpu time=2" and r["guests"] == str(n) and r["guest"] != "all"]
    check(a is not None and a["status"] == "ok" and len(per) == n and all(p["status"] == "ok" for p in per),
          "scale %d: sysbench-cpu finished in all %d guests" % (n, n))
    if a and per:
        check(abs(float(a["median"]) - sum(float(p["median"]) for p in per)) < 1e-6 * float(a["median"]),
              "scale %d: aggregate %s = the sum of the guests' medians" % (n, a["median"]))
        check(a["memory_mib"] == str(1024 // n), "scale %d: %s MiB per guest" % (n, a["memory_mib"]))
    d = srow("stress-ng stressor=cpu time=600", n)
    check(d is not None and d["status"] == "DNR" and d["median"] == "" and d["dnr"] == str(n),
          "scale %d: the benchmark longer than the timeout is DNR in every guest, no value (%s)" % (n, d))
    dr = [r for r in runs if r["phase"] == "scale" and r["guests_at_once"] == str(n) and r["bench"].startswith("stress-ng")]
    check(len(dr) == 2 * n and all(r["status"] == "DNR" and r["value"] == "" for r in dr),
          "scale %d: its %d runs are DNR rows without a value" % (n, len(dr)))
    check(any("gave no result within 45 s" in r["note"] for r in dr), "scale %d: the DNR says it timed out" % n)
check(not any(r["value"] in ("0", "0.0") for r in runs), "no run recorded as zero")
check(not any(r["env"] == "native" and r["bench"].startswith("stress-ng") for r in runs),
      "native suite: the scalability phase's own benchmark ran natively not at all")
md = open(out + "/report.md").read()
check("## Scalability" in md and "## Isolation" in md and
      "| stress-ng stressor=cpu time=600 | off | 2 | 512 | DNR" in md, "report: scalability with the DNR row, isolation")
j = json.load(open(out + "/bench.json"))
check(j["scale"]["guest_counts"] == [1, 2] and j["isolation"]["stress"] == ["cpu", "network"],
      "bench.json: the scale and isolation sections")
PY
[ -s "$TMPD/checks" ] || bail "the result checks did not run"
while IFS="$(printf '\t')" read -r res what; do
	[ "$res" = ok ]
	ok $? "$what"
done < "$TMPD/checks"
for c in normalized scale; do
	[ -s "$OUT/charts/bench-$c.png" ]
	ok $? "chart $c drawn"
done
grep -Eq 'samepage-guest: ready \(mariadb up, network [a-z0-9]+ 10\.0\.2\.15,' "$OUT/console/sp-bench-phases-1.log"
ok $? "guest 1 had its network card up"
done_testing
