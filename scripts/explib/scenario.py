"""Scenario files: parse and validate, so that every mistake is reported
(FILE:LINE: what is wrong) before a guest starts.  Format: docs/experiments.md."""
import os
import re

KSM_KNOBS = {"run", "pages_to_scan", "sleep_millisecs", "max_page_sharing", "merge_across_nodes",
             "use_zero_pages", "smart_scan", "advisor_mode", "advisor_max_cpu",
             "advisor_min_pages_to_scan", "advisor_max_pages_to_scan", "advisor_target_scan_time",
             "stable_node_chains_prune_millisecs"}
IMAGES = ("tiny", "debian")
DUMP_FORMATS = ("elf", "kdump-zlib")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+/=-]*$")
# the benchmark scripts (docs/benchmarks.md), beside this package
# (SAMEPAGE_BENCH_DIR: another folder of such scripts, for the tests)
BENCH_DIR = os.environ.get("SAMEPAGE_BENCH_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


NOT_BENCHES = ("serve",)  # the network benchmarks' server helper
SERVER_RE = re.compile(r"^# samepage-bench-server: (\w+)((?: \w+)*)$", re.M)
# the isolation phase's stress loads (the studies' names): stress-ng in the
# stressed guest, or iperf3 from the host into it (network)
STRESS = {"memory": "stressor=vm workers=1 bytes=%dM", "fork": "stressor=fork workers=4",
          "cpu": "stressor=cpu workers=1", "disk": "stressor=hdd workers=1 bytes=%dM", "network": None}


def bench_names():
    try:
        return sorted(n for n in os.listdir(BENCH_DIR)
                      if not n.endswith(".sh") and n not in NOT_BENCHES and os.path.isfile(os.path.join(BENCH_DIR, n)))
    except OSError:
        return []


def bench_server(name):
    """A network benchmark's server: {"kind", "keys"} from its
    "# samepage-bench-server: KIND [KEY ...]" line, or None."""
    try:
        with open(os.path.join(BENCH_DIR, name), errors="replace") as f:
            m = SERVER_RE.search(f.read(4096))
    except OSError:
        return None
    return {"kind": m.group(1), "keys": m.group(2).split()} if m else None


class ScenarioError(Exception):
    """A mistake in a scenario file; str() is 'FILE:LINE: what'."""


def _size_mib(text):
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*([KMGT]i?B?|)?", text.strip(), re.I)
    if not m:
        raise ValueError("'%s' is not a size (e.g. 256M, 2G)" % text)
    v = float(m.group(1))
    unit = (m.group(2) or "M")[0].upper()
    v *= {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit]
    if v <= 0:
        raise ValueError("size '%s' must be positive" % text)
    if v != int(v):
        raise ValueError("size '%s' is not a whole number of MiB" % text)
    return int(v)


def _seconds(text):
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(ms|s|m|min|h|)", text.strip())
    if not m:
        raise ValueError("'%s' is not a duration (e.g. 30s, 5m, 1h)" % text)
    v = float(m.group(1)) * {"ms": 0.001, "s": 1, "": 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    if v < 0:
        raise ValueError("duration '%s' is negative" % text)
    return v


def _rate(text):
    m = re.fullmatch(r"(\d+)/(\d+)|(\d+(?:\.\d+)?)", text)
    if not m:
        raise ValueError("write rate '%s' is not a fraction or decimal (0, 1/8, 0.5, 1)" % text)
    v = int(m.group(1)) / int(m.group(2)) if m.group(1) else float(m.group(3))
    if m.group(2) and int(m.group(2)) == 0:
        raise ValueError("write rate '%s' divides by zero" % text)
    if not 0 <= v <= 1:
        raise ValueError("write rate '%s' is outside 0..1" % text)
    return v


def _kv(words):
    out = {}
    for w in words:
        if "=" not in w:
            raise ValueError("'%s' is not KEY=VALUE" % w)
        k, v = w.split("=", 1)
        if k in out:
            raise ValueError("'%s' given twice" % k)
        out[k] = v
    return out


def _int(v, what, lo=None):
    if not re.fullmatch(r"-?\d+", v):
        raise ValueError("%s '%s' is not a whole number" % (what, v))
    n = int(v)
    if lo is not None and n < lo:
        raise ValueError("%s %d is below %d" % (what, n, lo))
    return n


WORKLOAD_KEYS = {
    "memload": {"size", "wr", "interval"},
    "mysqlslap": {"concurrency", "iterations", "queries", "engine"},
    "idle": set(),
}


def parse_workload(text):
    """'memload size=64M wr=1/8' -> dict; raises ValueError."""
    words = text.split()
    if not words:
        raise ValueError("no workload given")
    kind = words[0]
    if kind not in WORKLOAD_KEYS:
        raise ValueError("unknown workload '%s' (memload, mysqlslap, idle)" % kind)
    kv = _kv(words[1:])
    extra = set(kv) - WORKLOAD_KEYS[kind]
    if extra:
        raise ValueError("%s: unknown parameter '%s' (known: %s)" %
                         (kind, sorted(extra)[0], ", ".join(sorted(WORKLOAD_KEYS[kind])) or "none"))
    w = {"kind": kind, "text": " ".join(words)}
    if kind == "memload":
        if "size" not in kv:
            raise ValueError("memload needs size=")
        w["size_mib"] = _size_mib(kv["size"])
        w["wr_text"] = kv.get("wr", "0")
        w["wr"] = _rate(w["wr_text"])
        w["interval"] = _seconds(kv.get("interval", "10"))
        if w["interval"] <= 0:
            raise ValueError("memload interval must be positive")
    elif kind == "mysqlslap":
        for k in ("concurrency", "iterations", "queries"):
            if k not in kv:
                raise ValueError("mysqlslap needs %s=" % k)
            w[k] = _int(kv[k], k, 1)
        w["engine"] = kv.get("engine", "innodb")
        if not re.fullmatch(r"[A-Za-z0-9_]+", w["engine"]):
            raise ValueError("mysqlslap engine '%s' is not a name" % w["engine"])
    return w


DEFAULTS = {"name": None, "description": "", "guests": 1, "image": "tiny", "memory_mib": 256,
            "vcpus": 1, "ksm": {}, "ksm_policy": None, "duration": 60.0, "interval": 5.0,
            "dumps": [], "dump_format": "elf", "baseline": None, "boot_timeout": 300.0,
            "idle_cpu_pct": 30.0, "disk": None, "ready_pattern": None, "accel": "tcg", "keep_dumps": False, "runs": [], "study": {},
            "benches": [], "repeats": 4, "ksm_modes": ["off", "on"], "ksm_settle": 0.0, "native": True,
            "bench_timeout": 600.0, "scale": [], "scale_memory_mib": None, "scale_ksm": ["off"],
            "scale_benches": [], "isolation": [], "isolation_benches": []}


def parse(path, check_files=True):
    """Read and validate a scenario file; returns a dict.  Raises ScenarioError."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ScenarioError("%s: %s" % (path, e.strerror))
    except UnicodeDecodeError:
        raise ScenarioError("%s: not a UTF-8 text file" % path)
    sc = dict(DEFAULTS, ksm={}, dumps=[], runs=[], study={}, benches=[], ksm_modes=["off", "on"], path=path, lines={},
              scale=[], scale_ksm=["off"], scale_benches=[], isolation=[], isolation_benches=[])
    base = os.path.dirname(os.path.abspath(path))
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, rest = line.partition(" ")
        rest = rest.strip()
        sc["_no"] = no
        try:
            _apply(sc, key, rest, base)
        except ValueError as e:
            raise ScenarioError("%s:%d: %s" % (path, no, e))
        sc["lines"].setdefault(key, no)
    _check(sc, path, check_files)
    return sc


def _apply(sc, key, rest, base):
    if key not in ("run", "study", "bench", "scale-bench", "isolation-bench") and key in sc["lines"]:
        raise ValueError("'%s' given twice (first on line %d)" % (key, sc["lines"][key]))
    if key != "description" and not rest and key not in ("baseline",):
        raise ValueError("'%s' needs a value" % key)
    if key == "name":
        if not NAME_RE.match(rest):
            raise ValueError("name '%s' may hold letters, digits and _.+-=/ only" % rest)
        sc["name"] = rest
    elif key == "description":
        sc["description"] = rest
    elif key == "guests":
        sc["guests"] = _int(rest, "guests", 1)
        if sc["guests"] > 64:
            raise ValueError("guests %d: at most 64" % sc["guests"])
    elif key == "image":
        if rest in IMAGES:
            sc["image"] = rest
        elif rest.startswith("xml:"):
            sc["image"] = "xml"
            sc["xml"] = os.path.join(base, rest[4:])
        else:
            raise ValueError("image '%s': tiny, debian or xml:FILE" % rest)
    elif key == "disk":
        sc["disk"] = os.path.join(base, rest)
    elif key == "ready-pattern":
        sc["ready_pattern"] = rest
    elif key == "memory":
        sc["memory_mib"] = _size_mib(rest)
    elif key == "vcpus":
        sc["vcpus"] = _int(rest, "vcpus", 1)
    elif key == "accel":
        if rest not in ("tcg", "kvm", "auto"):
            raise ValueError("accel '%s': tcg, kvm or auto" % rest)
        sc["accel"] = rest
    elif key == "ksm":
        kv = _kv(rest.split())
        for k, v in kv.items():
            if k not in KSM_KNOBS:
                raise ValueError("unknown KSM knob '%s'" % k)
            if k != "advisor_mode":
                _int(v, k, 0)
        if "run" in kv and kv["run"] not in ("0", "1"):
            raise ValueError("ksm run=%s: 0 or 1 (the runner unmerges by itself)" % kv["run"])
        if "max_page_sharing" in kv and int(kv["max_page_sharing"]) < 2:
            raise ValueError("max_page_sharing must be at least 2")
        sc["ksm"] = kv
    elif key == "ksm-policy":
        words = rest.split()
        if words[0] != "ksmtuned":
            raise ValueError("ksm-policy '%s': only 'ksmtuned' is known" % words[0])
        kv = _kv(words[1:])
        extra = set(kv) - {"threshold"}
        if extra:
            raise ValueError("ksm-policy: unknown parameter '%s'" % sorted(extra)[0])
        t = kv.get("threshold", "20%").rstrip("%")
        th = _int(t, "threshold", 1)
        if th > 100:
            raise ValueError("threshold %d%% is above 100%%" % th)
        sc["ksm_policy"] = {"kind": "ksmtuned", "threshold_pct": th}
    elif key == "duration":
        sc["duration"] = _seconds(rest)
        if sc["duration"] <= 0:
            raise ValueError("duration must be positive")
    elif key == "interval":
        sc["interval"] = _seconds(rest)
        if sc["interval"] < 0.1:
            raise ValueError("interval %s: at least 0.1 s" % rest)
    elif key == "dumps":
        sc["dumps"] = [_seconds(w) for w in rest.split()]
    elif key == "dump-format":
        if rest not in DUMP_FORMATS:
            raise ValueError("dump-format '%s': %s" % (rest, ", ".join(DUMP_FORMATS)))
        sc["dump_format"] = rest
    elif key == "boot-timeout":
        sc["boot_timeout"] = _seconds(rest)
    elif key == "idle-cpu":
        sc["idle_cpu_pct"] = float(_int(rest.rstrip("%"), "idle-cpu", 1))
    elif key == "keep-dumps":
        if rest not in ("yes", "no"):
            raise ValueError("keep-dumps: yes or no")
        sc["keep_dumps"] = rest == "yes"
    elif key == "baseline":
        sc["baseline"] = rest or None
        if rest == "no":
            sc["baseline"] = None
    elif key == "run":
        name, _, wl = rest.partition(" ")
        if not NAME_RE.match(name):
            raise ValueError("run name '%s' may hold letters, digits and _.+-=/ only" % name)
        if any(r["name"] == name for r in sc["runs"]):
            raise ValueError("run '%s' given twice" % name)
        parts = [p.strip() for p in wl.split("|")]
        sc["runs"].append({"name": name, "line": sc["_no"], "workloads": [parse_workload(p) for p in parts]})
    elif key in BENCH_KEYS:
        _apply_bench(sc, key, rest)
    elif key == "study":
        # study NAME=VALUE: the study's own value beside a scaled one (report only)
        sc["study"].update(_kv(rest.split()))
    else:
        raise ValueError("unknown setting '%s'" % key)


BENCH_KEYS = ("bench", "repeats", "ksm-modes", "ksm-settle", "native", "bench-timeout", "scale", "scale-memory",
              "scale-ksm", "scale-bench", "isolation", "isolation-bench")


def _bench(rest, no, kind="bench"):
    """'NAME KEY=VALUE ...' -> the benchmark's dict."""
    words = rest.split()
    if words[0] not in bench_names():
        raise ValueError("unknown benchmark '%s' (%s)" % (words[0], ", ".join(bench_names())))
    args = _kv(words[1:])
    srv = bench_server(words[0])
    if srv and "target" in args:
        raise ValueError("%s %s: target= is the runner's (the guest's forwarded port)" % (kind, words[0]))
    for k, v in args.items():
        if not re.fullmatch(r"[a-z_]+", k) or not re.fullmatch(r"[A-Za-z0-9_.]+", v):
            raise ValueError("%s %s: argument '%s=%s' may hold letters, digits, '_' and '.' only" %
                             (kind, words[0], k, v))
    b = {"name": words[0], "args": ["%s=%s" % kv for kv in args.items()], "label": " ".join(words), "line": no}
    if srv:
        b["server"] = {"kind": srv["kind"], "args": ["%s=%s" % (k, args[k]) for k in srv["keys"] if k in args]}
    return b


def _apply_bench(sc, key, rest):
    """The settings of a benchmark scenario (docs/benchmarks.md)."""
    if key in ("bench", "scale-bench", "isolation-bench"):
        b = _bench(rest, sc["_no"], key)
        lst = sc[{"bench": "benches", "scale-bench": "scale_benches", "isolation-bench": "isolation_benches"}[key]]
        if any(x["label"] == b["label"] for x in lst):
            raise ValueError("%s '%s' given twice" % (key, b["label"]))
        lst.append(b)
    elif key == "scale":
        ns = [_int(w, "scale", 1) for w in rest.split()]
        if sorted(set(ns)) != ns:
            raise ValueError("scale '%s': guest counts must be increasing" % rest)
        if ns[-1] > 64:
            raise ValueError("scale %d: at most 64 guests" % ns[-1])
        sc["scale"] = ns
    elif key == "scale-memory":
        sc["scale_memory_mib"] = _size_mib(rest)
    elif key == "scale-ksm":
        modes = rest.split()
        if any(m not in ("off", "on") for m in modes) or len(set(modes)) != len(modes):
            raise ValueError("scale-ksm '%s': off, on or both, each once" % rest)
        sc["scale_ksm"] = modes
    elif key == "isolation":
        st = rest.split()
        bad = [x for x in st if x not in STRESS]
        if bad or len(set(st)) != len(st):
            raise ValueError("isolation '%s': stress loads %s, each once" % (rest, ", ".join(STRESS)))
        sc["isolation"] = st
    elif key == "repeats":
        sc["repeats"] = _int(rest, "repeats", 2)
    elif key == "ksm-modes":
        modes = rest.split()
        if any(m not in ("off", "on") for m in modes) or len(set(modes)) != len(modes):
            raise ValueError("ksm-modes '%s': off, on or both, each once" % rest)
        sc["ksm_modes"] = modes
    elif key == "ksm-settle":
        sc["ksm_settle"] = _seconds(rest)
    elif key == "native":
        if rest not in ("yes", "no", "suite"):
            raise ValueError("native: yes, no or suite")
        sc["native"] = {"yes": True, "no": False, "suite": "suite"}[rest]
    elif key == "bench-timeout":
        sc["bench_timeout"] = _seconds(rest)
        if sc["bench_timeout"] <= 0:
            raise ValueError("bench-timeout must be positive")


def _check_bench(sc, err):
    if sc["runs"] or sc["dumps"]:
        err("run" if sc["runs"] else "dumps", "a benchmark scenario has no 'run' or 'dumps' lines")
    if sc["image"] != "debian":
        err("image", "benchmarks need 'image debian'")
    if sc["baseline"] or sc["ksm_policy"]:
        err("baseline" if sc["baseline"] else "ksm-policy", "a benchmark scenario has its own KSM off/on rows "
            "(ksm-modes); no baseline or ksm-policy")
    if sc["scale"]:
        total = sc["scale_memory_mib"] or sc["memory_mib"] * sc["scale"][-1]
        sc["scale_memory_mib"] = total
        if total // sc["scale"][-1] < 256:
            err("scale-memory" if "scale-memory" in sc["lines"] else "scale",
                "%d MiB split between %d guests is %d MiB each; a Debian guest needs 256 MiB" %
                (total, sc["scale"][-1], total // sc["scale"][-1]))
    else:
        for k in ("scale-memory", "scale-ksm", "scale-bench"):
            if k in sc["lines"]:
                err(k, "'%s' without a 'scale' line" % k)
    if not sc["isolation"] and "isolation-bench" in sc["lines"]:
        err("isolation-bench", "'isolation-bench' without an 'isolation' line")
    if sc["isolation"] and sc["guests"] < 2:
        err("isolation", "the isolation phase needs 2 guests (one stressed, one measured): 'guests 2' or more")


def _check(sc, path, check_files):
    def err(key, msg):
        raise ScenarioError("%s:%d: %s" % (path, sc["lines"].get(key, 0), msg))
    if not sc["name"]:
        raise ScenarioError("%s: no 'name' line" % path)
    if sc["benches"]:
        return _check_bench(sc, err)
    if not sc["runs"]:
        raise ScenarioError("%s: no 'run' line (at least one run is needed)" % path)
    if len(sc["dumps"]) < 2:
        err("dumps", "at least two dump times are needed (page stability is measured between them)")
    if sorted(sc["dumps"]) != sc["dumps"] or len(set(sc["dumps"])) != len(sc["dumps"]):
        err("dumps", "dump times must be increasing")
    if sc["dumps"][-1] > sc["duration"]:
        err("dumps", "dump time %gs is after the end of the run (duration %gs)" %
            (sc["dumps"][-1], sc["duration"]))
    if sc["interval"] > sc["duration"]:
        err("interval", "the sampling interval is longer than the run")
    for r in sc["runs"]:
        for w in r["workloads"]:
            if w["kind"] == "memload" and w["size_mib"] >= sc["memory_mib"]:
                raise ScenarioError("%s:%d: run %s: memload size %d MiB does not fit in %d MiB of guest RAM" %
                                    (path, r["line"], r["name"], w["size_mib"], sc["memory_mib"]))
            if w["kind"] == "mysqlslap" and sc["image"] != "debian":
                raise ScenarioError("%s:%d: run %s: mysqlslap needs 'image debian'" %
                                    (path, r["line"], r["name"]))
    if sc["baseline"] and not any(r["name"] == sc["baseline"] for r in sc["runs"]):
        err("baseline", "baseline names run '%s', which is not defined" % sc["baseline"])
    if sc["ksm_policy"] and sc["ksm"].get("run") == "0":
        err("ksm-policy", "a KSM policy starts KSM by itself; leave run= out of 'ksm'")
    if check_files and sc["image"] == "xml" and not os.path.isfile(sc["xml"]):
        err("image", "image file '%s' does not exist" % sc["xml"])
    if check_files and sc.get("disk") and not os.path.isfile(sc["disk"]):
        err("disk", "disk image '%s' does not exist" % sc["disk"])
    if sc["image"] == "xml":
        for r in sc["runs"]:
            if any(w["kind"] != "idle" for w in r["workloads"]):
                raise ScenarioError("%s:%d: run %s: a guest from your own XML runs its own load; the workload "
                                    "must be 'idle'" % (path, r["line"], r["name"]))
