#!/bin/sh
# scripts/deps, install path, without installing anything: stub dpkg-query,
# apt-get and id come first in PATH.  The stub dpkg-query reports the
# packages named in $STUB_MISSING as not installed; the stub apt-get records
# its arguments (and whether the policy file existed while it ran) and fails
# when $STUB_FAIL names its sub-command.
. "$(dirname "$0")/../lib.sh"

stubs=$TMPD/stubs
mkdir -p "$stubs"
cat > "$stubs/dpkg-query" <<'STUB'
#!/bin/sh
pkg=$(eval echo \${$#})
for m in $STUB_MISSING; do [ "$m" = "$pkg" ] && exit 1; done
printf 'install ok installed'
STUB
cat > "$stubs/apt-get" <<'STUB'
#!/bin/sh
echo "$*" >> "$STUB_LOG"
if [ -e "$SAMEPAGE_POLICY_RC" ]; then echo "policy present: $(tail -n 1 "$SAMEPAGE_POLICY_RC")" >> "$STUB_LOG"; fi
case " $* " in *" $STUB_FAIL "*) echo "E: stub failure" >&2; exit 100 ;; esac
exit 0
STUB
printf '#!/bin/sh\necho 0\n' > "$stubs/id"
chmod 755 "$stubs"/*

list=$TMPD/packages
printf '# a comment\nalpha\nbeta gamma\n# delta\nepsilon\t# builds with: pkg-config eps\n' > "$list"

run_deps() { # OUT-PREFIX: runs scripts/deps with the stubs; sets rc
	: > "$TMPD/$1.log"
	PATH="$stubs:$PATH" STUB_LOG="$TMPD/$1.log" SAMEPAGE_PACKAGES="$list" \
		SAMEPAGE_POLICY_RC="$policy" "$TOP/scripts/deps" > "$TMPD/$1.out" 2> "$TMPD/$1.err"
	rc=$?
}

# 1. nothing missing: exits 0 at once, apt-get not called
policy=$TMPD/policy-none
STUB_MISSING="" STUB_FAIL=""; export STUB_MISSING STUB_FAIL
run_deps none
is "$rc" 0 "nothing missing: exit 0"
is "$(wc -c < "$TMPD/none.log" | tr -d ' ')" 0 "nothing missing: apt-get not called"

# 2. a policy file that was there before: kept byte for byte, exit 0
policy=$TMPD/policy-pre
printf '#!/bin/sh\n# made by the image\nexit 101\n' > "$policy"
chmod 700 "$policy"
before=$(cksum < "$policy"); mode_before=$(stat -c %a "$policy")
STUB_MISSING="beta epsilon"; export STUB_MISSING
run_deps pre
is "$rc" 0 "pre-existing policy: exit 0 after a successful install"
is "$(grep '^install' "$TMPD/pre.log")" "install -y -qq --no-install-recommends beta epsilon" \
	"pre-existing policy: apt-get install gets exactly the missing packages"
is "$(grep -c '^update' "$TMPD/pre.log")" 1 "pre-existing policy: apt-get update called once"
is "$(cksum < "$policy")" "$before" "pre-existing policy: file unchanged"
is "$(stat -c %a "$policy")" "$mode_before" "pre-existing policy: mode unchanged"
like "$(cat "$TMPD/pre.out")" "deps: installing: beta epsilon" "pre-existing policy: names what it installs"
like "$(cat "$TMPD/pre.out")" "deps: done" "pre-existing policy: says done"

# 3. no policy file before: one is made for the install and removed after
policy=$TMPD/policy-made
STUB_MISSING="alpha gamma"; export STUB_MISSING
run_deps made
is "$rc" 0 "no policy before: exit 0 after a successful install"
is "$(grep '^install' "$TMPD/made.log")" "install -y -qq --no-install-recommends alpha gamma" \
	"no policy before: apt-get install gets exactly the missing packages"
is "$(grep -c '^policy present: exit 101' "$TMPD/made.log")" 2 \
	"no policy before: a policy that refuses daemon starts exists while apt-get runs"
ok "$([ ! -e "$policy" ]; echo $?)" "no policy before: the one made is removed afterwards"

# 4. apt-get install fails: non-zero exit, a clear message, made policy removed
policy=$TMPD/policy-fail
STUB_MISSING="epsilon" STUB_FAIL="install"; export STUB_MISSING STUB_FAIL
run_deps fail
ok "$([ "$rc" -ne 0 ]; echo $?)" "failing apt-get install: non-zero exit (got $rc)"
like "$(cat "$TMPD/fail.err")" "^deps: 'apt-get install' failed for: epsilon" "failing apt-get install: clear message"
ok "$([ ! -e "$policy" ]; echo $?)" "failing apt-get install: the policy made is removed"

# 5. apt-get update fails: non-zero exit, a clear message, pre-existing policy kept
policy=$TMPD/policy-pre
STUB_FAIL="update"; export STUB_FAIL
run_deps upd
ok "$([ "$rc" -ne 0 ]; echo $?)" "failing apt-get update: non-zero exit (got $rc)"
like "$(cat "$TMPD/upd.err")" "^deps: 'apt-get update' failed" "failing apt-get update: clear message"
is "$(grep -c '^install' "$TMPD/upd.log")" 0 "failing apt-get update: no install attempted"
is "$(cksum < "$policy")" "$before" "failing apt-get update: pre-existing policy unchanged"

# 6. make without a library: one line naming it and how to install it, and
# no compiler run.  pkg-config sees every .pc file of the machine but libxxhash's.
pcdir=$TMPD/pc
mkdir -p "$pcdir"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	[ -d "$d" ] && cp "$d"/*.pc "$pcdir"/ 2>/dev/null
done
rm -f "$pcdir/libxxhash.pc"
PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= make -C "$TOP" --no-print-directory B="$TMPD/b" BINDIR="$TMPD/bin" all \
	> "$TMPD/make.out" 2> "$TMPD/make.err"
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "make without libxxhash: fails (exit $rc)"
is "$(grep -c 'samepage: cannot build' "$TMPD/make.err")" 1 "make without libxxhash: one line says so"
like "$(cat "$TMPD/make.err")" "missing libxxhash \(libxxhash-dev\); run 'make deps' as root \(or scripts/deps\)" \
	"make without libxxhash: names the library, its package and the install command"
is "$(grep -c -e 'fatal error' -e '^cc ' -e '^gcc ' "$TMPD/make.out" "$TMPD/make.err" | awk -F: '{s += $2} END {print s}')" 0 \
	"make without libxxhash: nothing was compiled"
ok "$([ ! -e "$TMPD/bin/dedup-analyze" ]; echo $?)" "make without libxxhash: no program built"

done_testing
