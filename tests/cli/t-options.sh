#!/bin/sh
# dedup-analyze's command line: contradictory options and bad sizes are
# refused before anything is read (exit 2, with the reason), messages name
# the program and the wrong part, labels read well, JSON stays valid for any
# file name, and --save-fp writes every dump and lists what it could not.
. "$(dirname "$0")/../lib.sh"
DA=$BIN/dedup-analyze
MK=$TB/formats
[ -x "$DA" ] || bail "$DA not built"
[ -x "$MK/mkelf" ] || bail "$MK/mkelf not built"
need python3
cd "$TMPD" || exit 1
"$MK/mkelf" "$TOP/tests/analyses/p.spec" p.elf || exit 1
"$MK/mkelf" "$TOP/tests/analyses/q.spec" q.elf || exit 1

# run ARGS...: exit status in $rc, stdout in out, stderr in err
run() { timeout 120 "$DA" "$@" > out 2> err; rc=$?; }
# usage_err DESC REGEX ARGS...: exit 2, nothing on stdout, the message
usage_err() {
	_d=$1 _re=$2; shift 2
	run "$@"
	is "$rc" 2 "$_d: exit 2"
	like "$(head -1 err)" "$_re" "$_d: the reason"
	is "$(wc -c < out | tr -d ' ')" 0 "$_d: no report"
}

# ---- --huge ----
# a dump that cannot be read makes the run slow to fail if sizes were only
# checked after hashing; with a FIFO nobody writes to, reading would hang
mkfifo never
usage_err "--huge=4K" "^dedup-analyze: --huge: 4 KiB holds fewer than two 4 KiB pages; give a power of two from 8 KiB up to 16G$" \
	-q --huge=4K p.elf
usage_err "--huge=1K" "fewer than two 4 KiB pages" -q --huge=1K p.elf
usage_err "--huge=3M" "^dedup-analyze: invalid huge page size '3M' \(a power of two of at least two pages, up to 16G" -q --huge=3M p.elf
usage_err "--huge=32G" "invalid huge page size '32G'" -q --huge=32G p.elf
usage_err "--huge=4K on a file never written: refused before reading" "fewer than two" -q --huge=4K --format=raw never
usage_err "--huge=64K with --page-size=65536" "64 KiB holds fewer than two 64 KiB pages; give a power of two from 128 KiB" \
	-q --huge=64K --page-size=65536 p.elf
run -q --huge=8K p.elf
is "$rc" 0 "--huge=8K on 4 KiB pages is accepted"
run -q --huge=1G p.elf
is "$(grep -A1 'pages what-if' out)" "$(printf '%s\n' '1 GiB pages what-if (1 region; shared only once split):' \
	'  4 KiB sharing saves                 1.2 MiB (298 pages)')" "1 GiB pages, one region: labels in readable units, singular"
like "$(grep 'split for 100%' out)" "^  split for 100% of the saving: +1 region \(100.0%\)$" "one region to split: singular"
run -q --huge --page-size=8192 p.elf
is "$(grep -A1 'pages what-if' out)" "$(printf '%s\n' '2 MiB pages what-if (1 region; shared only once split):' \
	'  8 KiB sharing saves                 1.2 MiB (148 pages)')" "--page-size=8192: the saving is named after 8 KiB pages"
run -q --huge=16K q.elf
like "$(head -n 20 out | grep 'pages what-if')" "^16 KiB pages what-if \([0-9]+ regions;" "16 KiB pages, several regions: plural"

# ---- --hosts and unknown options ----
usage_err "--hosts=2:abc" "^dedup-analyze: invalid --hosts '2:abc': SIZE after the colon must be a memory size" -q --hosts=2:abc p.elf q.elf
usage_err "--hosts=x:1G" "^dedup-analyze: invalid --hosts 'x:1G': K, the number of hosts, must be 1..100000" -q --hosts=x:1G p.elf q.elf
usage_err "unknown option" "^dedup-analyze: unrecognized option '--bogus'$" --bogus p.elf
like "$(sed -n 2p err)" "^Try 'dedup-analyze --help' for more information.$" "unknown option: the --help hint"
usage_err "missing argument" "^dedup-analyze: option '--hosts' requires an argument$" p.elf --hosts
usage_err "unknown short option" "^dedup-analyze: invalid option -- 'Z'$" -Z p.elf
usage_err "argument to a flag" "^dedup-analyze: option '--json' doesn't allow an argument$" --json=1 p.elf

# ---- contradictory options ----
usage_err "--json --csv" "^dedup-analyze: --json and --csv ask for two output formats; give one$" --json --csv p.elf
usage_err "--ksm --diff" "^dedup-analyze: --diff prints its own report, without the table or other analyses; --ksm cannot go with it$" \
	--ksm --diff p.elf q.elf
usage_err "--diff --tps" "--tps cannot go with it" --diff --tps p.elf q.elf
usage_err "--diff --all" "--all cannot go with it" --diff --all p.elf q.elf
usage_err "--pairs --diff" "--pairs cannot go with it" --pairs --diff p.elf q.elf
usage_err "--info --ksm" "^dedup-analyze: --info describes dumps without hashing them; --ksm needs their pages hashed$" --info --ksm p.elf
usage_err "--info --tps" "--tps needs their pages hashed" --info --tps p.elf
usage_err "--info --pairs" "--pairs needs their pages hashed" --info --pairs p.elf
usage_err "--info --max-page-sharing" "--max-page-sharing needs their pages hashed" --info --max-page-sharing=4 p.elf
usage_err "--info --csv" "^dedup-analyze: --info has no CSV output" --info --csv p.elf
usage_err "--info --save-fp" "--save-fp would have nothing to write" --info --save-fp=fp p.elf
is "$(test -e fp && echo made)" "" "--info --save-fp: no folder made"
usage_err "--info --stats" "--stats reports on hashing" --info --stats p.elf
run --info --json p.elf
is "$rc" 0 "--info --json is fine"
run -q --diff --json p.elf q.elf
is "$rc" 0 "--diff --json is fine"

# ---- --use-zero-pages: the caveat ----
run -q --use-zero-pages p.elf
is "$(grep -A2 '^  note: ' out)" "$(printf '%s\n' '  note: every zero page of the dumps counts as saved here; guest RAM never touched' \
	'  is zero in a dump but was never allocated on the host, so KSM neither sees nor' \
	'  saves it (compare the non-zero pages with what KSM reports)')" \
	"--use-zero-pages: the text says that zero pages count as saved, and why that flatters"
run -q --ksm p.elf
is "$(grep -c 'note: every zero page' out)" 0 "without --use-zero-pages: no such note"

# ---- --stats ----
"$DA" -q --stats p.elf > /dev/null 2> err
like "$(cat err)" "^dedup-analyze: stats: 1 dump, " "--stats: 1 dump"
"$DA" -q --stats p.elf q.elf > /dev/null 2> err
like "$(cat err)" "^dedup-analyze: stats: 2 dumps, " "--stats: 2 dumps"

# ---- paths that are not UTF-8 ----
bad=$(printf 'vm\351\377.elf')
cp p.elf "$bad"
strict() { python3 -c 'import json, sys; print(json.dumps(json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict")), sort_keys=True))' "$1"; }
"$DA" -q --json --pairs "$bad" q.elf > u.json
is "$?" 0 "a dump whose name is not UTF-8 is analyzed"
j=$(strict u.json)
ok $? "the JSON is strict UTF-8 and parses"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1], encoding="utf-8")); x=d["dumps"][0]; print(x["path"].encode("utf-8").hex(), x["path_hex"], d["pairs"][0]["a_hex"], "path_hex" in d["dumps"][1])' u.json)" \
	"766defbfbdefbfbd2e656c66 766de9ff2e656c66 766de9ff2e656c66 False" \
	"each invalid byte is U+FFFD in path, all bytes in path_hex; a UTF-8 name has no path_hex"
"$DA" --info --json "$bad" > i.json
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1],"rb").read().decode("utf-8")); assert bytes.fromhex(d[0]["path_hex"]) == sys.argv[2].encode("utf-8", "surrogateescape")' i.json "$bad"
ok $? "--info --json: strict JSON, path_hex gives the name back"
"$DA" -q --diff --json "$bad" q.elf > d.json
is "$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1],"rb").read().decode("utf-8")); print(d["before_hex"], "after_hex" in d)' d.json)" \
	"766de9ff2e656c66 False" "--diff --json: before_hex"
utf=$(printf 'caf\303\251.elf')
cp p.elf "$utf"
"$DA" -q --json "$utf" > v.json
is "$(python3 -c 'import json,sys; x=json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))["dumps"][0]; print(x["path"], "path_hex" in x)' v.json)" \
	"$utf False" "a UTF-8 name is written as it is"
truncate -s 100 "$(printf 'cut\377.elf')"
"$DA" -q --json "$(printf 'cut\377.elf')" p.elf > f.json 2> /dev/null
ok "$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1],"rb").read().decode("utf-8")); f=d["failed"][0]; print(0 if f["path_hex"]=="637574ff2e656c66" and f["error"].startswith("cut\ufffd.elf: ") else 1)' f.json)" \
	"a failed dump: path, path_hex and an error message that is valid JSON too"

# ---- --save-fp on dumps without a non-zero page ----
head -c 65536 /dev/zero > zero.raw
printf 'ram 0 4 zero\n' > zero.spec
"$MK/mkelf" zero.spec zero.elf || exit 1
printf 'absent 0 8\n' > none.spec
"$MK/mkelf" none.spec none.elf || exit 1
run -q --json --save-fp=fp zero.raw zero.elf none.elf p.elf
is "$rc" 0 "--save-fp: all-zero raw, all-zero ELF, ELF with no page present: exit 0"
is "$(cat err)" "" "and nothing on stderr"
is "$(ls fp | tr '\n' ' ')" "none.elf.fp p.elf.fp zero.elf.fp zero.raw.fp " "a fingerprint of each"
run -q --json fp/zero.raw.fp fp/zero.elf.fp fp/none.elf.fp
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([(x["pages"], x["zero_pages"], x["absent_pages"], x["distinct_pages"]) for x in d["dumps"]])' out)" \
	"[(16, 16, 0, 0), (4, 4, 0, 0), (0, 0, 8, 0)]" "the fingerprints read back with the same counts"
run -q --huge --json fp/zero.raw.fp
is "$rc" 0 "their page map is there (--huge reads it)"
mkdir -p fp2/p.elf.fp
run -q --json --save-fp=fp2 p.elf zero.raw
is "$rc" 1 "a fingerprint that cannot be written: exit 1"
is "$(cat err)" "dedup-analyze: fp2/p.elf.fp: cannot create: Is a directory" "the message names the file"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([(f["path"], f["error"]) for f in d["failed"]], len(d["dumps"]))' out)" \
	"[('fp2/p.elf.fp', 'fp2/p.elf.fp: cannot create: Is a directory')] 2" "and JSON lists it in failed, the dumps still analyzed"
: > plainfile
run -q --save-fp=plainfile p.elf
is "$rc" 1 "--save-fp naming a file: exit 1"
is "$(cat err)" "dedup-analyze: plainfile: --save-fp needs a folder, and this is not one" "and says so before hashing"

done_testing
