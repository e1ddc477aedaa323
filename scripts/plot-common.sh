# plot-common.sh — shared by scripts/plot-sharing, plot-cpu and plot-vms
# (sourced, not run).  A script sets PLOT_NAME and PLOT_HELP, calls
# plot_args "$@", adds series with plot_add, and calls plot_render.
#
# Series data go to plain "x y" files (x in the chosen time unit, y in the
# chosen unit) that gnuplot plots; --keep=DIR keeps them, with plot.gp and a
# manifest (series.tsv: file, panel, title, column, unit), for inspection.
#
# Units: time in seconds up to a 300 s span, minutes up to 5 h, hours beyond;
# memory in MiB below 2 GiB, GiB from there.

set -eu

plot_die() { echo "$PLOT_NAME: $*" >&2; exit 1; }
plot_usage() { echo "$PLOT_NAME: $*" >&2; echo "Try '$PLOT_NAME --help' for more information." >&2; exit 2; }

plot_args() {
	PLOT_OUT="" PLOT_TITLE="" PLOT_LABELS="" PLOT_SIZE=800,500 PLOT_KEEP="" PLOT_FILES=""
	PLOT_N=0
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help) printf '%s\n' "$PLOT_HELP"; exit 0 ;;
		--version) echo "$PLOT_NAME (samepage) $SP_VERSION"; exit 0 ;;
		-o) [ $# -ge 2 ] || plot_usage "-o needs a file"; PLOT_OUT=$2; shift ;;
		--output=*) PLOT_OUT=${1#*=} ;;
		--title=*) PLOT_TITLE=${1#*=} ;;
		--labels=*) PLOT_LABELS=${1#*=} ;;
		--size=*) PLOT_SIZE=$(echo "${1#*=}" | tr x ,) ;;
		--keep=*) PLOT_KEEP=${1#*=} ;;
		-*) plot_usage "unknown option '$1'" ;;
		*) [ -r "$1" ] || plot_die "$1: cannot read"
		   PLOT_N=$((PLOT_N + 1))
		   eval "PLOT_FILE_$PLOT_N=\$1" ;;
		esac
		shift
	done
	[ "$PLOT_N" -gt 0 ] || plot_usage "no CSV file given"
	[ -n "$PLOT_OUT" ] || plot_usage "no output file given (-o FILE.png or FILE.svg)"
	case "$PLOT_OUT" in
	*.png) PLOT_TERM="pngcairo size $PLOT_SIZE font 'DejaVu Sans,10' noenhanced" ;;
	*.svg) PLOT_TERM="svg size $PLOT_SIZE dynamic font 'DejaVu Sans,10' noenhanced background '#ffffff'" ;;
	*) plot_usage "output must end in .png or .svg: $PLOT_OUT" ;;
	esac
	case "$PLOT_SIZE" in *[!0-9,]*|,*|*,) plot_usage "bad --size '$PLOT_SIZE' (WIDTHxHEIGHT)" ;; esac
	command -v gnuplot >/dev/null 2>&1 || plot_die "gnuplot not installed (Debian package gnuplot-nox)"
	if [ -n "$PLOT_KEEP" ]; then
		mkdir -p "$PLOT_KEEP"
		PLOT_DIR=$PLOT_KEEP
		rm -f "$PLOT_DIR"/*.dat "$PLOT_DIR"/*.plot "$PLOT_DIR/series.tsv" "$PLOT_DIR/plot.gp" "$PLOT_DIR/extra.gp"
	else
		PLOT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/plot.XXXXXX")
		trap 'rm -rf "$PLOT_DIR"' EXIT
	fi
	: > "$PLOT_DIR/series.tsv"
	PLOT_SERIES=0
	plot_time_unit
}

plot_file() { eval "echo \"\$PLOT_FILE_$1\""; }

plot_label() { # INDEX: --labels entry, else the file name without .csv
	l=$(printf '%s\n' "$PLOT_LABELS" | awk -F, -v i="$1" '{ print $i }')
	if [ -z "$l" ]; then
		l=$(basename "$(plot_file "$1")")
		l=${l%.csv}
	fi
	printf '%s' "$l"
}

# The awk CSV reader: quoted cells (RFC 4180) when a line has quotes.
PLOT_AWK_CSV='
function csv(line, f,    n, i, c, q, cur, len) {
	sub(/\r$/, "", line)
	if (index(line, "\"") == 0)
		return split(line, f, ",")
	n = 0; cur = ""; q = 0; len = length(line)
	for (i = 1; i <= len; i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"") {
				if (substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ } else q = 0
			} else cur = cur c
		} else if (c == "\"") q = 1
		else if (c == ",") { f[++n] = cur; cur = "" }
		else cur = cur c
	}
	f[++n] = cur
	return n
}'

# csv_max FILE COLUMN...: largest value of these columns in FILE (0 if none)
csv_max() {
	f=$1; shift
	awk -v cols="$*" "$PLOT_AWK_CSV"'
	NR == 1 { n = csv($0, h); m = split(cols, want, " ")
		for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (h[i] == want[j]) use[i] = 1; next }
	{ n = csv($0, f); for (i in use) if (f[i] != "" && f[i] + 0 > max) max = f[i] + 0 }
	END { printf "%.0f\n", max + 0 }' "$f"
}

# csv_values FILE COLUMN: distinct values of COLUMN in order of appearance
csv_values() {
	awk -v col="$2" "$PLOT_AWK_CSV"'
	NR == 1 { n = csv($0, h); for (i = 1; i <= n; i++) if (h[i] == col) k = i; next }
	k { csv($0, f); if (!(f[k] in seen)) { seen[f[k]] = 1; print f[k] } }' "$1"
}

plot_time_unit() {
	span=0
	i=1
	while [ $i -le "$PLOT_N" ]; do
		s=$(csv_max "$(plot_file $i)" elapsed_s)
		if [ "$s" -gt "$span" ]; then span=$s; fi
		i=$((i + 1))
	done
	if [ "$span" -le 300 ]; then PLOT_XDIV=1 PLOT_XLABEL="time (s)"
	elif [ "$span" -le 18000 ]; then PLOT_XDIV=60 PLOT_XLABEL="time (min)"
	else PLOT_XDIV=3600 PLOT_XLABEL="time (h)"; fi
}

# plot_mem_unit BYTES: sets PLOT_MDIV and PLOT_MUNIT for a maximum of BYTES
plot_mem_unit() {
	if [ "$1" -ge 2147483648 ]; then PLOT_MDIV=1073741824 PLOT_MUNIT=GiB
	else PLOT_MDIV=1048576 PLOT_MUNIT=MiB; fi
}

# plot_add PANEL FILE COLUMN DIVISOR TITLE STYLE [MULTIPLIER [FILTER-COLUMN FILTER-VALUE]]
# COLUMN "100-name" plots 100 minus the value, "a-b" column a minus column b
# (a row lacking b plots nothing).  STYLE is gnuplot line style text.
plot_add() {
	panel=$1 file=$2 col=$3 div=$4 title=$5 style=$6 mul=${7:-1} fcol=${8:-} fval=${9:-}
	PLOT_SERIES=$((PLOT_SERIES + 1))
	dat=$PLOT_DIR/p$panel-s$PLOT_SERIES.dat
	awk -v col="$col" -v xdiv="$PLOT_XDIV" -v ydiv="$div" -v mul="$mul" -v fcol="$fcol" \
	    -v fval="$fval" "$PLOT_AWK_CSV"'
	BEGIN { inv = 0; c = col; sub_c = ""
		if (substr(c, 1, 4) == "100-") { inv = 1; c = substr(c, 5) }
		else if (index(c, "-")) { sub_c = substr(c, index(c, "-") + 1); c = substr(c, 1, index(c, "-") - 1) } }
	NR == 1 { n = csv($0, h)
		for (i = 1; i <= n; i++) { if (h[i] == "elapsed_s") x = i; if (h[i] == c) y = i; if (h[i] == fcol) fk = i
			if (sub_c != "" && h[i] == sub_c) z = i }
		if (!x || !y || (fcol != "" && !fk) || (sub_c != "" && !z)) exit; next }
	{ csv($0, f)
	  if (fcol != "" && f[fk] != fval) next
	  if (f[y] == "" || f[x] == "" || (z && f[z] == "")) next
	  v = f[y] * mul; if (inv) v = 100 - v; if (z) v -= f[z] * mul
	  printf "%.6g %.6g\n", f[x] / xdiv, v / ydiv }' "$file" > "$dat"
	printf '%s\t%s\t%s\t%s\t%s\n' "${dat##*/}" "$panel" "$title" "$col" "$div" >> "$PLOT_DIR/series.tsv"
	if [ -s "$dat" ]; then
		printf "'%s' using 1:2 with lines %s title '%s'\n" "$(plot_q "$dat")" "$style" \
			"$(plot_q "$title")" >> "$PLOT_DIR/panel$panel.plot"
	fi
}

plot_q() { printf '%s' "$1" | sed "s/'/''/g"; } # quote for gnuplot '...'

# plot_panel N TITLE YLABEL [YFORMAT]: describe panel N (1 = top)
plot_panel() {
	eval "PLOT_T$1=\$2 PLOT_Y$1=\$3 PLOT_F$1=\${4:-}"
}

# Line styles: colour per source (CSV or VM), dash per quantity.
plot_color() {
	set -- "$1" '#1f77b4' '#d62728' '#2ca02c' '#9467bd' '#ff7f0e' '#8c564b' '#e377c2' '#7f7f7f' '#bcbd22' '#17becf'
	n=$(( ($1 - 1) % 10 + 2 ))
	eval "echo \"\${$n}\""
}

# plot_extra TEXT: one more gnuplot command, given before the first plot
# (e.g. an arrow marking a time)
plot_extra() { printf '%s\n' "$1" >> "$PLOT_DIR/extra.gp"; }

plot_render() { # PANELS
	gp=$PLOT_DIR/plot.gp
	{
		echo "set terminal $PLOT_TERM"
		echo "set output '$(plot_q "$PLOT_OUT")'"
		echo "set datafile commentschars '#'"
		echo "set grid lc rgb '#dddddd'"
		echo "set key outside right top vertical Left reverse samplen 2 spacing 1.1"
		echo "set xlabel '$PLOT_XLABEL'"
		echo "set xrange [0:*]"
		echo "set lmargin at screen 0.10"
		echo "set rmargin at screen 0.74"
		if [ -f "$PLOT_DIR/extra.gp" ]; then cat "$PLOT_DIR/extra.gp"; fi
		if [ "$1" -gt 1 ]; then
			echo "set multiplot layout $1,1 title '$(plot_q "$PLOT_TITLE")' font ',12'"
		else
			echo "set title '$(plot_q "$PLOT_TITLE")' font ',12'"
		fi
		p=1
		while [ $p -le "$1" ]; do
			eval "t=\${PLOT_T$p:-} y=\${PLOT_Y$p:-} fmt=\${PLOT_F$p:-}"
			body=""
			if [ -s "$PLOT_DIR/panel$p.plot" ]; then
				body=$(sed '$!s/$/, \\/' "$PLOT_DIR/panel$p.plot")
			fi
			if [ "$1" -gt 1 ]; then echo "set title '$(plot_q "$t")'"; fi
			echo "set ylabel '$(plot_q "$y")'"
			if [ -n "$fmt" ]; then echo "set format y '$fmt'"; else echo "set format y '% h'"; fi
			if [ -n "$body" ]; then
				echo "unset label 1"
				echo "set yrange [0:*]"
				echo "plot $body"
			else
				echo "set label 1 'no data' at graph 0.5, graph 0.5 center"
				echo "set yrange [0:1]"
				echo "plot NaN notitle"
			fi
			p=$((p + 1))
		done
		if [ "$1" -gt 1 ]; then echo "unset multiplot"; fi
	} > "$gp"
	gnuplot "$gp" || plot_die "gnuplot failed (script: $gp)"
	[ -s "$PLOT_OUT" ] || plot_die "gnuplot wrote nothing to $PLOT_OUT"
}
