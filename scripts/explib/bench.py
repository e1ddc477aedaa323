"""Benchmark scenarios: the workload benchmarks of scripts/benchmarks/, run
natively on the host and in the Debian guests with KSM off and on, each
repeated (the first run discarded).  The guests boot once; every benchmark
run is one "start bench NAME ARGS" line to every guest's agent at once, its
result read from the guest's serial console.  Format and results:
docs/benchmarks.md."""
import os
import re
import shutil
import subprocess
import time

from . import benchout, host, runner, scenario

RESULT_RE = re.compile(r"^samepage-bench: metric=(\S+) value=(\S+) unit=(\S+) better=(higher|lower)[ \t]*$", re.M)


class BenchError(RuntimeError):
    """A benchmark failed or printed no result; the message shows its output."""


class NotHere(Exception):
    """The benchmark cannot run on this host (exit status 3: a program or
    server it needs is missing)."""


def _raw(text, lines=40):
    t = text.rstrip("\n").splitlines()
    more = "(%d earlier lines left out)\n" % (len(t) - lines) if len(t) > lines else ""
    return more + "\n".join("  | " + x for x in t[-lines:])


def parse_result(text, what):
    """The one result line of a benchmark's output -> dict; BenchError (with
    the raw output) when there is none, more than one, or no positive number."""
    found = RESULT_RE.findall(text)
    if len(found) != 1:
        raise BenchError("%s: %s result line in the output; raw output:\n%s" %
                         (what, "no" if not found else "%d instead of one" % len(found), _raw(text)))
    metric, value, unit, better = found[0]
    try:
        v = float(value)
    except ValueError:
        v = None
    if v is None or not v > 0 or v != v or v == float("inf"):
        raise BenchError("%s: result '%s' is not a positive number; raw output:\n%s" % (what, value, _raw(text)))
    return {"metric": metric, "value": v, "unit": unit, "better": better}


def bench_cmd(b):
    # through sh: installed data files have no execute bit
    return ["sh", os.path.join(scenario.BENCH_DIR, b["name"])] + b["args"]


def native_once(b, tmpdir, timeout):
    env = dict(os.environ, SAMEPAGE_BENCH_TMP=tmpdir)
    try:
        p = subprocess.run(bench_cmd(b), capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise BenchError("native %s: no result after %.0f s; raw output:\n%s" %
                         (b["label"], timeout, _raw((e.stdout or b"").decode(errors="replace")
                                                   if isinstance(e.stdout, bytes) else (e.stdout or ""))))
    out = p.stdout + p.stderr
    if p.returncode == 3:
        raise NotHere(out.strip().splitlines()[-1] if out.strip() else "exit status 3")
    if p.returncode != 0:
        raise BenchError("native %s: exit status %d; raw output:\n%s" % (b["label"], p.returncode, _raw(out)))
    return parse_result(out, "native " + b["label"])


def ksmd_pid():
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == "ksmd":
                        return int(d)
            except OSError:
                pass
    return None


def cpu_times():
    """(busy, total) jiffies of the whole host from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


class BenchExperiment(runner.Experiment):
    """Native runs, then guests booted once, then every KSM mode."""

    def run(self):
        sc = self.sc
        self.rows, self.modes, self.native_missing = [], {}, {}
        self.prepare()
        self.tmp = os.path.join(self.out, "native-files")
        try:
            if sc["native"]:
                self.native_runs()
            self.guest_runs()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.results = benchout.write(self.out, sc, self.rows, self.modes, self.native_missing)

    def add_row(self, b, env, ksm, guest, rep, res):
        self.rows.append({"bench": b["label"], "metric": res["metric"], "unit": res["unit"],
                          "better": res["better"], "env": env, "ksm": ksm, "guest": guest,
                          "repeat": rep, "discarded": rep == 1, "value": res["value"]})

    def native_runs(self):
        sc = self.sc
        os.makedirs(self.tmp, exist_ok=True)
        for b in sc["benches"]:
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
        knobs = dict(sc["ksm"])
        knobs.pop("run", None)
        host.ksm_write("run", 2, self.log)
        host.ksm_apply(dict(knobs, run=0), self.log)
        names = ["sp-%s-%d" % (runner.safe(sc["name"]), i + 1) for i in range(sc["guests"])]
        self.names, self.count = names, {n: 0 for n in names}
        cons = os.path.join(self.out, "console")
        os.makedirs(cons, exist_ok=True)
        self.log("booting %d guests (%s, %d MiB, %d vCPU)" % (len(names), sc["image"], sc["memory_mib"], sc["vcpus"]))
        t = time.time()
        try:
            for i, n in enumerate(names):
                self.lv.guest(n, self.guest_args(i, None))
            self.wait_guests(names, "samepage-guest: ready", sc["boot_timeout"], "boot")
            self.log("all guests ready after %.0f s" % (time.time() - t))
            self.wait_idle(names)
            self.pids = {n: self.lv.pid(n) for n in names}
            for mode in sc["ksm_modes"]:
                self.one_mode(mode)
        finally:
            for n in names:
                try:
                    shutil.copy(self.lv.logfile(n), os.path.join(cons, n + ".log"))
                except (OSError, RuntimeError):
                    pass
                self.lv.destroy(n)
            host.ksm_write("run", 2, self.log)

    def one_mode(self, mode):
        sc = self.sc
        host.ksm_write("run", 1 if mode == "on" else 2, self.log)
        if mode == "on" and sc["ksm_settle"] > 0:
            end = time.time() + sc["ksm_settle"]
            while time.time() < end:
                c = host.ksm_counters()
                self.progress("KSM on, settling: %.0f s left, saving %.1f MiB" %
                              (end - time.time(), c.get("pages_sharing", 0) / 256))
                time.sleep(1)
        kpid = ksmd_pid()
        st = {"ksm_before": host.ksm_counters(), "t0": time.time(), "cpu0": cpu_times(),
              "ksmd0": host.proc_cpu_seconds(kpid) if kpid else None}
        for b in sc["benches"]:
            for rep in range(1, sc["repeats"] + 1):
                for n, res in self.guest_bench(b, rep, mode).items():
                    self.add_row(b, "vm", mode, n, rep, res)
        busy1, tot1 = cpu_times()
        el = time.time() - st["t0"]
        c = host.ksm_counters()
        saved = c.get("pages_sharing", 0) * 4096
        if sc["ksm"].get("use_zero_pages") == "1":
            saved += c.get("ksm_zero_pages", 0) * 4096
        k1 = host.proc_cpu_seconds(kpid) if kpid else None
        self.modes[mode] = {
            "seconds": round(el, 1), "ksm": c,
            "saved_bytes": saved,
            "ksmd_cpu_pct": round((k1 - st["ksmd0"]) / el * 100, 2) if k1 is not None and st["ksmd0"] is not None else None,
            "host_cpu_pct": round((busy1 - st["cpu0"][0]) / max(1, tot1 - st["cpu0"][1]) * 100, 2),
            "guest_rss_bytes": sum(host.proc_rss_bytes(p) for p in self.pids.values() if p)}
        self.log("KSM %s: %.0f s, saving %.1f MiB, ksmd %s %% of a core, host CPU %.1f %%" %
                 (mode, el, self.modes[mode]["saved_bytes"] / 2 ** 20, self.modes[mode]["ksmd_cpu_pct"],
                  self.modes[mode]["host_cpu_pct"]))

    def guest_bench(self, b, rep, mode):
        """One run of b in every guest at once -> {guest: result}."""
        sc = self.sc
        line = "start bench %s %s" % (b["name"], " ".join(b["args"]))
        senders = []
        for n in self.names:
            self.count[n] += 1
            senders.append(subprocess.Popen([host.script("libvirt-env"), "ctl", n, "--text=" + line.strip()]))
        for p in senders:
            if p.wait() != 0:
                raise RuntimeError("could not send the bench command to a guest")
        deadline = time.time() + sc["bench_timeout"]
        out = {}
        for n in self.names:
            k = self.count[n]
            end = r"samepage-guest: bench %d end rc=(\d+)" % k
            log = self.lv.logfile(n)
            while True:
                self.progress("KSM %s, %s: run %d/%d, waiting for %s" % (mode, b["label"], rep, sc["repeats"], n))
                if host.wait_text(log, end, min(deadline, time.time() + 2), alive=lambda n=n: self.lv.running(n)):
                    break
                if not self.lv.running(n):
                    raise runner.GuestError("guest %s stopped during %s (DNR); console log %s" % (n, b["label"], log))
                if time.time() >= deadline:
                    raise runner.GuestError("guest %s: %s gave no result within %.0f s (DNR); console log %s" %
                                            (n, b["label"], sc["bench_timeout"], log))
            with open(log, errors="replace") as f:
                text = f.read().replace("\r", "")
            m = re.search(r"samepage-guest: bench %d begin [^\n]*\n(.*?)samepage-guest: bench %d end rc=(\d+)" %
                          (k, k), text, re.S)
            what = "guest %s: %s (KSM %s, run %d)" % (n, b["label"], mode, rep)
            if not m:
                raise BenchError("%s: no output block in the console log %s" % (what, log))
            if m.group(2) != "0":
                raise BenchError("%s: exit status %s; raw output:\n%s" % (what, m.group(2), _raw(m.group(1))))
            out[n] = parse_result(m.group(1), what)
            self.log("%s: %g %s" % (what, out[n]["value"], out[n]["unit"]))
        return out
