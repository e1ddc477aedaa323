#!/bin/sh
# --hosts=K[:SIZE] on instances whose optimum is known by construction and
# checked by model.py, which tries every plan: the sharing-aware plan must be
# optimal there, never worse than first fit, and text, JSON and CSV must
# agree (docs/analyses.md, "Placement").
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
S=$TOP/tests/analyses
for s in p q r pl-l pl-b pl-d pl-c fam-x1 fam-x2 fam-y1 fam-y2 fam-z1 fam-z2; do
	"$TB/formats/mkelf" "$S/$s.spec" "$TMPD/$s.elf" || exit 1
done
cd "$TMPD" || exit 1
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# m K NAMES...: ((optimum, first fit, lower bound) pages, optimal plans)
m() { _k=$1; shift; _s=""; for _n in "$@"; do _s="$_s $S/$_n.spec"; done; python3 "$S/model.py" place "$_k" $_s; }
nth() { python3 -c 'import sys; print(eval(sys.argv[1])[int(sys.argv[2])])' "$1" "$2"; }
# pages K NAMES...: (sharing-aware, first fit, lower bound) pages from the JSON
pages() {
	_k=$1; shift; _f=""; for _n in "$@"; do _f="$_f $_n.elf"; done
	"$DA" -q --json --hosts="$_k" $_f > pl.json || return 1
	j pl.json '(d["placement"]["greedy"]["memory_bytes"]//4096, d["placement"]["first_fit"]["memory_bytes"]//4096, d["placement"]["lower_bound_bytes"]//4096)'
}
# plan: the sharing-aware plan of pl.json as sorted lists of dump names
plan() { j pl.json 'sorted(sorted(h["dumps"]) for h in d["placement"]["greedy"]["hosts"] if h["dumps"])'; }
in_plans() { python3 -c 'import sys; sys.exit(0 if eval(sys.argv[1]) in eval(sys.argv[2]) else 1)' "$1" "$2"; }

# p r q on 2 hosts: optimum 6 pages (p with q), first fit 7, lower bound 5
want=$(m 2 p r q)
is "$(pages 2 p r q)" "$(nth "$want" 0)" "p r q on 2 hosts: optimum, first fit and lower bound pages"
in_plans "$(plan)" "$(nth "$want" 1)"; ok $? "the plan is an optimal one: $(plan)"

# A trap for greedy in descending size: L, B, D, C (10, 9, 8, 7 contents) on
# 2 hosts; greedy from the largest puts L with B (a small overlap) and then
# D with C: 29 pages.  The optimum pairs B with D and L with C: 28.
for order in "pl-l pl-c pl-b pl-d" "pl-l pl-b pl-d pl-c" "pl-c pl-d pl-b pl-l"; do
	want=$(m 2 $order)
	got=$(pages 2 $order)
	is "$(nth "$got" 0)" "$(nth "$(nth "$want" 0)" 0)" "$order: the optimum ($(nth "$(nth "$want" 0)" 0) pages)"
	is "$(nth "$got" 1)" "$(nth "$(nth "$want" 0)" 1)" "$order: first fit as the model"
	ok "$([ "$(nth "$got" 0)" -le "$(nth "$got" 1)" ] && echo 0 || echo 1)" "$order: never worse than first fit"
	in_plans "$(plan)" "$(nth "$want" 1)"; ok $? "$order: an optimal plan"
done

# Three families (a shared block each, small private parts), given
# interleaved: the optimum keeps each family on one host and equals the
# lower bound (families share nothing); first fit mixes them.
fam="fam-x1 fam-y1 fam-z1 fam-x2 fam-y2 fam-z2"
want=$(m 3 $fam)
is "$(pages 3 $fam)" "$(nth "$want" 0)" "families on 3 hosts: optimum = lower bound, first fit"
in_plans "$(plan)" "$(nth "$want" 1)"; ok $? "every family on one host"
is "$(j pl.json 'd["placement"]["greedy"]["above_lower_bound_bytes"], d["placement"]["first_fit"]["above_lower_bound_bytes"]//4096')" \
   "(0, $(($(nth "$(nth "$want" 0)" 1) - $(nth "$(nth "$want" 0)" 2))))" "distance from the lower bound, per strategy"
"$DA" -q --hosts=3 fam-x1.elf fam-y1.elf fam-z1.elf fam-x2.elf fam-y2.elf fam-z2.elf > pl.txt
lb=$(j pl.json '"%.1f" % (d["placement"]["lower_bound_bytes"] / 1048576)')
lbp=$(nth "$(nth "$want" 0)" 2) ffp=$(nth "$(nth "$want" 0)" 1)
like "$(cat pl.txt)" "lower bound: $lb MiB \($lbp pages; all dumps on one host = minimum RAM\)" "text: the lower bound"
like "$(cat pl.txt)" "sharing-aware: $lb MiB \($lbp pages\), \+0\.0 MiB \(0\.0%\) over the lower bound" "text: the plan and its distance"
like "$(cat pl.txt)" "first fit in given order: [0-9.]+ MiB \($ffp pages\), \+[0-9.]+ MiB \($(python3 -c "print('%.1f' % (100 * ($ffp - $lbp) / $lbp))")%\) over" "text: first fit and its distance"
like "$(cat pl.txt)" "sharing-aware saves [0-9.]+ MiB \($((ffp - lbp)) pages\) against first fit" "text: the saving against first fit"
is "$(j pl.json 'd["placement"]["lower_bound_bytes"]') " "$("$DA" -q --json fam-x1.elf fam-y1.elf fam-z1.elf fam-x2.elf fam-y2.elf fam-z2.elf | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["min_ram_bytes"])') " \
   "the lower bound is minimum RAM"
# the same instance in another order: the same plan (ties are broken the same way)
"$DA" -q --json --hosts=3 fam-z2.elf fam-y2.elf fam-x2.elf fam-z1.elf fam-y1.elf fam-x1.elf > pl2.json
is "$(j pl2.json 'd["placement"]["greedy"]["memory_bytes"]//4096')" "$(nth "$(nth "$want" 0)" 0)" "another order: the optimum again"

# capacity: 25 pages a host fits every family; 16 fits none
"$DA" -q --json --hosts=3:100K $(for n in $fam; do printf '%s.elf ' "$n"; done) > cap.json
is "$(j cap.json '(d["placement"]["capacity_bytes"], d["placement"]["greedy"]["fits"], [h["fits"] for h in d["placement"]["greedy"]["hosts"]], d["placement"]["greedy"]["memory_bytes"]//4096)')" \
   "(102400, True, [True, True, True], $(nth "$(nth "$want" 0)" 0))" "a capacity the families fit in: the plan fits, every host fits"
"$DA" -q --json --hosts=3:64K $(for n in $fam; do printf '%s.elf ' "$n"; done) > small.json
is "$(j small.json '(d["placement"]["greedy"]["fits"], d["placement"]["first_fit"]["fits"], all(not h["fits"] for h in d["placement"]["greedy"]["hosts"]))')" \
   "(False, False, True)" "a capacity nothing fits in: no plan fits, no host fits"
is "$(j small.json 'd["placement"]["greedy"]["over_capacity_bytes"] == sum(max(0, h["memory_bytes"] - 65536) for h in d["placement"]["greedy"]["hosts"])')" \
   True "over_capacity_bytes sums what each host needs beyond the capacity"

# CSV: one row per strategy and dump, with capacity, fits and totals equal to the JSON's
"$DA" -q --csv --hosts=3:64K $(for n in $fam; do printf '%s.elf ' "$n"; done) > small.csv
like "$(cat small.csv)" "analysis,strategy,dump,host,host_memory_bytes,capacity_bytes,host_fits,strategy_memory_bytes,strategy_fits,lower_bound_bytes" "CSV header"
is "$(python3 - small.csv small.json <<'PY'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
i = next(k for k, r in enumerate(rows) if r[:1] == ["analysis"] and "strategy" in r)
hdr, body = rows[i], [r for r in rows[i + 1:] if r and r[0] == "placement"]
d = json.load(open(sys.argv[2]))["placement"]
bad = 0
for r in body:
    x = dict(zip(hdr, r)); s = d[x["strategy"]]; h = s["hosts"][int(x["host"])]
    bad += x["dump"] not in h["dumps"] or int(x["host_memory_bytes"]) != h["memory_bytes"]
    bad += int(x["capacity_bytes"]) != d["capacity_bytes"] or x["host_fits"] != str(int(h["fits"]))
    bad += int(x["strategy_memory_bytes"]) != s["memory_bytes"] or x["strategy_fits"] != str(int(s["fits"]))
    bad += int(x["lower_bound_bytes"]) != d["lower_bound_bytes"]
print(len(body), bad)
PY
)" "12 0" "CSV rows (2 strategies x 6 dumps) agree with the JSON field by field"
done_testing
