# paths.sh — where samepage's programs, helper scripts and data are, in the
# source tree and in an installed copy alike (sourced, not run).
#
# Every script finds it with this one line, which `make install` rewrites
# (the folder before /paths.sh becomes the installed one, relative to where
# the script is installed, so an installed tree can be moved as a whole):
#
#   SP_LIB=$(dirname "$(readlink -f "$0")")/lib; . "$SP_LIB/paths.sh"
#
# A Python script that needs data has the line (rewritten the same way):
#   SP_DATA = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..")
#
# It sets:
#   SP_LAYOUT  "source" or "installed"
#   SP_DATA    the top of the source tree, or the installed data folder
#              ($(datadir)/samepage); data files keep their path below it
#              (e.g. $SP_DATA/scripts/plot-common.sh)
#   SP_BIN     compiled programs: $BINDIR of the build (default bin), or
#              $(bindir)
#   SP_EXEC    helper scripts: scripts/, or $(libexecdir)/samepage
#   SP_VERSION the version of samepage (the file VERSION)
#   SP_WORK    a writable working folder for guests, runs and demo output:
#              $SAMEPAGE_WORK, else build/ in the source tree, else
#              ${XDG_CACHE_HOME:-~/.cache}/samepage when installed
# and sp_prog NAME, which prints the path of program or script NAME (looked
# for in SP_BIN, then SP_EXEC) or fails with a message.

# Set by make install (relative to this file's folder); empty in the source tree.
sp_bindir=
sp_libexecdir=

SP_DATA=$(cd "$SP_LIB/../.." && pwd) || exit 1
if [ -z "$sp_bindir" ]; then
	SP_LAYOUT=source
	case "${BINDIR:-bin}" in
	/*) SP_BIN=$BINDIR ;;
	*) SP_BIN=$SP_DATA/${BINDIR:-bin} ;;
	esac
	SP_EXEC=$SP_DATA/scripts
	SP_WORK=${SAMEPAGE_WORK:-$SP_DATA/build}
else
	SP_LAYOUT=installed
	SP_BIN=$(cd "$SP_LIB/$sp_bindir" && pwd) || exit 1
	SP_EXEC=$(cd "$SP_LIB/$sp_libexecdir" && pwd) || exit 1
	SP_WORK=${SAMEPAGE_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/samepage}
fi

SP_VERSION=$(cat "$SP_DATA/VERSION") || exit 1

sp_prog() { # sp_prog NAME: the path of program or helper script NAME
	for sp_d in "$SP_BIN" "$SP_EXEC"; do
		if [ -x "$sp_d/$1" ]; then echo "$sp_d/$1"; return 0; fi
	done
	echo "${0##*/}: $1 not found in $SP_BIN or $SP_EXEC" >&2
	return 1
}
