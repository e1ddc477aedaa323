"""What the phases of a benchmark scenario share: the run rows (DNR
included), KSM off and on around a set of runs with KSM's saving, ksmd's
and the host's CPU over them.  bench.py's experiment and benchphase.py's
phases use it; docs/benchmarks.md."""
import os
import time

from . import host, runner
from .benchguest import DNR


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


class BenchBase(runner.Experiment):
    """The experiment's state the phases add to: rows (every run), modes
    (the suite's KSM modes), scale_modes, isolation."""

    def add_row(self, b, env, ksm, guest, rep, res, phase="suite", n=None, stress="-"):
        """One run's row; res a result dict or a DNR (no value, status DNR)."""
        dnr = isinstance(res, DNR)
        self.rows.append({"bench": b["label"], "metric": None if dnr else res["metric"],
                          "unit": None if dnr else res["unit"], "better": None if dnr else res["better"],
                          "env": env, "ksm": ksm, "guest": guest, "repeat": rep, "discarded": rep == 1,
                          "value": None if dnr else res["value"], "phase": phase,
                          "guests_at_once": n if n is not None else (1 if env == "native" else self.sc["guests"]),
                          "stress": stress, "status": "DNR" if dnr else "ok", "note": str(res) if dnr else ""})

    def needs_net(self, benches, stress=()):
        return any(b.get("server") for b in benches) or "network" in stress

    def ksm_off_knobs(self):
        knobs = dict(self.sc["ksm"])
        knobs.pop("run", None)
        host.ksm_write("run", 2, self.log)
        host.ksm_apply(dict(knobs, run=0), self.log)

    def ksm_mode(self, mode):
        """KSM on (then ksm-settle) or off; the counters to compare with at the end."""
        sc = self.sc
        host.ksm_write("run", 1 if mode == "on" else 2, self.log)
        if mode == "on" and sc["ksm_settle"] > 0:
            end = time.time() + sc["ksm_settle"]
            while time.time() < end:
                c = host.ksm_counters()
                self.progress("KSM on, settling: %.0f s left, saving %.1f MiB" %
                              (end - time.time(), c.get("pages_sharing", 0) / 256))
                time.sleep(1)
        return self.snapshot()

    @staticmethod
    def snapshot():
        """The clock and CPU counters a window (a KSM mode, one benchmark) starts from."""
        kpid = ksmd_pid()
        return {"t0": time.time(), "cpu0": cpu_times(), "kpid": kpid,
                "ksmd0": host.proc_cpu_seconds(kpid) if kpid else None}

    def mode_stats(self, st, guests, what=None):
        """KSM's saving at the end of a window (a mode, or one benchmark of
        it), ksmd's and the host's CPU over it; logged when `what` names it."""
        busy1, tot1 = cpu_times()
        el = time.time() - st["t0"]
        c = host.ksm_counters()
        saved = c.get("pages_sharing", 0) * 4096
        if self.sc["ksm"].get("use_zero_pages") == "1":
            saved += c.get("ksm_zero_pages", 0) * 4096
        k1 = host.proc_cpu_seconds(st["kpid"]) if st["kpid"] else None
        m = {"seconds": round(el, 1), "ksm": c, "saved_bytes": saved,
             "ksmd_cpu_pct": round((k1 - st["ksmd0"]) / el * 100, 2)
             if k1 is not None and st["ksmd0"] is not None else None,
             "host_cpu_pct": round((busy1 - st["cpu0"][0]) / max(1, tot1 - st["cpu0"][1]) * 100, 2),
             "guest_rss_bytes": guests.rss_bytes()}
        if what:
            self.log("%s: %.0f s, KSM saving %.1f MiB, ksmd %s %% of a core, host CPU %.1f %%" %
                     (what, el, m["saved_bytes"] / 2 ** 20, m["ksmd_cpu_pct"], m["host_cpu_pct"]))
        return m
