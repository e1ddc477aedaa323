"""Host side of an experiment: where things are, KSM knobs, libvirt guests,
processes.  Everything that changes the host is recorded so it can be undone."""
import fcntl
import os
import re
import subprocess
import time

KSM = os.environ.get("SAMEPAGE_KSM_DIR", "/sys/kernel/mm/ksm")
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def path(name):
    """A folder from scripts/lib/paths.sh, the one place that knows the layout
    (source tree or installed): SP_EXEC, SP_BIN, SP_WORK, SP_DATA."""
    out = subprocess.run(["sh", "-c", r'SP_LIB=$1; . "$SP_LIB/paths.sh" && eval "printf \"%s\n\" \"\$$2\""',
                          "sh", os.path.join(HERE, "lib"), name], capture_output=True, text=True, check=True)
    return out.stdout.strip()


SCRIPTS = path("SP_EXEC")
BIN = path("SP_BIN")
BUILD = path("SP_WORK")


def prog(name, fallback):
    """Program or script NAME where paths.sh's sp_prog finds it (scripts for
    users are in SP_BIN when installed, helpers in SP_EXEC); FALLBACK/NAME
    when it is not there, so running it fails with that path."""
    out = subprocess.run(["sh", "-c", 'SP_LIB=$1; . "$SP_LIB/paths.sh" && sp_prog "$2"',
                          "sh", os.path.join(HERE, "lib"), name], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else os.path.join(fallback, name)


def script(name):
    return prog(name, SCRIPTS)


def program(name):
    return prog(name, BIN)


# ---- KSM -------------------------------------------------------------------

def ksm_available():
    return os.access(os.path.join(KSM, "run"), os.W_OK)


def ksm_read(name):
    try:
        with open(os.path.join(KSM, name)) as f:
            v = f.read().strip()
    except OSError:
        return None
    m = re.search(r"\[(.*)\]", v)
    return m.group(1) if m else v


def ksm_knobs():
    """Every writable KSM file (the knobs) and its value."""
    out = {}
    try:
        names = sorted(os.listdir(KSM))
    except OSError:
        return out
    for n in names:
        p = os.path.join(KSM, n)
        if os.path.isfile(p) and os.stat(p).st_mode & 0o200:
            v = ksm_read(n)
            if v is not None:
                out[n] = v
    return out


def ksm_counters():
    out = {}
    for n in ("pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
              "ksm_zero_pages", "general_profit", "pages_scanned", "stable_node_chains",
              "stable_node_dups"):
        v = ksm_read(n)
        if v is not None and re.fullmatch(r"-?\d+", v):
            out[n] = int(v)
    return out


def ksm_write(name, value, log=None):
    with open(os.path.join(KSM, name), "w") as f:
        f.write(str(value))
    if log:
        log("ksm: %s=%s" % (name, value))


def ksm_apply(settings, log=None):
    """Set knobs the way the kernel accepts them: unmerge before
    max_page_sharing/merge_across_nodes, the scan-time advisor off before
    pages_to_scan, run last."""
    cur = ksm_knobs()
    want = {k: str(v) for k, v in settings.items() if k in cur and cur[k] != str(v)}
    if not want:
        return
    if ("max_page_sharing" in want or "merge_across_nodes" in want) and cur.get("run") != "2":
        ksm_write("run", 2, log)
    if want.get("advisor_mode") == "none":
        ksm_write("advisor_mode", "none", log)
    for k in ("max_page_sharing", "merge_across_nodes"):
        if k in want:
            ksm_write(k, want[k], log)
    for k, v in want.items():
        if k not in ("run", "advisor_mode", "max_page_sharing", "merge_across_nodes"):
            ksm_write(k, v, log)
    if "advisor_mode" in want and want["advisor_mode"] != "none":
        ksm_write("advisor_mode", want["advisor_mode"], log)
    ksm_write("run", want.get("run", cur.get("run", "0")), log)


def ksm_lock():
    """The lock the project's tests take around KSM changes (one KSM per host)."""
    f = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "samepage-ksm.lock"), "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def proc_ksm_stat(pid):
    out = {}
    try:
        with open("/proc/%d/ksm_stat" % pid) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if re.fullmatch(r"-?\d+", v.strip()):
                    out[k] = int(v)
    except OSError:
        pass
    return out


def foreign_merging(pids):
    """Pages merged by KSM in processes other than pids (they share KSM's
    host-wide counters with the experiment)."""
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in pids:
            n += proc_ksm_stat(int(d)).get("ksm_merging_pages", 0)
    return n


def proc_rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def proc_cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out


# ---- libvirt through scripts/libvirt-env -------------------------------------

class Libvirt:
    """libvirt-env for one owner (this process): daemons started only when
    not running, guests destroyed with their files, daemons stopped only by
    the last user that needed them."""

    def __init__(self, log):
        self.log = log
        self.owner = str(os.getpid())
        self.started = False
        self.guests = []
        self.record = None    # owner.Record: guests and started daemons are noted there
        self.daemons = []     # record entries of the daemons this start started

    def env(self, *args, check=True, capture=True, timeout=None):
        cmd = [script("libvirt-env")] + list(args) + ["--owner=" + self.owner]
        if args[0] in ("wait", "pid", "log", "ctl", "dump", "uri"):
            cmd = cmd[:-1]
        r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError((r.stderr or "").strip() or "libvirt-env %s failed" % args[0])
        return (r.stdout or "").strip()

    def start(self):
        up = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "version"], capture_output=True).returncode == 0
        self.env("start")
        self.started = True
        if not up and self.record:
            state = os.environ.get("SAMEPAGE_LIBVIRT_STATE", "/tmp/samepage-libvirt")
            for d in ("virtlogd", "libvirtd"):
                try:
                    with open(os.path.join(state, "started", d + ".pid")) as f:
                        self.daemons.append(self.record.add_pid("daemon", d, int(f.read().strip())))
                except (OSError, ValueError):
                    pass
        self.log("libvirt: %s" % ("libvirtd was running already" if up else
                                  "libvirtd started (it is stopped again when its last user is done)"))

    def guest(self, name, args):
        self.guests.append(name)
        if self.record:
            self.record.add("guest", name)
        return self.env("guest", name, *args)

    def destroy(self, name):
        self.env("destroy", name, check=False)
        if name in self.guests:
            self.guests.remove(name)
            if self.record:
                self.record.drop("guest", name)

    def stop(self):
        if not self.started:
            return
        for g in list(self.guests):
            self.destroy(g)
        self.env("stop", check=False)
        self.started = False
        for v in self.daemons:  # stopped by libvirt-env, or left to its last user
            if self.record:
                self.record.drop("daemon", v)
        self.daemons = []

    def pid(self, name):
        out = self.env("pid", name, check=False)
        return int(out) if out.isdigit() else None

    def running(self, name):
        r = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "domstate", name],
                           capture_output=True, text=True)
        return r.returncode == 0 and "running" in r.stdout

    def logfile(self, name):
        return self.env("log", name)


def wait_text(path_, pattern, deadline, alive=None):
    """Until the file holds pattern (a regex); False on timeout or when alive() fails."""
    rx = re.compile(pattern)
    while time.time() < deadline:
        try:
            with open(path_, errors="replace") as f:
                if rx.search(f.read()):
                    return True
        except OSError:
            pass
        if alive is not None and not alive():
            return False
        time.sleep(0.5)
    return False


def tool_versions():
    out = {}
    for name, cmd in (("kernel", ["uname", "-r"]), ("qemu", ["qemu-system-x86_64", "--version"]),
                      ("libvirt", ["libvirtd", "--version"]), ("gnuplot", ["gnuplot", "--version"]),
                      ("dedup-analyze", [program("dedup-analyze"), "--version"]),
                      ("ksm-sample", [program("ksm-sample"), "--version"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            out[name] = (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            out[name] = "not available"
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'PRETTY_NAME="([^"]*)"', f.read())
            out["os"] = m.group(1) if m else "?"
    except OSError:
        out["os"] = "?"
    out["cpus"] = str(os.cpu_count())
    out["memory"] = "%.1f GiB" % (meminfo().get("MemTotal", 0) / 2 ** 30)
    return out
