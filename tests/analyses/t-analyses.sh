#!/bin/sh
# Every analysis on fixtures whose numbers are known by construction
# (tests/analyses/*.spec), in JSON and CSV, and the same from fingerprints.
# Every expected number comes from model.py, which computes it from the specs
# with the rules of docs/analyses.md (no code shared with dedup-analyze).
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
for s in p q r h1 h2 d1 d2; do "$TB/formats/mkelf" "$TOP/tests/analyses/$s.spec" "$TMPD/$s.elf" || exit 1; done
cd "$TMPD" || exit 1
# j FILE EXPR: a value from a JSON file
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# m QUESTION [ARGS] SPEC-NAMES...: the model's answer (tests/analyses/model.py)
m() {
	_q=$1; shift
	_a=""; case $_q in ksm) _a="$1 $2"; shift 2 ;; tps|place|huge|top) _a=$1; shift ;; esac
	_s=""; for _n in "$@"; do _s="$_s $TOP/tests/analyses/$_n.spec"; done
	python3 "$TOP/tests/analyses/model.py" "$_q" $_a $_s
}
# nth LITERAL I: element I of a Python tuple/list literal
nth() { python3 -c 'import sys; print(eval(sys.argv[1])[int(sys.argv[2])])' "$1" "$2"; }

# p: 1 x200, 2 x100, 3, 10 zero      q: 1 x200, 2 x157, 4 x2      r: 1 x200, 5, 5 zero
# contents over all: 1: 600 copies in 3 dumps, 2: 257 in 2, 3: 1, 4: 2, 5: 1; zero: 15
"$DA" -q --json --ksm p.elf q.elf r.elf > ksm.json
is "$(j ksm.json 'tuple(d["ksm"][k] for k in ("max_page_sharing","pages_shared","pages_sharing","pages_unshared","stable_node_chains","stable_node_dups","ksm_zero_pages"))')" \
   "(256, $(m ksm 256 0 p q r | sed 's/^(//; s/, [0-9]*, [0-9]*, [0-9]*)$//'))" "KSM, max_page_sharing 256: 600 -> (3, 597), 257 -> (1, 255), 2 -> (1, 1), zero 15 -> (1, 14)"
is "$(j ksm.json 'd["ksm"]["saved_bytes"], d["ksm"]["rmap_items"], d["ksm"]["general_profit"]')" \
   "$(m ksm 256 0 p q r | sed 's/^(\([0-9]*, \)\{6\}/(/')" "KSM: saved bytes, rmap items, general_profit"
"$DA" -q --json --ksm --use-zero-pages p.elf q.elf r.elf > ksmz.json
is "$(j ksmz.json 'tuple(d["ksm"][k] for k in ("pages_shared","pages_sharing","ksm_zero_pages","saved_bytes"))')" \
   "$(python3 -c 'import sys; t=eval(sys.argv[1]); print((t[0], t[1], t[5], t[6]))' "$(m ksm 256 1 p q r)")" "KSM, use_zero_pages: zero pages go to ksm_zero_pages"
"$DA" -q --json --max-page-sharing=1000 p.elf q.elf r.elf > ksm1k.json
is "$(j ksm1k.json 'tuple(d["ksm"][k] for k in ("pages_shared","pages_sharing","pages_unshared","stable_node_chains"))')" \
   "$(python3 -c 'import sys; t=eval(sys.argv[1]); print(t[:4])' "$(m ksm 1000 0 p q r)")" "KSM, max_page_sharing 1000: no chains"

# TPS: full D = 5; groups {p,q} {r}: 4 + 2 = 6; intra: 3 + 3 + 2 = 8; non-zero 861
printf '# salt groups\np.elf A\n%s/q.elf A\nr.elf B\n' "$TMPD" > groups.txt
"$DA" -q --json --salt-groups=groups.txt p.elf q.elf r.elf > tps.json
is "$(j tps.json 'tuple(d["tps"][k] for k in ("nonzero_pages","salt_groups","full_saved_pages","salted_saved_pages","intra_saved_pages"))')" \
   "$(m tps A,A,B p q r)" "TPS: full, salted and intra-VM savings"
"$DA" -q --tps --csv p.elf q.elf r.elf > tps.csv
intra=$(m intra p q r)
like "$(cat tps.csv)" "tps,salted,$(nth "$intra" 0),$(($(nth "$intra" 0) * 4096)),$(nth "$intra" 1),$(($(nth "$intra" 1) * 4096)),3" "TPS without groups: each VM alone, as CSV"
# the salt groups file itself: t-salt-groups.sh

# pairs
"$DA" -q --json --pairs p.elf q.elf r.elf > pairs.json
is "$(j pairs.json '[(x["common_contents"], x["a_pages_in_common"], x["b_pages_in_common"], x["union_contents"], x["jaccard"], x["saved_together_pages"]) for x in d["pairs"]]')" \
   "$(m pairs p q r)" "pairwise similarity"

# placement: t-placement.sh

# huge pages of 16 KiB (4 frames): see the spec comments in the test
"$DA" -q --json --huge=16K h1.elf h2.elf > huge.json
is "$(j huge.json 'tuple(d["huge"][k] for k in ("regions","regions_shareable","saved_4k_pages","identical_saved_pages","split_for_50","split_for_90","split_for_100"))')" \
   "$(m huge 4 h1 h2)" "huge page what-if: regions to split for 50/90/100 %"

# degree and top contents
"$DA" -q --json --top=3 p.elf q.elf r.elf > deg.json
is "$(j deg.json '[(b["copies_min"], b["copies_max"], b["contents"], b["pages"]) for b in d["degree"]]')" \
   "$(m degree p q r)" "sharing degree histogram"
is "$(j deg.json '[(t["copies"], t["dumps"], t["class"]) for t in d["top"]]')" \
   "$(m top 3 p q r)" "top contents with their class"
top=$(nth "$(m degree p q r)" -1) nz=$(nth "$(m tps A,A,A p q r)" 0)
like "$("$DA" -q --degree p.elf q.elf r.elf)" \
	"$(nth "$top" 0)-$(nth "$top" 1) +$(nth "$top" 2) +$(nth "$top" 3) +$(python3 -c "print('%.1f' % (100 * $(nth "$top" 3) / $nz))" | sed 's/\./\\./')%" "text histogram"
"$DA" -q --csv --degree p.elf q.elf r.elf > deg.csv
t3=$(nth "$(m top 3 p q r)" 2)
like "$(cat deg.csv)" "top,3,zero,$(nth "$t3" 0),$(nth "$t3" 1),zero" "CSV top contents"

# diff: frame 0 same, 1 changed, 2 same, 3 gone, 0x10 new
"$DA" -q --json --diff d1.elf d2.elf > diff.json
is "$(j diff.json 'tuple(d[k] for k in ("unchanged","changed","gone","new","contents_kept","after_contents"))')" \
   "$(python3 -c 'import sys; t=eval(sys.argv[1]); print((t[0], t[2], t[3], t[4], t[7], t[8]))' "$(m diff d1 d2)")" "diff: unchanged, changed, gone, new"
"$DA" -q --diff d1.elf > /dev/null 2>&1
is "$?" 2 "--diff with one input: exit 2"

# fingerprints: the same answers without the dumps
"$DA" -q --save-fp=fp --csv p.elf q.elf r.elf h1.elf h2.elf d1.elf d2.elf > direct.csv
ok $? "fingerprints written"
ls fp/*.fp > /dev/null 2>&1; ok $? "one .fp per dump"
"$DA" -q --csv fp/p.elf.fp fp/q.elf.fp fp/r.elf.fp fp/h1.elf.fp fp/h2.elf.fp fp/d1.elf.fp fp/d2.elf.fp > fromfp.csv
is "$(cut -d, -f3- fromfp.csv)" "$(cut -d, -f3- direct.csv)" "Table I from fingerprints equals Table I from dumps"
strip() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if k not in ("path", "format", "seconds", "a", "b", "dumps") or not isinstance(v, str)}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x
d.pop("dumps")
if "placement" in d:
    for s in ("greedy", "first_fit"):
        for h in d["placement"][s]["hosts"]:
            h["dumps"] = [p.split("/")[-1].replace(".fp", "") for p in h["dumps"]]
print(json.dumps(clean(d), sort_keys=True))' "$1"; }
"$DA" -q --json --all --hosts=2 --salt-groups=groups.txt p.elf q.elf r.elf > a.json
printf 'p.elf.fp A\nq.elf.fp A\nr.elf.fp B\n' > groups-fp.txt
"$DA" -q --json --all --hosts=2 --salt-groups=groups-fp.txt fp/p.elf.fp fp/q.elf.fp fp/r.elf.fp > b.json
is "$(strip b.json)" "$(strip a.json)" "every analysis from fingerprints equals the one from dumps"
is "$("$DA" -q --csv --diff fp/d1.elf.fp d2.elf | tail -n 1 | cut -d, -f3-)" "4096,$(m diff d1 d2 | tr -d '() ')" "diff of a fingerprint and a dump"
sz=$(wc -c < fp/p.elf.fp)
ok $([ "$sz" -lt 2000 ] && echo 0 || echo 1) "fingerprint of a $(m pages p | tr -d '[]')-page dump: $sz bytes"

# damaged fingerprints are refused with file and offset
cp fp/p.elf.fp bad1.fp; printf 'X' | dd of=bad1.fp bs=1 seek=100 conv=notrunc 2> /dev/null
head -c 90 fp/p.elf.fp > bad2.fp
head -c "$((sz - 3))" fp/p.elf.fp > bad3.fp
cp fp/p.elf.fp bad4.fp; printf '\002' | dd of=bad4.fp bs=1 seek=8 conv=notrunc 2> /dev/null
for b in bad1 bad2 bad3 bad4; do
	"$DA" -q "$b.fp" > /dev/null 2> err.txt
	is "$?" 1 "$b.fp: exit 1"
	like "$(cat err.txt)" "^dedup-analyze: $b.fp: .*\(at offset [0-9]+\)" "$b.fp: says where"
done
"$DA" -q --huge fp/p.elf.fp > /dev/null 2>&1; is "$?" 0 "--huge works from a fingerprint"
"$DA" -q --hash=xxh128 fp/p.elf.fp > /dev/null 2> err.txt
like "$(cat err.txt)" "made with --hash=sha1" "a fingerprint is analyzed with its own hash"
done_testing
