#!/bin/sh
# The benchmark runner's phases without a guest: the guests are stand-ins
# whose "agent" runs each "start bench" line natively and writes the
# console log the way the Debian guest's agent does (libvirt and KSM left
# alone).  Checked: the network benchmarks' servers are started in each
# guest before the client runs on the host and stopped after; the isolation
# phase's rows; in the scalability phase a guest that stops (crashes) and
# one that times out are DNR — rows without a value, left out of the
# aggregate, the other guests go on —, and no server is left running.
. "$(dirname "$0")/../lib.sh"
for p in sysbench ab stress-ng; do
	command -v $p > /dev/null || skip_all "$p is not installed (scripts/deps installs it)"
done
[ -x /usr/sbin/apache2 ] || skip_all "apache2 is not installed (apache2-bin)"
cat > "$TMPD/s.scenario" <<'SC'
name        fake
guests      2
image       debian
ksm-modes   off
repeats     2
native      suite
bench       sysbench-cpu time=1
bench       ab n=100 c=2 page=2
isolation   cpu
isolation-bench ab n=100 c=2 page=2
scale       1 3
scale-memory 1536M
scale-bench sysbench-cpu time=1
scale-bench stress-ng stressor=cpu time=1
bench-timeout 20s
SC
python3 - "$TOP/scripts" "$TMPD/s.scenario" "$TMPD/out" > "$TMPD/checks" 2> "$TMPD/err" <<'PY'
import csv, os, subprocess, sys, threading
sys.path.insert(0, sys.argv[1])
from explib import bench, benchguest, benchphase, host, scenario
OUT = sys.argv[3]
os.makedirs(OUT)
sc = scenario.parse(sys.argv[2])
CRASH, HANG = "sp-fake-n3-2", "sp-fake-n3-3"   # guest 2 of 3 crashes at its 1st stress-ng, guest 3 hangs there
sent = []

class FakeLibvirt:
    def __init__(self):
        self.logs, self.up, self.guests = {}, {}, []
    def guest(self, n, args):
        self.logs[n] = os.path.join(OUT, "console-%s.log" % n)
        with open(self.logs[n], "w") as f:
            f.write("samepage-guest: ready (mariadb up, network ens16 10.0.2.15, 400 MiB available)\n")
        self.up[n] = True
        return self.logs[n]
    def logfile(self, n): return self.logs[n]
    def running(self, n): return self.up.get(n, False)
    def pid(self, n): return os.getpid()
    def destroy(self, n): self.up[n] = False
    def start(self): pass
    def stop(self): pass

class FakeGuests(benchguest.Guests):
    def args(self, i): return []
    def send(self, names, line):
        ks = {}
        for n in names:
            self.count[n] += 1
            k = ks[n] = self.count[n]
            words = line.split()[2:]
            sent.append((n, " ".join(words)))
            if words[0] == "serve" and "what=stop" not in words:  # the guest's port = the forwarded one here
                words.append("port=%d" % self.ports[n]["http" if "what=http" in words else "iperf3"])
            if words[0] == "stress-ng" and n in (CRASH, HANG):
                with open(self.ex.lv.logfile(n), "a") as f:
                    f.write("samepage-guest: bench %d begin %s\n" % (k, " ".join(words)))
                if n == CRASH:
                    self.ex.lv.up[n] = False
                continue
            threading.Thread(target=self.agent, args=(n, k, words), daemon=True).start()
        return ks
    def agent(self, n, k, words):
        env = dict(os.environ, SAMEPAGE_BENCH_TMP=os.path.join(OUT, "files-" + n))
        with open(self.ex.lv.logfile(n), "a") as f:
            f.write("samepage-guest: bench %d begin %s\n" % (k, " ".join(words)))
        p = subprocess.run(["sh", os.path.join(scenario.BENCH_DIR, words[0])] + words[1:], capture_output=True,
                           text=True, env=env)
        with open(self.ex.lv.logfile(n), "a") as f:
            f.write(p.stdout + p.stderr + "samepage-guest: bench %d end rc=%d\n" % (k, p.returncode))

class Ex(bench.BenchExperiment):
    def prepare(self): pass
    def wait_idle(self, names): pass

benchguest.Guests = benchphase.Guests = FakeGuests
host.ksm_write = host.ksm_apply = lambda *a, **k: None
ex = Ex(sc, OUT, quiet=True)
ex.lv = FakeLibvirt()
ex.run()

def check(c, what):
    print("%s\t%s" % ("ok" if c else "not ok", what))
runs = list(csv.DictReader(open(OUT + "/bench-runs.csv")))
scale = list(csv.DictReader(open(OUT + "/bench-scale.csv")))
iso = list(csv.DictReader(open(OUT + "/bench-isolation.csv")))
for g in ("sp-fake-1", "sp-fake-2"):
    mine = [w for n, w in sent if n == g]
    i = mine.index("serve what=http page=2") if "serve what=http page=2" in mine else -1
    check(i >= 0 and "serve what=stop" in mine[i:], "%s: its HTTP server started (with the page size) and stopped" % g)
    ab = [r for r in runs if r["bench"] == "ab n=100 c=2 page=2" and r["guest"] == g and r["phase"] == "suite"]
    check(len(ab) == 2 and all(float(r["value"]) > 0 for r in ab), "%s: ab ran twice against it from the host" % g)
check([w for n, w in sent if w.startswith("ab")] == [], "ab itself never went to a guest (its client runs on the host)")
check(len([r for r in runs if r["phase"] == "isolation" and r["stress"] == "none"]) == 2 and
      len([r for r in runs if r["phase"] == "isolation" and r["stress"] == "cpu"]) == 2 and
      len([r for r in runs if r["phase"] == "isolation-stressor" and r["status"] == "ok"]) == 2,
      "isolation: ab 2 runs alone, 2 beside the cpu load with the load's own result")
m = [w for n, w in sent if n == "sp-fake-1"]
check(m[-1] == "serve what=stop", "isolation: guest 1's server stopped at the end")
check(len(iso) == 1 and iso[0]["stress"] == "cpu" and iso[0]["degradation_pct"] != "", "isolation: one row, cpu (%s %%)" %
      (iso[0]["degradation_pct"] if iso else None))
def srow(b, n, g="all"):
    return next((r for r in scale if r["bench"] == b and r["guests"] == str(n) and r["guest"] == g), None)
b1, b2 = "sysbench-cpu time=1", "stress-ng stressor=cpu time=1"
check(srow(b1, 3)["status"] == "ok" and srow(b1, 3)["dnr"] == "0", "scale 3: sysbench-cpu finished in all 3 guests")
check(srow(b2, 1)["status"] == "ok", "scale 1: stress-ng finished")
c, h = srow(b2, 3, CRASH), srow(b2, 3, HANG)
check(c["status"] == "DNR" and c["median"] == "" and "the guest stopped during" in c["note"],
      "scale 3: the crashed guest is DNR, no value (%s)" % c["note"])
check(h["status"] == "DNR" and h["median"] == "" and "gave no result within 20 s" in h["note"],
      "scale 3: the hung guest is DNR after the timeout (%s)" % h["note"])
a = srow(b2, 3)
g1 = srow(b2, 3, "sp-fake-n3-1")
check(a["status"] == "partial" and a["dnr"] == "2" and g1["status"] == "ok" and a["median"] == g1["median"],
      "scale 3: the aggregate is guest 1's alone, 2 of 3 DNR (%s)" % a["note"])
later = [r for r in runs if r["guest"] in (CRASH, HANG) and r["bench"] == b2 and r["repeat"] == "2"]
check(len(later) == 2 and all(r["status"] == "DNR" and r["value"] == "" for r in later),
      "scale 3: their later runs are DNR too (the guests were destroyed)")
check(not ex.lv.up[CRASH] and not ex.lv.up[HANG], "the DNR guests were destroyed")
check(not any(r["value"] in ("0", "0.0") for r in runs), "no run recorded as zero")
PY
rc=$?
[ -s "$TMPD/checks" ] || { cat "$TMPD/err"; bail "the checks did not run (exit $rc)"; }
while IFS="$(printf '\t')" read -r res what; do
	[ "$res" = ok ]
	ok $? "$what"
done < "$TMPD/checks"
is "$(ps -eo args | grep -c "^[a-z/0-9]*apache2 -f /tmp/samepage-httpd")" 0 "no Apache left running"
done_testing
