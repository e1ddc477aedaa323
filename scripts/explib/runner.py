"""One experiment: every run of a scenario on fresh guests, sampled by
ksm-sample, dumped at the scenario's times.  Whatever happens (end, Ctrl-C,
SIGTERM, a failure) the guests are destroyed, libvirtd is stopped when this
run started it, and every KSM knob is put back.  For the ways out no program
sees (SIGKILL, the OOM killer), what it changed is on disk first: KSM is
taken with `ksm-sample --take` and the guests, daemons and processes are in
the runner's record (owner.py), for `experiment --cleanup`."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from . import host, owner

STOP_ENV = "SAMEPAGE_EXPERIMENT_STOP_AT"


class Interrupted(Exception):
    pass


class GuestError(Exception):
    pass


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def run_list(sc):
    """The scenario's runs, plus the sharing-off baseline when asked for."""
    runs = [dict(r, sharing=True) for r in sc["runs"]]
    if sc["baseline"]:
        src = next(r for r in sc["runs"] if r["name"] == sc["baseline"])
        runs.append(dict(src, name="baseline", sharing=False, baseline_of=src["name"]))
    return runs


def stop_at(point, log):
    """For tests of the kill moments: SAMEPAGE_EXPERIMENT_STOP_AT=POINT stops
    the runner (SIGSTOP) at POINT, so that a test can SIGKILL it exactly
    there: ksm-taken, booting, sampling, unmerge, runs-done."""
    if os.environ.get(STOP_ENV) == point:
        log("stopped at '%s' (%s)" % (point, STOP_ENV))
        os.kill(os.getpid(), signal.SIGSTOP)


def start_command(w):
    if w["kind"] == "memload":
        return "start memload %d %s %g" % (w["size_mib"], w["wr_text"], w["interval"])
    if w["kind"] == "mysqlslap":
        return "start mysqlslap %d %d %d %s" % (w["concurrency"], w["iterations"], w["queries"], w["engine"])
    return "start idle"


def started_pattern(w):
    return {"memload": r"memload: filled", "mysqlslap": r"samepage-guest: started mysqlslap",
            "idle": r"samepage-guest: started idle"}[w["kind"]]


class Experiment:
    def __init__(self, sc, outdir, quiet=False):
        self.sc = sc
        self.out = outdir
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet
        self.lv = host.Libvirt(self.log)
        self.record = None
        self.sampler_rec = None
        self.ksm_taken = False
        self.saved_knobs = None
        self.lock = None
        self.sampler = None
        self.events = open(os.path.join(outdir, "events.log"), "a")
        self.t_start = time.time()

    # ---- logging --------------------------------------------------------
    def log(self, msg):
        stamp = time.strftime("%H:%M:%S")
        self.events.write("%s %s\n" % (stamp, msg))
        self.events.flush()
        if not self.quiet:
            if self.tty:
                sys.stderr.write("\r\033[K")
            sys.stderr.write("experiment: %s\n" % msg)

    def progress(self, text):
        if self.tty:
            sys.stderr.write("\r\033[K" + text[:150])
            sys.stderr.flush()

    # ---- signals and cleanup ---------------------------------------------
    def _signal(self, signum, _frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    def __enter__(self):
        signal.signal(signal.SIGINT, self._signal)
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGHUP, self._signal)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return False

    def cleanup(self):
        self.stop_sampler()
        good = True
        try:
            self.lv.stop()
        except Exception as e:  # keep going: knobs must still be restored
            self.log("cleanup: libvirt: %s" % e)
            good = False
        if self.ksm_taken:
            r = owner.ksm_sample("--release=%d" % os.getpid())
            for line in (r.stderr or "").splitlines():
                self.log(line)
            if r.returncode != 0:
                self.log("cleanup: KSM knobs not restored (the record stays for experiment --cleanup)")
                good = False
            else:
                self.log("KSM knobs restored")
                if self.record:
                    self.record.drop("ksm", "taken")
            self.ksm_taken = False
        if self.record and good and not self.lv.guests:
            self.record.remove()
        self.record = None
        if self.lock:
            self.lock.close()
            self.lock = None
        self.events.close() if not self.events.closed else None

    # ---- the experiment ---------------------------------------------------
    def run(self):
        sc = self.sc
        self.prepare()
        results = []
        for r in run_list(sc):
            results.append(self.one_run(r))
        stop_at("runs-done", self.log)
        return results

    def prepare(self):
        """The KSM lock, the knobs as found (restored at the end), libvirt."""
        if not host.ksm_available():
            raise RuntimeError("KSM is not writable here (%s/run): root and a kernel with KSM are needed" % host.KSM)
        busy = owner.ksm_owner()
        if busy:
            raise RuntimeError("KSM is in use by %s; not starting" % busy)
        self.log("waiting for the KSM lock (other KSM experiments or tests of this project)")
        if os.environ.get("SAMEPAGE_KSM_LOCKED") != "1":  # else the caller holds it
            self.lock = host.ksm_lock()
        # what a killed runner left goes first (say so), then this run's record
        owner.cleanup(self.log)
        self.record = owner.Record()
        self.lv.record = self.record
        self.take_ksm()
        self.saved_knobs = host.ksm_knobs()
        with open(os.path.join(self.out, "ksm-before.json"), "w") as f:
            json.dump(self.saved_knobs, f, indent=1)
        stop_at("ksm-taken", self.log)
        self.lv.start()

    def take_ksm(self):
        """This process becomes KSM's owner (ksm-sample --take): every knob
        is on disk before the first write; a dead owner's knobs are put back
        first; a live owner refuses."""
        r = owner.ksm_sample("--take=%d" % os.getpid())
        for line in (r.stderr or "").splitlines():
            self.log(line)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip().splitlines()[-1].replace("ksm-sample: ", "", 1)
                               if r.stderr.strip() else "ksm-sample --take failed")
        self.ksm_taken = True
        self.record.add("ksm", "taken")

    def guest_args(self, i, w):
        sc = self.sc
        a = ["--mem=%d" % sc["memory_mib"], "--vcpus=%d" % sc["vcpus"], "--accel=%s" % sc["accel"]]
        if sc["image"] == "xml":
            return a + ["--xml=" + sc["xml"]] + (["--disk=" + sc["disk"]] if sc["disk"] else [])
        a.append("--ctl")
        if sc["image"] == "tiny":
            a += ["--kernel=" + os.path.join(host.BUILD, "guest", "vmlinuz"),
                  "--initrd=" + os.path.join(host.BUILD, "guest", "initrd.img"),
                  "--cmdline=quiet no_timer_check sp_ctl=1 ml_seed=%d" % (i + 1)]
        elif sc["image"] == "debian":
            d = os.path.join(host.BUILD, "guest-debian")
            a += ["--kernel=" + os.path.join(d, "vmlinuz"), "--initrd=" + os.path.join(d, "initrd.img"),
                  "--disk=" + os.path.join(d, "disk.qcow2"),
                  "--cmdline=root=/dev/vda rw quiet no_timer_check sp_ctl=1 systemd.show_status=0"]
        return a

    def one_run(self, r):
        sc = self.sc
        rdir = os.path.join(self.out, "runs", safe(r["name"]))
        shutil.rmtree(rdir, ignore_errors=True)
        os.makedirs(os.path.join(rdir, "dumps"))
        os.makedirs(os.path.join(rdir, "console"))
        meta = {"run": r["name"], "sharing": r["sharing"], "baseline_of": r.get("baseline_of"),
                "workloads": [w["text"] for w in r["workloads"]], "guests": [],
                "memory_mib": sc["memory_mib"], "vcpus": sc["vcpus"], "image": sc["image"],
                "interval": sc["interval"], "duration": sc["duration"], "dump_times": sc["dumps"],
                "dump_format": sc["dump_format"], "dumps": [], "policy": [], "failed": None}
        # KSM off and unmerged while the guests boot; the scenario's knobs
        # (with run=0) set already so that t = 0 only switches it on
        knobs = dict(sc["ksm"])
        want_run = knobs.pop("run", "1")
        host.ksm_write("run", 2, self.log)
        host.ksm_apply(dict(knobs, run=0), self.log)
        meta["ksm"] = host.ksm_knobs()
        meta["ksm"]["run"] = want_run if r["sharing"] and not sc["ksm_policy"] else "0"
        names = ["sp-%s-%s-%d" % (safe(sc["name"]), safe(r["name"]), i + 1) for i in range(sc["guests"])]
        self.log("run %s: booting %d guests (%s, %d MiB, %d vCPU)" %
                 (r["name"], len(names), sc["image"], sc["memory_mib"], sc["vcpus"]))
        t_boot = time.time()
        try:
            for i, n in enumerate(names):
                log = self.lv.guest(n, self.guest_args(i, r["workloads"][i % len(r["workloads"])]))
                meta["guests"].append({"name": n, "log": log,
                                       "workload": r["workloads"][i % len(r["workloads"])]["text"]})
            stop_at("booting", self.log)
            ready = sc["ready_pattern"] or ("samepage-guest: ready" if sc["image"] != "xml" else None)
            if ready:
                self.wait_guests(names, ready, sc["boot_timeout"], "boot")
            meta["boot_seconds"] = round(time.time() - t_boot, 1)
            self.log("run %s: all guests ready after %.0f s" % (r["name"], meta["boot_seconds"]))
            self.wait_idle(names)
            for g in meta["guests"]:
                g["pid"] = self.lv.pid(g["name"])
            self.sample_and_load(r, rdir, names, meta)
        except (GuestError, RuntimeError, OSError) as e:
            meta["failed"] = str(e)  # the report shows the run as failed, never as measured
            raise
        finally:
            for g in meta["guests"]:
                try:
                    shutil.copy(g["log"], os.path.join(rdir, "console", g["name"] + ".log"))
                except OSError:
                    pass
            self.stop_sampler()
            for n in names:
                self.lv.destroy(n)
            stop_at("unmerge", self.log)
            host.ksm_write("run", 2, self.log)
            meta["ksm_policy"] = self.sc["ksm_policy"]
            with open(os.path.join(rdir, "meta.json"), "w") as f:
                json.dump(meta, f, indent=1)
        return rdir

    def wait_guests(self, names, pattern, timeout, what):
        deadline = time.time() + timeout
        for n in names:
            log = self.lv.logfile(n)
            if not host.wait_text(log, pattern, deadline, alive=lambda n=n: self.lv.running(n)):
                tail = ""
                try:
                    with open(log, errors="replace") as f:
                        tail = "".join(f.readlines()[-15:])
                except OSError:
                    pass
                state = "is not running any more" if not self.lv.running(n) else "timed out"
                raise GuestError("guest %s failed at %s (%s; waiting for '%s'); console log %s:\n%s" %
                                 (n, what, state, pattern, log, tail))

    def wait_idle(self, names):
        """Until every guest's QEMU uses less than idle-cpu % of a core over 3 s."""
        deadline = time.time() + self.sc["boot_timeout"]
        pids = {n: self.lv.pid(n) for n in names}
        while True:
            a = {n: host.proc_cpu_seconds(p) or 0 for n, p in pids.items()}
            time.sleep(3)
            busy = {n: ((host.proc_cpu_seconds(p) or 0) - a[n]) / 3 * 100 for n, p in pids.items()}
            worst = max(busy.values())
            self.progress("waiting until the guests are idle: busiest %.0f %% of a core" % worst)
            if worst < self.sc["idle_cpu_pct"]:
                self.log("guests idle (busiest %.0f %% of a core)" % worst)
                return
            if time.time() > deadline:
                self.log("guests still busy after the boot timeout (busiest %.0f %%); going on" % worst)
                return

    def stop_sampler(self):
        p = self.sampler
        if p is None:
            return
        self.sampler = None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.record:
            self.record.drop("process", self.sampler_rec)

    def sample_and_load(self, r, rdir, names, meta):
        sc = self.sc
        hostcsv = os.path.join(rdir, "host.csv")
        errf = open(os.path.join(rdir, "ksm-sample.err"), "w")
        self.sampler = subprocess.Popen(
            [host.program("ksm-sample"), "-i", "%g" % sc["interval"], "-o", hostcsv,
             "-V", os.path.join(rdir, "vms.csv"), "--settle", "-c", "qemu:///system"],
            stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
        errf.close()
        self.sampler_rec = self.record.add_pid("process", "ksm-sample", self.sampler.pid)
        self.log("ksm-sample started (pid %d)" % self.sampler.pid)
        # t = 0: the first sample is written before the load starts
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(hostcsv) and sum(1 for _ in open(hostcsv)) >= 2:
                break
            if self.sampler.poll() is not None:
                raise RuntimeError("ksm-sample exited: %s" % open(os.path.join(rdir, "ksm-sample.err")).read())
            time.sleep(0.05)
        t0 = time.time()
        meta["t0"] = t0
        if r["sharing"] and not sc["ksm_policy"]:
            host.ksm_write("run", meta["ksm"]["run"], self.log)
        starters = []
        for i, n in enumerate(names if sc["image"] != "xml" else []):
            w = r["workloads"][i % len(r["workloads"])]
            starters.append(subprocess.Popen([host.script("libvirt-env"), "ctl", n, "--text=" + start_command(w)]))
        for p in starters:
            if p.wait() != 0:
                raise RuntimeError("could not send the start command to a guest")
        self.log("run %s: load started (%s)" % (r["name"], "; ".join(meta["workloads"])))
        stop_at("sampling", self.log)
        pending = list(sc["dumps"])
        started = set()
        while True:
            el = time.time() - t0
            if pending and el >= pending[0]:
                meta["dumps"].append(self.dump_round(rdir, names, meta, len(meta["dumps"]) + 1, el))
                pending.pop(0)
                continue
            if el >= sc["duration"]:
                break
            for i, n in enumerate(names):
                if not self.lv.running(n):
                    raise GuestError("guest %s stopped during the run; console log %s:\n%s" %
                                     (n, self.lv.logfile(n), "".join(open(self.lv.logfile(n), errors="replace").readlines()[-15:])))
                if sc["image"] == "xml":
                    started.add(n)
                if n not in started:
                    w = r["workloads"][i % len(r["workloads"])]
                    with open(self.lv.logfile(n), errors="replace") as f:
                        if re.search(started_pattern(w), f.read()):
                            started.add(n)
            if sc["ksm_policy"] and r["sharing"]:
                self.policy(meta, el)
            c = host.ksm_counters()
            self.progress("run %s: %3.0f/%.0f s, %d/%d guests loaded, KSM saving %.1f MiB, full scans %d" %
                          (r["name"], el, sc["duration"], len(started), len(names),
                           c.get("pages_sharing", 0) * 4096 / 2 ** 20, c.get("full_scans", 0)))
            time.sleep(min(1.0, max(0.05, (pending[0] - el) if pending else 1.0)))
        meta["loaded_guests"] = len(started)
        self.progress("")
        self.stop_sampler()
        with open(os.path.join(rdir, "ksm-sample.err")) as f:
            m = re.search(r"settled after ([0-9.]+) s.*?; 90% of the final saving after ([0-9.]+) s", f.read())
        meta["settle"] = {"settled_s": float(m.group(1)), "p90_s": float(m.group(2))} if m else None

    def dump_round(self, rdir, names, meta, k, el):
        sc = self.sc
        ext = {"elf": "elf", "kdump-zlib": "kdump"}[sc["dump_format"]]
        rnd = {"round": k, "elapsed_s": round(el, 2), "ksm": host.ksm_counters(), "guests": [],
               "foreign_merging_pages": host.foreign_merging({g["pid"] for g in meta["guests"]})}
        self.log("run %s: dump round %d at %.0f s" % (meta["run"], k, el))
        for g in meta["guests"]:
            pid = g["pid"]
            st = host.proc_ksm_stat(pid) if pid else {}
            f = os.path.join(rdir, "dumps", "%s.%d.%s" % (g["name"], k, ext))
            t = time.time()
            gi = {"name": g["name"], "ksm_stat": st, "rss_bytes": host.proc_rss_bytes(pid) if pid else 0,
                  "elapsed_s": round(t - meta["t0"], 2), "file": os.path.relpath(f, rdir)}
            self.lv.env("dump", g["name"], f, "--format=" + sc["dump_format"])
            gi["dump_seconds"] = round(time.time() - t, 2)
            rnd["guests"].append(gi)
        rnd["ksm_after"] = host.ksm_counters()
        return rnd

    def policy(self, meta, el):
        """ksmtuned's rule: KSM runs while the guests' memory plus threshold %
        of the host's exceeds the host's memory."""
        th = self.sc["ksm_policy"]["threshold_pct"]
        total = host.meminfo()["MemTotal"]
        committed = sum(host.proc_rss_bytes(g["pid"]) for g in meta["guests"] if g.get("pid"))
        want = "1" if committed + total * th / 100 > total else "0"
        if host.ksm_read("run") != want:
            host.ksm_write("run", want)
            d = {"elapsed_s": round(el, 1), "run": want, "committed_bytes": committed,
                 "threshold_bytes": int(total * th / 100), "total_bytes": total}
            meta["policy"].append(d)
            self.log("policy: run=%s at %.0f s (guests %.0f MiB + %d %% of %.0f MiB %s the host)" %
                     (want, el, committed / 2 ** 20, th, total / 2 ** 20, "exceed" if want == "1" else "fit in"))
