#!/bin/sh
# make deb builds a package that lintian passes without errors, dpkg -i
# installs, whose programs run from PATH and whose man pages man finds, and
# that dpkg -r and dpkg -P remove completely.  The host is left as found:
# the package is purged again on exit (also on Ctrl-C or a failure), and the
# test does not run when samepage is already installed here.
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" -eq 0 ] || skip_all "installing a package needs root"
for c in dpkg-deb dpkg-shlibdeps lintian pandoc man; do
	command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed (scripts/deps)"
done
status() { dpkg-query -W -f='${db:Status-Status}' samepage 2>/dev/null || true; }
case "$(status)" in
""|not-installed) ;;
*) skip_all "a samepage package is already on this host ($(status)); not touching it" ;;
esac
MKELF=$TB/formats/mkelf
[ -x "$MKELF" ] || bail "$MKELF missing (make tests-build)"
V=$(cat "$TOP/VERSION")

# dpkg refuses to run while another dpkg or apt holds its lock: wait for it.
dpkg_do() {
	i=0
	while ! dpkg "$@" > "$TMPD/dpkg.log" 2>&1; do
		grep -qi 'lock' "$TMPD/dpkg.log" && [ $i -lt 90 ] || { cat "$TMPD/dpkg.log"; return 1; }
		i=$((i + 1)); sleep 2
	done
}
purge() {
	case "$(status)" in ""|not-installed) ;; *) dpkg_do -P samepage || true ;; esac
}
at_exit purge   # lib.sh runs it on exit, Ctrl-C and TERM too

make -C "$TOP" --no-print-directory deb > "$TMPD/deb.log" 2>&1
rc=$?
is "$rc" 0 "make deb (lintian without errors)"
[ $rc -eq 0 ] || { tail -20 "$TMPD/deb.log" | sed 's/^/# /'; done_testing; exit 1; }
sed -n '/^lintian/,$p' "$TMPD/deb.log" | grep -E '^[EWI]:' | sed 's/^/# lintian: /'
deb=$(sed -n 's/^mkdeb: //p' "$TMPD/deb.log")
case "$deb" in /*) ;; *) deb=$TOP/$deb ;; esac
is "$(dpkg-deb -f "$deb" Package Version)" "Package: samepage
Version: $V" "package samepage, version from VERSION"
dep=$(dpkg-deb -f "$deb" Depends)
miss=""
for d in libc6 libssl3 zlib1g libzstd1 libvirt0 python3 gnuplot-nox; do
	case ", $dep" in *", $d"*) ;; *) miss="$miss $d" ;; esac
done
is "$miss" "" "Depends names the runtime libraries and tools"
like "$(dpkg-deb -f "$deb" Recommends)" "qemu-system-x86" "Recommends QEMU"

dpkg_do -i "$deb"
is "$?" 0 "dpkg -i"
is "$(status)" installed "package installed"
"$MKELF" "$TOP/tests/formats/elf/a.spec" "$TMPD/a.elf" && "$MKELF" "$TOP/tests/formats/elf/b.spec" "$TMPD/b.elf" ||
	bail "mkelf failed"
cd "$TMPD" || exit 1
P="env -i HOME=$TMPD PATH=/usr/bin:/bin"
for p in dedup-analyze ksm-sample memload esxtop-import mkguest plot-cpu plot-sharing plot-vms \
	plot-bars plot-settle plot-used plot-bench samepage-experiment samepage-report; do
	is "$($P sh -c "command -v $p; $p --version" 2>&1 | tr '\n' '|')" "/usr/bin/$p|$p (samepage) $V|" "$p from the package"
done
is "$($P dedup-analyze -q --csv a.elf b.elf | tail -n 1)" "TOTAL,,10,0,3,7,4,2,1,16384" "packaged dedup-analyze: the fixtures' known totals"
is "$($P /usr/libexec/samepage/guestctl --help > /dev/null 2>&1; echo $?)" 0 "packaged guestctl runs"
is "$($P samepage-experiment --check /usr/share/samepage/experiments/quick.scenario 2>&1; echo $?)" \
	"samepage-experiment: /usr/share/samepage/experiments/quick.scenario: valid (3 runs, 3 guests each)
0" "packaged samepage-experiment validates the packaged quick.scenario"
is "$(man -w dedup-analyze)" /usr/share/man/man1/dedup-analyze.1.gz "man finds the page"
MANWIDTH=80 man --warnings plot-vms > "$TMPD/page" 2> "$TMPD/warn"
is "$?$(cat "$TMPD/warn")" 0 "man plot-vms (a .so page) renders without warnings"
like "$(head -5 "$TMPD/page")" "plot-sharing, plot-cpu, plot-vms" "and shows the chart scripts' page"

dpkg -L samepage | while read -r f; do [ -f "$f" ] && echo "$f"; done > "$TMPD/files"
n=$(sed -n '/<!-- installed files: begin -->/,/<!-- installed files: end -->/p' "$TOP/docs/install.md" | grep -c '^/')
is "$(wc -l < "$TMPD/files")" $((n + 2)) "$((n + 2)) files: make install's $n (docs/install.md), copyright and changelog"
dpkg_do -r samepage
is "$?" 0 "dpkg -r"
is "$(while read -r f; do [ -e "$f" ] && echo "$f"; done < "$TMPD/files")" "" "dpkg -r removed every file"
is "$(ls -d /usr/libexec/samepage /usr/share/samepage /usr/share/doc/samepage 2>/dev/null)" "" "and its folders"
dpkg_do -P samepage
is "$?" 0 "dpkg -P"
is "$(status | sed 's/^not-installed$//')" "" "package gone from dpkg's database"
done_testing
