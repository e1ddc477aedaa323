"""The runner's record of what it changed on the host, for the case it cannot
undo it itself (SIGKILL, the OOM killer, a lost session): the guests it
created, the daemons it started, the processes it left in their own session,
and whether it owns KSM.  The format is the one of ksm-sample's owner record
(docs/ksm-sample.md, "One owner of KSM"): `experiment.PID.state` beside
`ksm.state`, key=value lines, written to a temporary file, synced and renamed.
`cleanup()` is `experiment --cleanup`: it undoes what a dead runner left."""
import fcntl
import os
import signal
import subprocess
import time

from . import host

FORMAT = 1


def state_dir():
    return os.environ.get("SAMEPAGE_STATE_DIR") or "/run/samepage"


def proc_start(pid):
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None when the
    process is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    if not fields or fields[0] == "Z":
        return None
    return fields[19]


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def alive(pid, start):
    """PID runs and is the process that had this start time."""
    return start is not None and proc_start(pid) == str(start)


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(t % 1 * 1000)


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Record:
    """experiment.PID.state of this process, rewritten on every change."""

    def __init__(self):
        self.dir = state_dir()
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        self.path = os.path.join(self.dir, "experiment.%d.state" % os.getpid())
        self.head = {"format": FORMAT, "owner_pid": os.getpid(), "owner_start": proc_start(os.getpid()),
                     "owner_comm": "experiment", "boot_id": boot_id(), "created": now_iso(),
                     "libvirt_state": os.environ.get("SAMEPAGE_LIBVIRT_STATE", "/tmp/samepage-libvirt")}
        self.items = []  # ("guest", NAME) | ("daemon", "NAME PID START") | ("process", ...) | ("ksm", "taken")
        self.save()

    def save(self):
        lines = ["# samepage: what the experiment runner changed, to undo if it dies "
                 "(scripts/experiment --cleanup)"]
        lines += ["%s=%s" % kv for kv in self.head.items()]
        lines += ["%s=%s" % kv for kv in self.items]
        write_atomic(self.path, "\n".join(lines) + "\n")

    def add(self, key, value):
        self.items.append((key, value))
        self.save()

    def drop(self, key, value):
        if (key, value) in self.items:
            self.items.remove((key, value))
            self.save()

    def add_pid(self, key, name, pid):
        """A daemon or process by PID and start time (so a reused PID is never hit)."""
        v = "%s %d %s" % (name, pid, proc_start(pid))
        self.add(key, v)
        return v

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def read(path):
    """A record: its head (dict) and items (list of (key, value))."""
    head, items = {}, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            if k in ("guest", "daemon", "process", "ksm"):
                items.append((k, v))
            else:
                head[k] = v
    return head, items


def records():
    d = state_dir()
    try:
        names = sorted(n for n in os.listdir(d) if n.startswith("experiment.") and n.endswith(".state"))
    except FileNotFoundError:
        return []
    return [os.path.join(d, n) for n in names]


def stop_pid(name, pid, start, say):
    """SIGTERM, then SIGKILL after 10 s, a process that still is the one recorded."""
    if not alive(pid, start):
        say("%s (PID %d) is gone already" % (name, pid))
        return True
    for sig, tries, what in ((signal.SIGTERM, 100, "stopped"), (signal.SIGKILL, 50, "killed (SIGKILL after 10 s)")):
        os.kill(pid, sig)
        for _ in range(tries):
            if not alive(pid, start):
                say("%s (PID %d) %s" % (name, pid, what))
                return True
            time.sleep(0.1)
    say("%s (PID %d) could not be stopped" % (name, pid))
    return False


def libvirt_users(lvstate, dead):
    """The live users libvirt-env knows of, other than dead."""
    out = []
    try:
        for u in os.listdir(os.path.join(lvstate, "users")):
            if u.isdigit() and int(u) != dead and proc_start(int(u)) is not None:
                out.append(int(u))
    except FileNotFoundError:
        pass
    return sorted(out)


def undo(path, say):
    """Undo what the dead runner of record path left; True when all of it
    went.  Guests first (by name), then its processes, then its daemons
    (by PID and start time; a libvirtd that other live users of libvirt-env
    need is left to the last of them)."""
    head, items = read(path)
    pid = int(head.get("owner_pid", "0"))
    lvstate = head.get("libvirt_state", "/tmp/samepage-libvirt")
    good = True
    for k, v in items:
        if k == "guest":
            r = subprocess.run([host.script("libvirt-env"), "destroy", v], capture_output=True, text=True,
                               env=dict(os.environ, SAMEPAGE_LIBVIRT_STATE=lvstate))
            up = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "domstate", v],
                                capture_output=True).returncode == 0
            if r.returncode != 0 or up:
                say("guest %s: could not be removed: %s" % (v, (r.stderr or "still defined").strip()))
                good = False
            else:
                say("guest %s destroyed and removed" % v)
    for k, v in items:
        if k == "process":
            name, p, start = v.split()
            good &= stop_pid(name, int(p), start, say)
    try:
        os.unlink(os.path.join(lvstate, "users", str(pid)))
    except FileNotFoundError:
        pass
    for k, v in items:
        if k != "daemon":
            continue
        name, p, start = v.split()
        users = libvirt_users(lvstate, pid)
        if users and alive(int(p), start):
            say("%s (PID %s) is used by PID %s now: left running (libvirt-env stops it when its last user is "
                "done)" % (name, p, ", ".join(map(str, users))))
            continue
        ok = stop_pid(name, int(p), start, say)
        good &= ok
        pidfile = os.path.join(lvstate, "started", name + ".pid")
        try:
            with open(pidfile) as f:
                if ok and f.read().strip() == p:
                    os.unlink(pidfile)
        except FileNotFoundError:
            pass
    return good


def cleanup(say, only_dead=True):
    """Every record whose runner is gone: undo it and remove it.  Returns
    (records undone, records of live runners, failures)."""
    d = state_dir()
    done, live, bad = 0, [], 0
    if not os.path.isdir(d):
        return done, live, bad
    lock = open(os.path.join(d, "experiment.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        for path in records():
            try:
                head, _ = read(path)
            except OSError:
                continue
            pid = int(head.get("owner_pid", "0"))
            if head.get("boot_id") != boot_id():
                say("%s is from an earlier boot (its guests and daemons went with it); removed" % path)
                os.unlink(path)
                continue
            if alive(pid, head.get("owner_start")):
                live.append(pid)
                continue
            say("%s: experiment PID %d (since %s) is gone: undoing what it left" % (path, pid, head.get("created")))
            if undo(path, say):
                os.unlink(path)
                done += 1
            else:
                say("%s kept: not everything could be undone (see above)" % path)
                bad += 1
    finally:
        lock.close()
    return done, live, bad


def ksm_restore(say):
    """ksm-sample --restore: put back the knobs of a KSM owner that is gone.
    Returns 0 restored or nothing to do, 1 a knob did not come back, 2 the
    owner still runs."""
    r = ksm_sample("--restore")
    for line in (r.stderr or "").splitlines():
        say(line)
    if r.returncode == 0:
        return 0
    return 2 if "not restoring while it runs" in r.stderr else 1


def ksm_sample(*args):
    """ksm-sample with args, on the KSM folder the runner uses; stderr captured."""
    extra = ["--ksm-dir=" + host.KSM] if host.KSM != "/sys/kernel/mm/ksm" else []
    return subprocess.run([host.program("ksm-sample")] + list(args) + extra, capture_output=True, text=True)


def ksm_owner():
    """The live owner of KSM as "PID (COMM, owner since TIME)" with its record,
    or None (no record, or its owner is gone)."""
    name = "ksm.state"
    if host.KSM != "/sys/kernel/mm/ksm":
        return None  # a scratch folder: ksm-sample --take decides
    path = os.path.join(state_dir(), name)
    try:
        head, _ = read(path)
    except OSError:
        return None
    pid = head.get("owner_pid", "")
    if not pid.isdigit() or head.get("boot_id") != boot_id() or not alive(int(pid), head.get("owner_start")):
        return None
    return "PID %s (%s, owner since %s) (record %s)" % (pid, head.get("owner_comm", "?"), head.get("created", "?"), path)
