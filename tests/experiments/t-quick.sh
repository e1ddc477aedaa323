#!/bin/sh
# The quick profile end to end on tiny guests, checked on the report's
# numbers: every guest booted, sampled and dumped; Table I's potential
# columns equal dedup-analyze on the same dumps; the wr = 0 run achieves
# 50-105 % of the predicted KSM saving; the gap's parts add up to the
# difference; the charts' data hold the expected series with plausible
# values; scripts/report rebuilds the same table from the samples and dumps.
# Afterwards no guest is left, libvirtd runs only if it ran before (or
# others use it) and every KSM knob is back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"
exp_needs
exp_take
OUT=$TMPD/out
exp_run "quick profile" "$TOP/experiments/quick.scenario" "$OUT" --keep-dumps
is "$rc" 0 "the quick profile ran (exit 0)$(tail -3 "$TMPD/err" | tr '\n' ' ')"
host_clean "$xpid" "$TMPD/knobs.before" "after the run" "$OUT/events.log"
[ -f "$OUT/summary.json" ] || bail "no summary.json"
S=$OUT/summary.json
sed -n '/^## Table I/,/^## The gap/p' "$OUT/report.md" | grep '^|' | sed 's/^/# /'

for run in wr_0 wr_1_8 wr_1; do
	R=$OUT/runs/$run
	is "$(json "$R/meta.json" 'len(d["guests"])')" 3 "$run: 3 guests"
	is "$(json "$R/meta.json" 'd["loaded_guests"]')" 3 "$run: every guest booted and started its load"
	is "$(json "$R/meta.json" 'sum(1 for r in d["dumps"] for g in r["guests"])')" 6 "$run: every guest dumped twice"
	n=$(awk -F, 'NR > 1 { print $3 }' "$R/vms.csv" | sort -u | grep -c '^sp-quick-')
	is "$n" 3 "$run: every guest sampled (per-VM rows)"
	# Table I's potential columns against dedup-analyze on the same dumps
	"$BIN/dedup-analyze" -q --json $(json "$R/meta.json" '" ".join("'"$R"'/" + g["file"] for g in d["dumps"][0]["guests"])') > "$TMPD/da.json" ||
		bail "dedup-analyze on the dumps failed"
	for k in intra_pages inter_pages min_ram_bytes nonzero_pages zero_pages; do
		is "$(json "$S" '[r for r in d if r["run"] == "'"$(json "$R/meta.json" 'd["run"]')"'"][0]["total"]["'$k'"]')" \
			"$(json "$TMPD/da.json" 'd["total"]["'$k'"]')" "$run: $k equals dedup-analyze's"
	done
	name=$(json "$R/meta.json" 'd["run"]')
	row=$(grep "^| $name |" "$OUT/report.md" | head -n 1)
	want=$(json "$TMPD/da.json" '"| %s | {:,.1f} | {:,.1f} | {:,.1f} |".format(d["total"]["min_ram_bytes"] / 2**20, d["total"]["intra_pages"] / 256, d["total"]["inter_pages"] / 256) % "'"$name"'"')
	case "$row" in "$want"*) r=0 ;; *) r=1 ;; esac
	ok $r "$run: report.md Table I row shows those numbers ($row; want $want)"
	# the gap: parts add up, potential and achieved are what was measured
	sel='[r for r in d if r["run"] == "'"$name"'"][0]'
	is "$(json "$S" "$sel[\"gap_pages\"]")" "$(json "$S" "$sel[\"potential_pages\"] - $sel[\"achieved\"][\"nonzero_saved_pages\"]")" \
		"$run: difference = potential - achieved"
	is "$(json "$S" "sum(v for _, v in $sel[\"gap_parts\"])")" "$(json "$S" "$sel[\"gap_pages\"]")" "$run: the gap's parts add up to the difference"
	is "$(json "$S" "$sel[\"potential_pages\"]")" "$(json "$TMPD/da.json" 'd["total"]["intra_pages"] + d["total"]["inter_pages"]')" \
		"$run: potential = intra + inter of the dumps"
	merged=$(json "$R/meta.json" 'sum(g["ksm_stat"].get("ksm_merging_pages", 0) for g in d["dumps"][0]["guests"])')
	ach=$(json "$S" "$sel[\"achieved\"][\"nonzero_saved_pages\"]")
	num_le "$ach" "$merged"
	ok $? "$run: achieved saving ($ach) is at most the guests' merged pages ($merged, ksm_stat)"
	gline=$(grep -A3 "^### Run $name\$" "$OUT/report.md" | head -1)
	[ -n "$gline" ]
	ok $? "$run: the report has a gap section"
done

sel='[r for r in d if r["run"] == "wr=0"][0]'
pred=$(json "$S" "$sel[\"predicted\"][\"nonzero_saved_pages\"]")
ach=$(json "$S" "$sel[\"achieved\"][\"nonzero_saved_pages\"]")
echo "# wr=0: predicted $pred, achieved $ach non-zero pages"
num_le "$(echo "$pred * 0.5" | bc)" "$ach" && num_le "$ach" "$(echo "$pred * 1.05" | bc)"
ok $? "wr=0: achieved saving ($ach pages) within 50-105 % of the predicted KSM saving ($pred)"

# charts: the gnuplot data hold the series with plausible values
for c in used cpu sharing bars; do
	[ -s "$OUT/charts/$c.png" ] && [ -s "$OUT/charts/$c.svg" ]
	ok $? "chart $c: PNG and SVG written"
done
is "$(file -b "$OUT/charts/used.png" | grep -o '800 x 500')" "800 x 500" "chart used: 800x500"
is "$(cut -f3 "$OUT/charts/used.data/series.tsv" | tr '\n' ,)" \
	"wr=0: guests,wr=0: host,wr=1/8: guests,wr=1/8: host,wr=1: guests,wr=1: host," "chart used: one guest and one host curve per run"
unit=$(grep -o "memory (...)" "$OUT/charts/used.data/plot.gp" | head -1)
div=1; [ "$unit" = "memory (GiB)" ] && div=1024
for f in $(awk -F'\t' '$3 ~ /guests$/ { print $1 }' "$OUT/charts/used.data/series.tsv"); do
	bad=$(awk -v d="$div" '{ m = $2 * d; if (m <= 0 || m > 3 * 400) n++ } END { print n + 0 }' "$OUT/charts/used.data/$f")
	rows=$(wc -l < "$OUT/charts/used.data/$f")
	[ "$rows" -ge 20 ] && [ "$bad" -eq 0 ]
	ok $? "chart used, $f: $rows points, guest RAM in use within (0, 1200] MiB"
done
is "$(cut -f3 "$OUT/charts/cpu.data/series.tsv" | tr '\n' ,)" "wr=0 busy,wr=0 ksmd,wr=1 busy,wr=1 ksmd," \
	"chart cpu: host and ksmd CPU for wr = 0 and wr = 1"
bad=$(cat "$OUT"/charts/cpu.data/*.dat | awk '$2 < 0 || $2 > 100.5 { n++ } END { print n + 0 }')
is "$bad" 0 "chart cpu: every value is a percentage"
is "$(awk -F'\t' 'NR > 1 { print $1 }' "$OUT/charts/bars.data/bars.dat" | tr '\n' ,)" "wr=0,wr=1/8,wr=1," "chart bars: one group per run"
bars_want=$(json "$S" '"".join("%s\t%.3f\t%.3f\t%.3f\n" % (r["run"], r["potential_pages"] / 256, r["predicted"]["nonzero_saved_pages"] / 256, r["achieved"]["nonzero_saved_pages"] / 256) for r in d if r.get("gap_pages") is not None)')
is "$(tail -n +2 "$OUT/charts/bars.data/bars.dat")" "$bars_want" "chart bars: potential, predicted and achieved MiB of every run, as in the report"
bars_ok=$(awk -F'\t' 'NR > 1 && $2 > 100 && $4 > 0.5 * $3 { n++ } END { print n + 0 }' "$OUT/charts/bars.data/bars.dat")
is "$bars_ok" 3 "chart bars: potential > 100 MiB and achieved above half the prediction in every run"
grep -q 'src=.data:image/png;base64,' "$OUT/report.html" && ! grep -q "<img[^>]*src='[^d]" "$OUT/report.html"
ok $? "report.html embeds its charts"

# scripts/report from the samples and dumps alone (no meta of the runner)
R=$OUT/runs/wr_0
at=$(json "$R/meta.json" 'd["dumps"][0]["elapsed_s"]')
d1=$(json "$R/meta.json" '",".join("'"$R"'/" + g["file"] for g in d["dumps"][0]["guests"])')
d2=$(json "$R/meta.json" '",".join("'"$R"'/" + g["file"] for g in d["dumps"][1]["guests"])')
"$TOP/scripts/report" -o "$TMPD/rep" --run=kvm --samples="$R/host.csv" --vm-samples="$R/vms.csv" \
	--dumps="$d1" --dumps2="$d2" --at="$at" --ksm=use_zero_pages=1 \
	--run=esx --esxtop="$TOP/tests/collectors/data/esxtop-batch.csv" --dumps="$d1" > "$TMPD/rep.out" 2>&1
ok $? "scripts/report from samples and dumps (a ksm-sample run and an esxtop run)$(tail -2 "$TMPD/rep.out" | tr '\n' ' ')"
for r in kvm esx; do
	is "$(json "$TMPD/rep/summary.json" '[r for r in d if r["run"] == "'$r'"][0]["total"]["min_ram_bytes"]')" \
		"$(json "$OUT/summary.json" '[r for r in d if r["run"] == "wr=0"][0]["total"]["min_ram_bytes"]')" \
		"scripts/report, run $r: potential RAM use as the experiment's"
done
grep -q '^| esx |' "$TMPD/rep/report.md"
ok $? "scripts/report: the esxtop run has its Table I row"
done_testing
