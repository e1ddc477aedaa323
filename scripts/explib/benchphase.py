"""The two extra phases of a benchmark scenario (docs/benchmarks.md).

Scalability: for each guest count n of the 'scale' line, n fresh guests
share the 'scale-memory' total (total / n MiB each) and run the benchmarks
at once, in each KSM mode of 'scale-ksm'.  A guest that fails to boot,
stops or gives no result in time is DNR: its rows have no value, it is
destroyed and left out for the rest of its step, and the others go on.

Isolation: on the suite's first two guests, with KSM off: each benchmark
alone in guest 1 (guest 2 idle), then again while guest 2 runs a stress
load (stress-ng: memory, fork, cpu, disk; network: iperf3 from the host
into guest 2), the load started before each run and lasting twice the
benchmark's time alone plus 10 s."""
import os
import statistics
import time

from . import host, runner, scenario
from .benchguest import DNR, Guests, parse_result


def scale(ex):
    sc = ex.sc
    benches = sc["scale_benches"] or sc["benches"]
    for n in sc["scale"]:
        mem = sc["scale_memory_mib"] // n
        names = ["sp-%s-n%d-%d" % (runner.safe(sc["name"]), n, i + 1) for i in range(n)]
        ex.ksm_off_knobs()
        g = Guests(ex, names, mem, ex.needs_net(benches))
        try:
            g.boot(tolerate=True)
            for mode in sc["scale_ksm"]:
                st = ex.ksm_mode(mode)
                for b in benches:
                    for rep in range(1, sc["repeats"] + 1):
                        what = "%d guests, KSM %s, run %d/%d" % (n, mode, rep, sc["repeats"])
                        res = g.run(b, g.alive(), what, sc["bench_timeout"]) if g.alive() else {}
                        for name in names:
                            r = res.get(name)
                            if isinstance(r, DNR):
                                g.out(name, str(r))
                            if r is None:
                                r = DNR(g.dnr.get(name, "not run"))
                            ex.add_row(b, "vm", mode, name, rep, r, phase="scale", n=n)
                ex.scale_modes["%d %s" % (n, mode)] = dict(ex.mode_stats(st, g, "%d guests, KSM %s" % (n, mode)),
                                                           guests=n, memory_mib=mem, ksm_mode=mode,
                                                           dnr=dict(g.dnr))
        finally:
            g.destroy(os.path.join(ex.out, "console"))
            host.ksm_write("run", 2, ex.log)


def stress_line(sc, stress, seconds):
    args = scenario.STRESS[stress]
    if "%d" in args:
        args = args % (sc["memory_mib"] // 4 if stress == "memory" else 64)
    return "start bench stress-ng %s time=%d" % (args, seconds)


NET_STRESS = {"name": "iperf3", "args": [], "label": "iperf3 (network stress)",
              "server": {"kind": "iperf3", "args": []}}


def isolation(ex, g):
    """Guest 1 measured, guest 2 stressed; rows with phase isolation and
    stress none (alone) or the load; ex.isolation: the loads' timings."""
    sc = ex.sc
    a, s = g.names[0], g.names[1]
    for b in sc["isolation_benches"] or sc["benches"]:
        walls = []
        for rep in range(1, sc["repeats"] + 1):
            t = time.time()
            r = _measured(ex, g, a, b, "isolation, alone, run %d/%d" % (rep, sc["repeats"]))
            if rep > 1:
                walls.append(time.time() - t)
            ex.add_row(b, "vm", "off", a, rep, r, phase="isolation", n=2, stress="none")
        seconds = int(2 * (statistics.median(walls) if walls else 30) + 10)
        for stress in sc["isolation"]:
            for rep in range(1, sc["repeats"] + 1):
                what = "isolation, %s stress, run %d/%d" % (stress, rep, sc["repeats"])
                load = _start_stress(ex, g, s, stress, seconds)
                r = _measured(ex, g, a, b, what)
                ex.add_row(b, "vm", "off", a, rep, r, phase="isolation", n=2, stress=stress)
                sr, covered = _finish_stress(ex, g, s, stress, load, seconds)
                label = {"label": "stress %s" % stress}
                ex.add_row(label, "vm", "off", s, rep, sr, phase="isolation-stressor", n=2, stress=stress)
                ex.isolation.setdefault(b["label"], {}).setdefault(stress, []).append(
                    {"repeat": rep, "stress_seconds": seconds, "stress_outlasted_benchmark": covered})
            if stress == "network":  # its iperf3 server off again for the next load
                g.unserve([s], sc["bench_timeout"])
        g.unserve([a], sc["bench_timeout"])


def _measured(ex, g, a, b, what):
    if a in g.dnr:
        return DNR(g.dnr[a])
    r = g.run(b, [a], what, ex.sc["bench_timeout"])[a]
    if isinstance(r, DNR):
        g.out(a, str(r))
    return r


def _start_stress(ex, g, s, stress, seconds):
    if s in g.dnr:
        return None
    if stress == "network":
        bad = g.serve([s], NET_STRESS, ex.sc["bench_timeout"])
        if bad:
            g.out(s, str(bad[s]))
            return None
        return g.start_client(NET_STRESS, s, ["time=%d" % seconds])
    ks = g.send([s], stress_line(ex.sc, stress, seconds))
    # the load has begun when the agent says so
    host.wait_text(ex.lv.logfile(s), r"samepage-guest: bench %d begin" % ks[s], time.time() + 60,
                   alive=lambda: ex.lv.running(s))
    time.sleep(1)
    return ks


def _finish_stress(ex, g, s, stress, load, seconds):
    """The stressed guest's own result (or DNR) and whether its load was
    still running when the measured benchmark ended."""
    if load is None:
        return DNR(g.dnr.get(s, "the stressed guest is gone")), False
    timeout = seconds + ex.sc["bench_timeout"]
    if stress == "network":
        covered = load.poll() is None
        r = g.finish_client(load, NET_STRESS, s, "network stress", timeout)
    else:
        with open(ex.lv.logfile(s), errors="replace") as f:
            covered = ("samepage-guest: bench %d end" % load[s]) not in f.read()
        r = g.collect(load, "the %s stress" % stress, timeout)[s]
        if not isinstance(r, DNR):
            r = parse_result(r[1], "guest %s: the %s stress" % (s, stress)) if r[0] == 0 else \
                DNR("the %s stress ended with exit status %d" % (stress, r[0]))
    if isinstance(r, DNR):
        g.out(s, str(r))
    return r, covered
