"""Benchmark scenarios: the workload benchmarks of scripts/benchmarks/, run
natively on the host and in the Debian guests with KSM off and on, each
repeated (the first run discarded); then, when the scenario asks, the
isolation phase (on the same guests) and the scalability phase (fresh
guests per count).  The guests and their runs: benchguest.py; the two
phases: benchphase.py.  Format and results: docs/benchmarks.md."""
import os
import shutil
import subprocess

from . import benchguest, benchout, benchphase, host, runner
from .benchbase import BenchBase
from .benchguest import BenchError, DNR  # noqa: F401  (the runner's errors)


class NotHere(Exception):
    """The benchmark cannot run on this host (exit status 3: a program or
    server it needs is missing)."""


def native_once(b, tmpdir, timeout):
    env = dict(os.environ, SAMEPAGE_BENCH_TMP=tmpdir)
    try:
        p = subprocess.run(benchguest.bench_cmd(b), capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise BenchError("native %s: no result after %.0f s; raw output:\n%s" %
                         (b["label"], timeout, benchguest.raw(benchguest.output_of(e))))
    out = p.stdout + p.stderr
    if p.returncode == 3:
        raise NotHere(out.strip().splitlines()[-1] if out.strip() else "exit status 3")
    if p.returncode != 0:
        raise BenchError("native %s: exit status %d; raw output:\n%s" % (b["label"], p.returncode,
                                                                          benchguest.raw(out)))
    return benchguest.parse_result(out, "native " + b["label"])


def all_benches(sc):
    """Every benchmark of the scenario, once (suite, scalability, isolation)."""
    out = []
    for b in sc["benches"] + sc["scale_benches"] + sc["isolation_benches"]:
        if b["label"] not in [x["label"] for x in out]:
            out.append(b)
    return out


class BenchExperiment(BenchBase):
    """Native runs, then guests booted once for every KSM mode (and the
    isolation phase), then the scalability phase."""

    def run(self):
        sc = self.sc
        self.rows, self.modes, self.native_missing = [], {}, {}
        self.scale_modes, self.isolation = {}, {}
        self.prepare()
        self.tmp = os.path.join(self.out, "native-files")
        try:
            if sc["native"]:
                self.native_runs()
            self.guest_runs()
            if sc["scale"]:
                benchphase.scale(self)
        finally:
            for d in (self.tmp, os.path.join(self.out, "client-files")):
                shutil.rmtree(d, ignore_errors=True)
            self.results = benchout.write(self.out, sc, self.rows, self.modes, self.native_missing,
                                          self.scale_modes, self.isolation)

    def native_runs(self):
        sc = self.sc
        os.makedirs(self.tmp, exist_ok=True)
        for b in sc["benches"] if sc["native"] == "suite" else all_benches(sc):
            for rep in range(1, sc["repeats"] + 1):
                self.progress("native %s: run %d/%d" % (b["label"], rep, sc["repeats"]))
                try:
                    res = native_once(b, self.tmp, sc["bench_timeout"])
                except NotHere as e:  # no native row, so no normalized value
                    self.native_missing[b["label"]] = str(e)
                    self.log("native %s: %s; no native run, the VM rows are not normalized" % (b["label"], e))
                    break
                self.add_row(b, "native", "-", "host", rep, res)
                self.log("native %s run %d: %g %s" % (b["label"], rep, res["value"], res["unit"]))

    before_guests = None  # called before the guests boot (scripts/experiment builds the image)

    def guest_runs(self):
        sc = self.sc
        if self.before_guests:
            self.before_guests()
        self.ksm_off_knobs()
        names = ["sp-%s-%d" % (runner.safe(sc["name"]), i + 1) for i in range(sc["guests"])]
        iso = sc["isolation_benches"] or sc["benches"]
        g = benchguest.Guests(self, names, sc["memory_mib"],
                              self.needs_net(sc["benches"] + (iso if sc["isolation"] else []), sc["isolation"]))
        try:
            g.boot()
            for mode in sc["ksm_modes"]:
                st = self.ksm_mode(mode)
                per = {}  # each benchmark's own window: its runs in every guest
                for b in sc["benches"]:
                    sb = self.snapshot()
                    for rep in range(1, sc["repeats"] + 1):
                        for n, res in g.run(b, names, "KSM %s, run %d/%d" % (mode, rep, sc["repeats"]),
                                            sc["bench_timeout"]).items():
                            if isinstance(res, DNR):
                                raise runner.GuestError("guest %s: %s (DNR); console log %s" %
                                                        (n, res, self.lv.logfile(n)))
                            self.add_row(b, "vm", mode, n, rep, res)
                    per[b["label"]] = self.mode_stats(sb, g)
                self.modes[mode] = dict(self.mode_stats(st, g, "KSM " + mode), benches=per)
            g.unserve(names, sc["bench_timeout"])
            if sc["isolation"]:
                host.ksm_write("run", 2, self.log)
                benchphase.isolation(self, g)
        finally:
            g.destroy(os.path.join(self.out, "console"))
            host.ksm_write("run", 2, self.log)
