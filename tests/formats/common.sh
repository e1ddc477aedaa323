# Helpers for the format fixture tests (sourced after tests/lib.sh).
# A fixture builder writes a dump, its expected analysis (--expect) and a
# map of the fields it wrote (--map, "NAME OFFSET SIZE" lines).
DA=$BIN/dedup-analyze
MK=$TB/formats
KD=$TB/tools/kdiff

# kdiff_ok DESCRIPTION [kdiff options] FILE [PARTS...]: libkdumpfile, an
# independent reader, reads the same bytes for every frame, and nothing where
# this reader finds no frame (tests/tools/kdiff).  libkdumpfile is in
# scripts/packages: without it, or when it cannot open the file, the check
# fails.
kdiff_ok() {
	_desc=$1; shift
	[ -x "$KD" ] || { ok 1 "$_desc"; echo "#   $KD not built: libkdumpfile-dev missing (scripts/deps)"; return; }
	_out=$("$KD" "$@" 2>&1)
	_rc=$?
	[ $_rc -eq 0 ] || echo "$_out" | sed 's/^/#   /'
	ok $_rc "$_desc ($(echo "$_out" | tail -n 1 | sed 's/^kdiff: [^:]*: //; s/;.*//'))"
}
need python3

# check_expect DUMP EXPECT DESCRIPTION [dedup-analyze options...]
# Compares every count and every range of the analysis with the builder's
# expectation, and checks that --info and the analysis agree.
check_expect() {
	_d=$1 _e=$2 _desc=$3
	shift 3
	"$DA" --json "$@" "$_d" > "$TMPD/a.json" 2> "$TMPD/a.err"
	_rc=$?
	"$DA" --info --json "$@" "$_d" > "$TMPD/i.json" 2>> "$TMPD/a.err"
	_rc2=$?
	_out=$(python3 - "$TMPD/a.json" "$TMPD/i.json" "$_e" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))["dumps"][0]
i = json.load(open(sys.argv[2]))[0]
want, ranges = {}, []
for line in open(sys.argv[3]):
    f = line.split()
    if f[0] == "range":
        ranges.append((int(f[1]), int(f[2]), f[3]))
    else:
        want[f[0]] = int(f[1])
got = {"pages": a["pages"], "absent": a["absent_pages"], "zero": a["zero_pages"],
       "nonzero": a["nonzero_pages"], "distinct": a["distinct_pages"], "intra": a["intra_pages"],
       "partial": i["partial_pages"]}
bad = [k for k in want if got[k] != want[k]]
if i["pages"] != a["pages"] or i["absent_pages"] != a["absent_pages"]:
    bad.append("info-vs-analysis")
gr = [(r["start"], r["pages"], r["state"]) for r in i["ranges"]]
# adjacent ranges of one state are one run
merged = []
for r in gr:
    if merged and merged[-1][2] == r[2] and merged[-1][0] + merged[-1][1] * 4096 == r[0]:
        merged[-1] = (merged[-1][0], merged[-1][1] + r[1], r[2])
    else:
        merged.append(r)
if merged != ranges:
    bad.append("ranges got %s want %s" % (merged, ranges))
print("ok" if not bad else "; ".join(str(b) if b in ("info-vs-analysis",) or b.startswith("ranges") else "%s got %s want %s" % (b, got[b], want[b]) for b in bad))
EOF
)
	if [ $_rc -ne 0 ] || [ $_rc2 -ne 0 ]; then
		_out="exit $_rc/$_rc2: $(head -3 "$TMPD/a.err")"
	fi
	is "$_out" ok "$_desc"
}

# info_line DUMP KEY [options]: the value of "KEY:" in the text --info output
info_line() {
	_d=$1 _k=$2
	shift 2
	"$DA" --info "$@" "$_d" 2>/dev/null | sed -n "s/^  $_k: *//p" | head -1
}

# field MAP NAME [part]: offset (part 2, default) or size (part 3) of a field
field() {
	awk -v n="$2" -v p="${3:-2}" '$1 == n { print $p; exit }' "$1"
}

# poke FILE OFFSET VALUE SIZE [be]: write VALUE as a SIZE-byte integer
# (in the shell when it fits its arithmetic, else with python3); POKED is
# then OFFSET, so that "@$POKED" asserts a message names the poked field
poke() {
	POKED=$(($2))
	case "$3" in
	0x????????????????*) _poke_py "$@"; return ;;
	esac
	if [ ${#3} -gt 18 ]; then _poke_py "$@"; return; fi
	_v=$(($3)) _n=$4 _i=0 _esc=""
	while [ $_i -lt "$_n" ]; do
		if [ "${5:-}" = be ]; then _sh=$((8 * (_n - 1 - _i))); else _sh=$((8 * _i)); fi
		_esc="$_esc\\$(printf '%03o' $(( (_v >> _sh) & 255 )))"
		_i=$((_i + 1))
	done
	printf "$_esc" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}
_poke_py() {
	python3 -c '
import sys
f, off, val, size = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3], 0), int(sys.argv[4])
order = "big" if len(sys.argv) > 5 and sys.argv[5] == "be" else "little"
b = (val % (1 << (8 * size))).to_bytes(size, order)
with open(f, "r+b") as h:
    h.seek(off); h.write(b)
' "$@"
}

# peek FILE OFFSET SIZE [be]: the SIZE-byte integer at OFFSET
peek() {
	od -An -tu1 -j "$2" -N "$3" "$1" | awk -v be="${4:-}" '
	{ for (i = 1; i <= NF; i++) b[n++] = $i }
	END { v = 0; for (i = 0; i < n; i++) v = v * 256 + (be == "be" ? b[i] : b[n - 1 - i]); printf "%d\n", v }'
}

# flat_pos FILE KOFF: where byte KOFF of the dump inside the flattened FILE
# lies in FILE; flat_end FILE N: the dump bytes the first N records hold
flat_pos() {
	_p=4096
	while :; do
		_o=$(peek "$1" $_p 8 be) _s=$(peek "$1" $((_p + 8)) 8 be)
		[ "$_o" -ge 0 ] || return 1
		if [ "$2" -ge "$_o" ] && [ "$2" -lt $((_o + _s)) ]; then echo $((_p + 16 + $2 - _o)); return; fi
		_p=$((_p + 16 + _s))
	done
}
flat_end() {
	_p=4096 _i=0 _e=0
	while [ $_i -lt "$2" ]; do
		_o=$(peek "$1" $_p 8 be) _s=$(peek "$1" $((_p + 8)) 8 be)
		[ $((_o + _s)) -gt $_e ] && _e=$((_o + _s))
		_p=$((_p + 16 + _s)) _i=$((_i + 1))
	done
	echo $_e
}

# pokestr FILE OFFSET STRING: write raw bytes (no NUL added)
pokestr() {
	printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# variant BASE NAME: a fresh copy of BASE to damage; prints its path
variant() {
	cp "$1" "$TMPD/dmg-$2"
	echo "$TMPD/dmg-$2"
}

NDAMAGED=0
# refusal FILE MSG WANT [@OFFSET]: prints what is wrong with the error
# message MSG, nothing when it is "dedup-analyze: FILE: what (at offset N)"
# with, when given, N = OFFSET and "what" equal to WANT when WANT is
# "=TEXT", else "what (at offset N)" matching the regex WANT.
refusal() {
	case "$2" in
	"dedup-analyze: $1: "*" (at offset "[0-9]*")") ;;
	*) echo "message not in the form 'dedup-analyze: FILE: what (at offset N)': $2"; return ;;
	esac
	_at=${2##* (at offset }
	_at=${_at%)}
	case "$3" in
	=*) _what=${2#"dedup-analyze: $1: "}
	    _what=${_what%" (at offset $_at)"}
	    [ "$_what" = "${3#=}" ] || { printf 'message is not\n#     %s\n#   but %s\n' "${3#=}" "$_what"; return; } ;;
	*) printf '%s' "$2" | grep -Eq -- "$3" || { echo "message does not match /$3/: $2"; return; } ;;
	esac
	case "${4:-}" in
	@*) [ "$_at" = "$(( ${4#@} ))" ] || echo "offset $_at, want $(( ${4#@} )): $2" ;;
	esac
}

# damaged FILE DESCRIPTION WANT [@OFFSET] [options...]: must fail with exit
# 1 and "dedup-analyze: FILE: what (at offset N)" as refusal() says (WANT
# "=TEXT": the whole "what"), within 30 s, for both --info and a full analysis.
damaged() {
	_f=$1 _desc=$2 _re=$3 _off=""
	shift 3
	case "${1:-}" in @*) _off=$1; shift ;; esac
	NDAMAGED=$((NDAMAGED + 1))
	_res=ok
	for _mode in --info --json; do
		timeout 30 "$DA" $_mode "$@" "$_f" > /dev/null 2> "$TMPD/d.err"
		_rc=$?
		_msg=$(grep -v 'warning:' "$TMPD/d.err" | head -1)
		if [ $_rc -ne 1 ]; then
			_res="$_mode: exit $_rc (want 1): $(head -c 300 "$TMPD/d.err")"
			break
		fi
		_why=$(refusal "$_f" "$_msg" "$_re" $_off)
		[ -z "$_why" ] || { _res="$_mode: $_why"; break; }
	done
	is "$_res" ok "damaged: $_desc"
}

# damaged_data FILE DESCRIPTION REGEX [@OFFSET] [options...]: damage found
# only when the page data is read (checksums, compressed data): --info may
# succeed, the analysis must fail like damaged() says.
damaged_data() {
	_f=$1 _desc=$2 _re=$3 _off=""
	shift 3
	case "${1:-}" in @*) _off=$1; shift ;; esac
	NDAMAGED=$((NDAMAGED + 1))
	timeout 30 "$DA" --json "$@" "$_f" > /dev/null 2> "$TMPD/d.err"
	_rc=$?
	_msg=$(grep -v 'warning:' "$TMPD/d.err" | head -1)
	if [ $_rc -ne 1 ]; then
		_res="exit $_rc (want 1): $(head -c 300 "$TMPD/d.err")"
	else
		_res=$(refusal "$_f" "$_msg" "$_re" $_off)
		_res=${_res:-ok}
	fi
	is "$_res" ok "damaged data: $_desc"
}

# truncated FILE SIZE DESCRIPTION REGEX [@OFFSET]: a copy of FILE cut to
# SIZE bytes
truncated() {
	_t=$(variant "$1" "trunc-$2")
	truncate -s "$2" "$_t"
	damaged "$_t" "$3 (cut at $2)" "$4" ${5:-}
}
