#!/bin/sh
# make install into a staging root installs exactly the files docs/install.md
# lists; nothing installed names the checkout; every program runs from a
# moved copy of the install with PATH pointing only at it and the checkout
# hidden (a private mount over it, when the machine allows one); the man
# pages render without warnings; make uninstall leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
command -v pandoc >/dev/null 2>&1 || skip_all "pandoc not installed (scripts/deps)"
command -v man >/dev/null 2>&1 || skip_all "man not installed (Debian package man-db)"
MKELF=$TB/formats/mkelf
[ -x "$MKELF" ] || bail "$MKELF missing (make tests-build)"
V=$(cat "$TOP/VERSION")
D=$TMPD/dest
mk() { make -C "$TOP" --no-print-directory "$@" > "$TMPD/make.log" 2>&1 || { tail -5 "$TMPD/make.log"; return 1; }; }

# -- install: the documented list, nothing more, nothing less
mk install DESTDIR="$D" PREFIX=/usr
is "$?" 0 "make install DESTDIR=... PREFIX=/usr"
# dedup-analyze-mpi is built (and installed) only where Open MPI is
MPI=1
[ -x "$BIN/dedup-analyze-mpi" ] || MPI=0
sed -n '/<!-- installed files: begin -->/,/<!-- installed files: end -->/p' "$TOP/docs/install.md" |
	grep '^/' | { if [ $MPI = 1 ]; then cat; else grep -v 'dedup-analyze-mpi'; fi; } | sort > "$TMPD/want"
(cd "$D" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) > "$TMPD/got"
[ -s "$TMPD/want" ] || bail "docs/install.md lists no installed files"
is "$(diff "$TMPD/want" "$TMPD/got" | grep '^[<>]' | tr '\n' ' ')" "" "installed files are exactly docs/install.md's list ($(wc -l < "$TMPD/want") files)"
is "$(grep -rl -- "$TOP" "$D" | tr '\n' ' ')" "" "no installed file names the checkout ($TOP)"
is "$(find "$D" -type f -perm -u+x | wc -l)" $((19 + MPI)) "$((19 + MPI)) executables ($((14 + MPI)) on PATH, 5 helpers)"

# -- a moved copy, with what the programs read copied out of the checkout
# every command on PATH (the runner and its report with their installed names)
PROGS="dedup-analyze ksm-sample memload esxtop-import mkguest plot-cpu plot-sharing plot-vms
	plot-bars plot-settle plot-used plot-bench samepage-experiment samepage-report"
[ $MPI = 1 ] && PROGS="$PROGS dedup-analyze-mpi"
M=$TMPD/moved/opt
mkdir -p "$TMPD/moved" && cp -a "$D/usr" "$M"
F=$TMPD/fix
mkdir -p "$F"
"$MKELF" "$TOP/tests/formats/elf/a.spec" "$F/a.elf" || bail "mkelf failed"
"$MKELF" "$TOP/tests/formats/elf/b.spec" "$F/b.elf" || bail "mkelf failed"
cp "$TOP/tests/collectors/data/esxtop-batch.csv" "$TOP/tests/collectors/data/esxtop-batch.host.expect" "$F/"
cat > "$TMPD/run.sh" <<'EOF'
# runs with PATH = the moved install's bin and the system's, from $F
cd "$F" || exit 1
for p in $PROGS; do
	printf '%s %s|%s\n' "$p" "$(command -v "$p")" "$("$p" --version 2>&1)"
done > versions
dedup-analyze -q --csv a.elf b.elf > da.csv 2> da.err; echo "$?" > da.rc
esxtop-import esxtop-batch.csv -o host.csv 2> imp.err; echo "$?" > imp.rc
if command -v gnuplot >/dev/null 2>&1; then
	plot-sharing host.csv -o s.png --keep=keep > plot.out 2>&1; echo "$?" > plot.rc
	plot-settle host.csv --settle=10 -o settle.svg > settle.out 2>&1; echo "settle $?" > plots
	plot-used host.csv -o used.svg > used.out 2>&1; echo "used $?" >> plots
	printf 'label,potential_bytes,achieved_bytes\nwr0,1048576,524288\n' > bars.csv
	plot-bars bars.csv -o bars.svg > bars.out 2>&1; echo "bars $?" >> plots
fi
samepage-experiment --check "$M/share/samepage/experiments/quick.scenario" > check.out 2>&1; echo "$?" >> check.out
samepage-report --help > report.help 2>&1; echo "$?" >> report.help
mkguest debian --help > mkdeb.help 2>&1; echo "$?" >> mkdeb.help
for h in guestctl libvirt-env qmp mkguest-debian; do "$M/libexec/samepage/$h" --help > /dev/null 2>&1; echo "$h $?"; done > helpers
SAMEPAGE_WORK= XDG_CACHE_HOME=$F/cache sh -c 'SP_LIB=$1; . "$SP_LIB/paths.sh"; echo "$SP_LAYOUT $SP_VERSION $(sp_prog memload-static) $(sp_prog guestctl) $SP_WORK"' \
	sh "$M/share/samepage/scripts/lib" > paths
if [ -e "$TOP/Makefile" ]; then echo visible; else echo hidden; fi > top
EOF
# Hide the checkout behind an empty read-only mount in a private mount
# namespace when this machine allows one; else the moved copy and PATH keep
# it out of the way (and nothing installed names it, checked above).
run() { env -i HOME="$TMPD" PATH="$M/bin:/usr/bin:/bin" F="$F" M="$M" TOP="$TOP" PROGS="$PROGS" sh "$TMPD/run.sh"; }
hide() { unshare -m --propagation private sh -c 'mount -t tmpfs -o ro none "$1" && shift && exec "$@"' sh "$TOP" "$@"; }
if hide true 2>/dev/null; then
	hide env -i HOME="$TMPD" PATH="$M/bin:/usr/bin:/bin" F="$F" M="$M" TOP="$TOP" PROGS="$PROGS" sh "$TMPD/run.sh"
	is "$(cat "$F/top")" hidden "the checkout was hidden while the installed copy ran"
else
	run
	echo "# no private mount namespace here: the checkout stayed visible"
fi
for p in $PROGS; do
	is "$(grep "^$p " "$F/versions")" "$p $M/bin/$p|$p (samepage) $V" "$p --version from the moved install"
done
is "$(cat "$F/da.rc")" 0 "installed dedup-analyze reads the fixtures"
# a: 1,1,2,0,0,3; b: 1,4,4,0 -> contents {1,2,3,4}, inter 1 (known by construction)
is "$(tail -n 1 "$F/da.csv")" "TOTAL,,10,0,3,7,4,2,1,16384" "installed dedup-analyze: the fixtures' known totals"
is "$(cat "$F/imp.rc")" 0 "installed esxtop-import runs"
is "$(cmp "$F/host.csv" "$F/esxtop-batch.host.expect" 2>&1)" "" "installed esxtop-import: the expected host CSV"
if [ -f "$F/plot.rc" ]; then
	is "$(cat "$F/plot.rc")" 0 "installed plot-sharing finds plot-common.sh and draws"
	is "$(tr '\n' ' ' < "$F/keep/p1-s1.dat")" "0 0 5 0.439453 10 0.878906 15 0.893555 " "installed plot-sharing: the known series"
	is "$(tr '\n' ' ' < "$F/plots")" "settle 0 used 0 bars 0 " "installed plot-settle, plot-used and plot-bars draw"
else
	echo "# gnuplot not installed: plot-sharing not run"
fi
is "$(tr '\n' ' ' < "$F/helpers")" "guestctl 0 libvirt-env 0 qmp 0 mkguest-debian 0 " "helpers run from the installed libexec folder"
is "$(tr '\n' '|' < "$F/check.out")" "samepage-experiment: $M/share/samepage/experiments/quick.scenario: valid (3 runs, 3 guests each)|0|" \
	"installed samepage-experiment finds explib and validates the installed quick.scenario"
like "$(head -1 "$F/report.help")|$(tail -1 "$F/report.help")" "^samepage-report — Table I.*[|]0\$" "installed samepage-report --help names itself"
like "$(head -1 "$F/mkdeb.help")|$(tail -1 "$F/mkdeb.help")" "^mkguest-debian — build the Debian 12 guest.*[|]0\$" \
	"installed mkguest debian runs the helper from libexec (sp_prog mkguest-debian)"
is "$(find "$M" -name __pycache__ | tr '\n' ' ')" "" "the Python scripts wrote no __pycache__ into the install"
is "$(cat "$F/paths")" "installed $V $M/libexec/samepage/memload-static $M/libexec/samepage/guestctl $F/cache/samepage" \
	"installed paths.sh: layout, version, helpers and work folder of the moved copy"

# -- man pages: each renders without a warning and has the usual sections
for f in $(cd "$D/usr/share/man" && ls man1/*.1); do
	(cd "$D/usr/share/man" && MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" > "$TMPD/page" 2> "$TMPD/warn")
	is "$?$(cat "$TMPD/warn")" 0 "man --warnings -l $f: no warning"
	miss=""
	for s in NAME SYNOPSIS OPTIONS "EXIT STATUS" EXAMPLES; do grep -q "^$s" "$TMPD/page" || miss="$miss $s"; done
	is "$miss" "" "$f has NAME, SYNOPSIS, OPTIONS, EXIT STATUS, EXAMPLES"
done
is "$(lexgrog "$D/usr/share/man/man1/dedup-analyze.1")" \
	"$D/usr/share/man/man1/dedup-analyze.1: \"dedup-analyze - the theoretical page-sharing potential of guest memory dumps\"" \
	"whatis reads the NAME line"

# -- uninstall: nothing of samepage is left
mk uninstall DESTDIR="$D" PREFIX=/usr
is "$?" 0 "make uninstall"
is "$(cd "$D" && find . \( -type f -o -type l \) | tr '\n' ' ')" "" "no file left"
is "$(cd "$D" && find . -name '*samepage*' | tr '\n' ' ')" "" "no samepage folder left"
done_testing
