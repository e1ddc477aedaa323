"""The guests of a benchmark scenario: booted together, sent one "start
bench" line each per run, their results read from the serial consoles.
A network benchmark (a script with a "samepage-bench-server" line) runs on
the host against a server in each guest, reached through a port forward of
the guest's user-mode network card.  A guest that stops or gives no result
in time is "did not run" (DNR): fatal for the suite, recorded for the
scalability and isolation phases (the guest is then destroyed).  Format and
results: docs/benchmarks.md."""
import os
import re
import shutil
import subprocess
import time

from . import host, runner, scenario

RESULT_RE = re.compile(r"^samepage-bench: metric=(\S+) value=(\S+) unit=(\S+) better=(higher|lower)[ \t]*$", re.M)
GUEST_PORTS = {"http": 80, "iperf3": 5201}


class BenchError(RuntimeError):
    """A benchmark failed or printed no result; the message shows its output."""


class DNR(Exception):
    """A guest did not finish a run: it stopped, or timed out."""


def raw(text, lines=40):
    t = text.rstrip("\n").splitlines()
    more = "(%d earlier lines left out)\n" % (len(t) - lines) if len(t) > lines else ""
    return more + "\n".join("  | " + x for x in t[-lines:])


def parse_result(text, what):
    """The one result line of a benchmark's output -> dict; BenchError (with
    the raw output) when there is none, more than one, or no positive number."""
    found = RESULT_RE.findall(text)
    if len(found) != 1:
        raise BenchError("%s: %s result line in the output; raw output:\n%s" %
                         (what, "no" if not found else "%d instead of one" % len(found), raw(text)))
    metric, value, unit, better = found[0]
    try:
        v = float(value)
    except ValueError:
        v = None
    if v is None or not v > 0 or v != v or v == float("inf"):
        raise BenchError("%s: result '%s' is not a positive number; raw output:\n%s" % (what, value, raw(text)))
    return {"metric": metric, "value": v, "unit": unit, "better": better}


def bench_cmd(b, extra=()):
    # through sh: installed data files have no execute bit
    return ["sh", os.path.join(scenario.BENCH_DIR, b["name"])] + b["args"] + list(extra)


def free_ports(n):
    """n different loopback TCP ports for the guests' forwards, by the
    benchmark scripts' own rule (bench_free_port in bench-lib.sh)."""
    lib = os.path.join(scenario.BENCH_DIR, "bench-lib.sh")
    out = subprocess.run(["sh", "-c", '. "$1"; bench_free_port "$2"', "sh", lib, str(n)],
                         stdout=subprocess.PIPE, text=True).stdout.split()
    if len(out) != n:
        raise RuntimeError("no %d free TCP ports on the loopback (got %d)" % (n, len(out)))
    return [int(p) for p in out]


def output_of(e):
    o = e.stdout or ""
    return o.decode(errors="replace") if isinstance(o, bytes) else o


class Guests:
    """A set of guests booted for one phase.  ex: the experiment (libvirt,
    logging, guest_args); net: give them a network card with forwards."""

    def __init__(self, ex, names, memory_mib, net):
        self.ex, self.names, self.mem, self.net = ex, list(names), memory_mib, net
        self.count = {n: 0 for n in names}
        self.ports = {}
        self.dnr = {}          # guest -> why it is out (destroyed)
        self.pids = {}
        self.serving = {}      # guest -> server kind running there

    def args(self, i):
        a = [x for x in self.ex.guest_args(i, None) if not x.startswith("--mem=")]
        a.append("--mem=%d" % self.mem)
        if self.net:
            a.append("--forward=" + ",".join("%d:%d" % (self.ports[self.names[i]][k], p)
                                             for k, p in sorted(GUEST_PORTS.items())))
        return a

    def boot(self, tolerate=False):
        """Boot every guest until its agent is ready, then wait until they are
        idle.  tolerate: a guest that fails to boot is DNR instead of fatal."""
        ex = self.ex
        sc = ex.sc
        ports = iter(free_ports(len(self.names) * len(GUEST_PORTS)) if self.net else ())
        for n in self.names:
            self.ports[n] = {k: next(ports) for k in GUEST_PORTS} if self.net else {}
        ex.log("booting %d guests (%s, %d MiB, %d vCPU%s)" % (len(self.names), sc["image"], self.mem, sc["vcpus"],
                                                              ", network card" if self.net else ""))
        t = time.time()
        for i, n in enumerate(self.names):
            ex.lv.guest(n, self.args(i))
        for n in self.names:
            try:
                ex.wait_guests([n], "samepage-guest: ready", max(1, t + sc["boot_timeout"] - time.time()), "boot")
                self.check_net(n)
            except runner.GuestError as e:
                if not tolerate:
                    raise
                self.out(n, str(e).splitlines()[0])
        ex.log("%d of %d guests ready after %.0f s" % (len(self.alive()), len(self.names), time.time() - t))
        if self.alive():
            ex.wait_idle(self.alive())
        self.pids = {n: ex.lv.pid(n) for n in self.alive()}

    def check_net(self, n):
        if not self.net:
            return
        with open(self.ex.lv.logfile(n), errors="replace") as f:
            m = re.search(r"samepage-guest: ready \(mariadb \w+, network ([^,]*),", f.read())
        if not m or "10.0.2.15" not in m.group(1):
            raise runner.GuestError("guest %s has no network (%s); console log %s" %
                                    (n, m.group(1) if m else "an image without network support",
                                     self.ex.lv.logfile(n)))

    def destroy(self, cons):
        os.makedirs(cons, exist_ok=True)
        for n in self.names:
            try:
                shutil.copy(self.ex.lv.logfile(n), os.path.join(cons, n + ".log"))
            except (OSError, RuntimeError):
                pass
            self.ex.lv.destroy(n)

    def alive(self):
        return [n for n in self.names if n not in self.dnr]

    def rss_bytes(self):
        return sum(host.proc_rss_bytes(p) for n, p in self.pids.items() if p and n not in self.dnr)

    def out(self, n, why):
        """Guest n did not run (DNR): destroyed, left out from now on."""
        self.dnr[n] = why
        self.ex.log("guest %s: DNR (%s); destroyed" % (n, why))
        try:
            os.makedirs(os.path.join(self.ex.out, "console"), exist_ok=True)
            shutil.copy(self.ex.lv.logfile(n), os.path.join(self.ex.out, "console", n + ".log"))
        except (OSError, RuntimeError):
            pass
        self.ex.lv.destroy(n)

    # ---- the agent ---------------------------------------------------------
    def send(self, names, line):
        """One "start bench ..." line to each guest's agent; {guest: K}."""
        senders, ks = [], {}
        for n in names:
            self.count[n] += 1
            ks[n] = self.count[n]
            senders.append(subprocess.Popen([host.script("libvirt-env"), "ctl", n, "--text=" + line.strip()]))
        for p in senders:
            if p.wait() != 0:
                raise RuntimeError("could not send '%s' to a guest" % line.strip())
        return ks

    def collect(self, ks, what, timeout, progress=""):
        """The output of the benches ks ({guest: K}): {guest: (rc, text)} or
        {guest: DNR(why)} for a guest that stopped or timed out."""
        ex = self.ex
        deadline = time.time() + timeout
        res = {}
        for n, k in ks.items():
            log = ex.lv.logfile(n)
            end = r"samepage-guest: bench %d end rc=(\d+)" % k
            while True:
                ex.progress("%s, waiting for %s" % (progress or what, n))
                if host.wait_text(log, end, min(deadline, time.time() + 2), alive=lambda n=n: ex.lv.running(n)):
                    break
                if not ex.lv.running(n):
                    res[n] = DNR("the guest stopped during %s" % what)
                    break
                if time.time() >= deadline:
                    res[n] = DNR("%s gave no result within %.0f s" % (what, timeout))
                    break
            if n in res:
                continue
            with open(log, errors="replace") as f:
                text = f.read().replace("\r", "")
            m = re.search(r"samepage-guest: bench %d begin [^\n]*\n(.*?)samepage-guest: bench %d end rc=(\d+)" %
                          (k, k), text, re.S)
            if not m:
                raise BenchError("guest %s: %s: no output block in the console log %s" % (n, what, log))
            res[n] = (int(m.group(2)), m.group(1))
        return res

    # ---- servers for the network benchmarks ---------------------------------
    def serve(self, names, b, timeout):
        """Start b's server in the guests (stopping another kind first)."""
        kind = b["server"]["kind"]
        wanted = [n for n in names if self.serving.get(n) != (kind, tuple(b["server"]["args"]))]
        if not wanted:
            return {}
        self.unserve(wanted, timeout)
        line = "start bench serve what=%s %s" % (kind, " ".join(b["server"]["args"]))
        bad = {}
        for n, r in self.collect(self.send(wanted, line), "starting the %s server" % kind, timeout).items():
            if isinstance(r, DNR):
                bad[n] = r
            elif r[0] != 0:
                raise BenchError("guest %s: the %s server did not start (exit status %d); raw output:\n%s" %
                                 (n, kind, r[0], raw(r[1])))
            else:
                self.serving[n] = (kind, tuple(b["server"]["args"]))
        return bad

    def unserve(self, names, timeout):
        names = [n for n in names if n in self.serving and n not in self.dnr]
        if names:
            self.collect(self.send(names, "start bench serve what=stop"), "stopping the servers", timeout)
            for n in names:
                self.serving.pop(n, None)

    # ---- one run ---------------------------------------------------------
    def run(self, b, names, what, timeout):
        """One run of b in the guests names at once -> {guest: result dict or
        DNR}.  A benchmark that fails in a guest raises BenchError."""
        if b.get("server"):
            return self.run_client(b, names, what, timeout)
        line = "start bench %s %s" % (b["name"], " ".join(b["args"]))
        out = {}
        for n, r in self.collect(self.send(names, line), b["label"], timeout, what).items():
            if isinstance(r, DNR):
                out[n] = r
                continue
            w = "guest %s: %s (%s)" % (n, b["label"], what)
            if r[0] != 0:
                raise BenchError("%s: exit status %d; raw output:\n%s" % (w, r[0], raw(r[1])))
            out[n] = parse_result(r[1], w)
            self.ex.log("%s: %g %s" % (w, out[n]["value"], out[n]["unit"]))
        return out

    def run_client(self, b, names, what, timeout):
        """A network benchmark: its server in every guest, its client on the
        host, one per guest at once, against the guest's forwarded port."""
        out = dict(self.serve(names, b, timeout))
        procs = {n: self.start_client(b, n) for n in names if n not in out}
        deadline = time.time() + timeout
        for n, p in procs.items():
            self.ex.progress("%s: %s against %s" % (what, b["label"], n))
            out[n] = self.finish_client(p, b, n, what, max(1, deadline - time.time()))
        return out

    def start_client(self, b, n, extra=()):
        """b's client on the host against guest n's server (started before)."""
        cmd = bench_cmd(b, list(extra) + ["target=127.0.0.1:%d" % self.ports[n][b["server"]["kind"]]])
        env = dict(os.environ, SAMEPAGE_BENCH_TMP=os.path.join(self.ex.out, "client-files"))
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                stdin=subprocess.DEVNULL)

    def finish_client(self, p, b, n, what, timeout):
        """The client's result, DNR when it times out or the guest stopped."""
        try:
            text, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return DNR("%s gave no result within %.0f s" % (b["label"], timeout))
        w = "guest %s: %s (%s; client on the host)" % (n, b["label"], what)
        if p.returncode != 0:
            if not self.ex.lv.running(n):
                return DNR("the guest stopped during %s" % b["label"])
            raise BenchError("%s: exit status %d; raw output:\n%s" % (w, p.returncode, raw(text)))
        r = parse_result(text, w)
        self.ex.log("%s: %g %s" % (w, r["value"], r["unit"]))
        return r
