#!/bin/sh
# paths.sh — the one place where samepage's scripts find each other, the
# programs and their data.  Sourced by shell scripts (". "$(dirname "$0")/paths.sh"),
# run by others ("scripts/paths.sh NAME" prints one path).
#
#   SP_TOP      the source tree (or the installed prefix's share folder)
#   SP_SCRIPTS  the scripts (this folder)
#   SP_BIN      dedup-analyze, memload, memload-static, ksm-sample
#   SP_BUILD    where guest images and other generated files are cached
#   SP_EXPERIMENTS  the example scenario files
#
# Every one can be overridden from the environment (SAMEPAGE_BIN=..., ...),
# e.g. by an installed copy or by tests running a sanitizer build.
_sp_here=$(cd "$(dirname "${SP_SELF:-$0}")" && pwd)
SP_SCRIPTS=${SAMEPAGE_SCRIPTS:-$_sp_here}
SP_TOP=${SAMEPAGE_TOP:-$(cd "$SP_SCRIPTS/.." && pwd)}
case "${SAMEPAGE_BIN:-${BINDIR:-bin}}" in
/*) SP_BIN=${SAMEPAGE_BIN:-$BINDIR} ;;
*) SP_BIN=$SP_TOP/${SAMEPAGE_BIN:-${BINDIR:-bin}} ;;
esac
SP_BUILD=${SAMEPAGE_BUILD:-$SP_TOP/build}
SP_EXPERIMENTS=${SAMEPAGE_EXPERIMENTS:-$SP_TOP/experiments}

# scripts/paths.sh NAME: print one of them (for programs not written in sh)
case "${0##*/}" in
paths.sh)
	case "${1:-}" in
	top) echo "$SP_TOP" ;;
	scripts) echo "$SP_SCRIPTS" ;;
	bin) echo "$SP_BIN" ;;
	build) echo "$SP_BUILD" ;;
	experiments) echo "$SP_EXPERIMENTS" ;;
	*) echo "paths.sh: NAME is one of top, scripts, bin, build, experiments" >&2; exit 2 ;;
	esac ;;
esac
