#!/usr/bin/env python3
"""Master fan-in benchmark (issue 5, goal 3): glocust's master vs Locust's
Python master, side by side in one run.

For each N, each master in turn (order alternating per round) is started
pinned to core 0, the simulator (cmd/faninsim: N workers over real ZMTP
DEALER connections plus a probe) pinned to core 1. After every worker is
acked and a warm-up, the simulator measures a window: the master's CPU
(utime+stime of all its threads from /proc/<pid>/stat), every heartbeat's
reply latency, the probe's ack latency, its own CPU and the foreign load.
Then it stops reporting (heartbeats go on) and the driver checks that the
master accepted every request the simulator sent (glocust: /metrics;
Python: its printed Aggregated count) and that no worker went missing.

  bench/fanin/run.py --quick          # N=100,1000; 1 round; 15 s windows
  bench/fanin/run.py                  # N=100..5000; 3 rounds; 30 s windows
  bench/fanin/run.py --scale          # N=10,000, glocust's master only, 60 s window

Writes bench/fanin/RESULTS.md and bench/fanin/results.jsonl (--scale:
bench/fanin/RESULTS-scale.md and results-scale.jsonl). Every loop has a
deadline; every process started here is stopped by its pid.

--scale is the scale check: N simulated workers (10,000 by default) on one
glocust master, reported against its goals: no worker marked missing,
heartbeat reply p99 under 250 ms, with the master's CPU and RSS (VmRSS at
the window's end, VmHWM at the run's end). Each side holds one socket per
worker, so the soft RLIMIT_NOFILE is raised to the hard one first (Go
processes raise theirs themselves), and the run stops at once if the hard
limit is below N plus a margin.
"""
import argparse
import json
import os
import resource
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import HZ, busy_jiffies, free_port, loadavg, log, med, stop, wait_idle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
SATURATED_CPU = 90.0
SCALE_HB_P99_MS = 250.0  # --scale: the heartbeat reply goal
FD_MARGIN = 200  # sockets and files a process needs besides one per worker


# ---------------------------------------------------------------- machine load


def proc_ticks():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[int(pid)] = (comm, int(rest[16]), int(rest[11]) + int(rest[12]))
    return out


def foreign_top(seconds=2.0, n=6, exclude=()):
    a = proc_ticks()
    b0 = busy_jiffies()
    time.sleep(seconds)
    b = proc_ticks()
    busy = (busy_jiffies() - b0) / HZ / seconds
    rows = []
    for pid, (comm, nice, t) in b.items():
        if pid in exclude or pid == os.getpid() or pid not in a:
            continue
        d = (t - a[pid][2]) / HZ / seconds
        if d > 0.005:
            rows.append({"pid": pid, "comm": comm, "nice": nice, "cores": round(d, 2)})
    rows.sort(key=lambda r: -r["cores"])
    return {"busy_cores": round(busy, 2), "top": rows[:n]}


# ---------------------------------------------------------------- processes


def wait_port(port, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def build(tmp, glocust=None, sim=None):
    """Builds what was not given: glocust (the product) and faninsim."""
    env = dict(os.environ, CGO_ENABLED="0")
    if not glocust:
        glocust = os.path.join(tmp, "glocust")
        subprocess.run(["go", "build", "-o", glocust, "./cmd/glocust"], cwd=ROOT, env=env, check=True, timeout=600)
    if not sim:
        sim = os.path.join(tmp, "faninsim")
        subprocess.run(["go", "build", "-o", sim, "./fanin/cmd/faninsim"], cwd=BENCH, env=env, check=True, timeout=600)
    return glocust, sim


# ---------------------------------------------------------------- one run

AGG_RE = re.compile(r"^\s+Aggregated\s+(\d+)\s+\d+\(")
TS_RE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\]")


def log_ts(line):
    m = TS_RE.match(line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


def scan_log(path, w0, w1):
    """Counts, aggregated total, missing lines and the longest gap between
    "Waiting for workers" lines (the event loop's stall) inside the window."""
    agg, missing, errors, warnings, waits = None, 0, 0, 0, []
    warn_samples = []
    with open(path, errors="replace") as f:
        for line in f:
            m = AGG_RE.match(line)
            if m:
                agg = int(m.group(1))
                continue
            if "setting state to missing" in line:
                missing += 1
            if "/ERROR/" in line or "Traceback" in line:
                errors += 1
            if "/WARNING/" in line:
                warnings += 1
                if len(warn_samples) < 3:
                    warn_samples.append(line.strip()[:200])
            if "Waiting for workers to be ready" in line:
                t = log_ts(line)
                if t is not None and w0 - 1 <= t <= w1 + 1:
                    waits.append(t)
    gap = None
    if w0 and w1:
        pts = [w0] + waits + [w1]
        gap = round(max(b - a for a, b in zip(pts, pts[1:])), 2)
    return {"aggregated": agg, "missing_lines": missing, "error_lines": errors, "warning_lines": warnings,
            "warning_samples": warn_samples, "max_loop_gap_s": gap}


def vm_hwm_mib(pid):
    """The process's peak RSS (VmHWM) in MiB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def raise_nofile(n):
    """Raises this process's soft RLIMIT_NOFILE to its hard limit (the
    master and simulator inherit it); an error if n sockets do not fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + FD_MARGIN:
        raise SystemExit(f"run.py: {n:,} workers need about {n + FD_MARGIN:,} open files per process; the hard "
                         f"RLIMIT_NOFILE is {hard:,} (raise it, e.g. ulimit -Hn, or run fewer workers with --ns)")
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return {"soft_before": soft, "hard": hard}


def metrics(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
    except Exception as e:  # noqa: BLE001
        return {"error": str(e)}
    req, missing_now, missing_events = 0, None, None
    for line in text.splitlines():
        if line.startswith("glocust_requests_total{"):
            req += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith('glocust_workers{state="missing"}'):
            missing_now = int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith('glocust_master_events_total{event="missing"}'):
            missing_events = int(float(line.rsplit(" ", 1)[1]))
    return {"requests": req, "missing_now": missing_now, "missing_events": missing_events}


def run_one(ctx, kind, n, rnd):
    a = ctx.args
    rec = {"kind": kind, "n": n, "round": rnd, "time": time.strftime("%H:%M:%S")}
    rec["idle_before"] = wait_idle(a.run_idle_wait)
    port, web = free_port(), free_port()
    logf = os.path.join(ctx.tmp, f"{kind}-{n}-r{rnd}.log")
    if kind == "glocust":
        cmd = [ctx.glocust, "--master", "-f", os.path.join(HERE, "u.yaml"), "--master-bind-host", "127.0.0.1",
               "--master-bind-port", str(port), "--headless", "--expect-workers", "100000", "-u", "1", "-P", str(web)]
    else:
        cmd = [ctx.locust, "-f", os.path.join(HERE, "lf.py"), "--master", "--master-bind-host", "127.0.0.1",
               "--master-bind-port", str(port), "--headless", "--expect-workers", "100000", "-u", "1"]
    cmd = ["taskset", "-c", "0"] + cmd
    ctx.commands.setdefault(kind, " ".join(cmd).replace(ctx.tmp, "$BIN").replace(ROOT + "/", ""))
    master = sim = None
    out = os.path.join(ctx.tmp, f"sim-{kind}-{n}-r{rnd}.json")
    try:
        with open(logf, "w") as lf:
            master = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=ctx.tmp, start_new_session=True)
        if not wait_port(port, master, 30):
            rec["error"] = "master did not listen"
            return rec
        reg_timeout = a.reg_timeout
        simcmd = ["taskset", "-c", "1", ctx.sim, "-addr", f"127.0.0.1:{port}", "-n", str(n),
                  "-window", f"{a.window}s", "-warmup", f"{a.warmup}s", "-drain", f"{a.drain}s",
                  "-master-pid", str(master.pid), "-json", out, "-hold", "60s", "-reg-timeout", f"{reg_timeout}s"]
        ctx.commands.setdefault("sim", " ".join(simcmd).replace(ctx.tmp, "$BIN").replace(out, "out.json")
                                .replace(str(master.pid), "$MASTER_PID").replace(str(port), "$PORT"))
        sim = subprocess.Popen(simcmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
        deadline = time.monotonic() + reg_timeout + a.warmup + a.window + a.drain + 30
        while time.monotonic() < deadline and sim.poll() is None and not os.path.exists(out):
            time.sleep(0.2)
        if not os.path.exists(out):
            rec["error"] = "simulator produced no result (timeout or crash)"
            return rec
        with open(out) as f:
            rec["sim"] = json.load(f)
        # The master's count, while the workers still heartbeat.
        if kind == "glocust":
            rec["metrics"] = metrics(web)
            time.sleep(0.2)
        rec["master_hwm_mib"] = vm_hwm_mib(master.pid)
        if master.poll() is not None:
            rec["master_exit"] = master.returncode
    finally:
        stop(sim)
        stop(master)
        if sim is not None:
            try:
                err = sim.stderr.read()
                rec["sim_log"] = err[-600:]
            except Exception:  # noqa: BLE001
                pass
    s = rec["sim"]
    scan = scan_log(logf, s.get("window_start_epoch"), s.get("window_end_epoch"))
    rec["log"] = scan
    accepted = rec.get("metrics", {}).get("requests") if kind == "glocust" else scan["aggregated"]
    rec["accepted"] = accepted
    rec["accepted_ok"] = accepted is not None and accepted == s["requests_sent_total"]
    # glocust logs each missing event and counts it on /metrics: the same events, take the larger
    missing = max(scan["missing_lines"], rec.get("metrics", {}).get("missing_events") or 0)
    rec["missing"] = missing
    rec["saturated"] = bool(s.get("error")) or not s.get("reg_complete") or \
        (s.get("master_cpu_pct") or 0) >= SATURATED_CPU or not rec["accepted_ok"] or s.get("dropped_hwm", 0) > 0 or \
        s.get("hb_reply", {}).get("p99_ms", 0) > 1000
    if kind == "python":
        shutil.copy(logf, os.path.join(ctx.tmp, "last-python.log"))
    return rec


# ---------------------------------------------------------------- report

def fmt(x, d=1):
    return "–" if x is None else f"{x:.{d}f}"


def summarize(ctx):
    by = {}
    for r in ctx.runs:
        by.setdefault((r["kind"], r["n"]), []).append(r)
    rows = {}
    for (kind, n), rs in by.items():
        ok = [r for r in rs if "sim" in r and not r["sim"].get("error")]
        g = lambda f: [f(r) for r in ok]  # noqa: E731
        rows[(kind, n)] = {
            "runs": len(rs), "ok": len(ok),
            "cpu": med(g(lambda r: r["sim"]["master_cpu_pct"])),
            "cpu_min": min(g(lambda r: r["sim"]["master_cpu_pct"]), default=None),
            "cpu_max": max(g(lambda r: r["sim"]["master_cpu_pct"]), default=None),
            "ms": med(g(lambda r: r["sim"]["cpu_ms_per_worker_s"])),
            "worst1s": max(g(lambda r: r["sim"]["worst_1s_pct"]), default=None),
            "hb50": med(g(lambda r: r["sim"]["hb_reply"]["p50_ms"])),
            "hb99": med(g(lambda r: r["sim"]["hb_reply"]["p99_ms"])),
            "hbmax": max(g(lambda r: r["sim"]["hb_reply"]["max_ms"]), default=None),
            "ack50": med(g(lambda r: r["sim"]["probe_ack"]["p50_ms"])),
            "ackmax": max(g(lambda r: r["sim"]["probe_ack"]["max_ms"]), default=None),
            "rephb99": med(g(lambda r: r["sim"]["probe_report_hb"]["p99_ms"])),
            "reg": med(g(lambda r: r["sim"]["reg_seconds"])),
            "regack_max": max(g(lambda r: r["sim"]["reg_ack"]["max_ms"]), default=None),
            "rss": med(g(lambda r: r["sim"]["master_rss_mib_end"])),
            "accepted": sum(1 for r in ok if r.get("accepted_ok")),
            "missing": sum(r.get("missing", 0) for r in ok),
            "unanswered": sum(r["sim"].get("hb_unanswered", 0) for r in ok),
            "dropped": sum(r["sim"].get("dropped_hwm", 0) for r in ok),
            "gap": max(g(lambda r: r["log"]["max_loop_gap_s"] or 0), default=None),
            "foreign": med(g(lambda r: r["sim"]["foreign_cores"])),
            "mwait": med(g(lambda r: r["sim"].get("master_runq_wait_pct"))),
            "sim_cpu": max(g(lambda r: r["sim"]["sim_cpu_pct"]), default=None),
            "sched_late": max(g(lambda r: r["sim"]["sim_sched_late"]["p99_ms"]), default=None),
            "saturated": sum(1 for r in rs if r.get("saturated")),
            "errors": [r.get("error") or r.get("sim", {}).get("error") for r in rs
                       if r.get("error") or r.get("sim", {}).get("error")],
            "frame": med(g(lambda r: r["sim"]["stats_frame_bytes"])),
            "buckets": med(g(lambda r: r["sim"]["stats_total_buckets"])),
            "msgs": med(g(lambda r: r["sim"]["msgs_per_s"])),
            "mbps": med(g(lambda r: r["sim"]["mb_per_s"])),
        }
    # Paired ratios: the same round, same N.
    ratios = {}
    for n in ctx.ns:
        pr = []
        for rnd in range(ctx.args.rounds):
            gr = [r for r in ctx.runs if r["kind"] == "glocust" and r["n"] == n and r["round"] == rnd and "sim" in r]
            py = [r for r in ctx.runs if r["kind"] == "python" and r["n"] == n and r["round"] == rnd and "sim" in r]
            if gr and py and gr[0]["sim"].get("master_cpu_pct") and py[0]["sim"].get("master_cpu_pct") \
                    and not py[0]["saturated"]:
                pr.append(py[0]["sim"]["master_cpu_pct"] / gr[0]["sim"]["master_cpu_pct"])
        ratios[n] = pr
    return rows, ratios


def header(ctx, title, t_start, t_end):
    """The report's title, machine and machine state sections."""
    a = ctx.args
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    osname = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            m = re.search(r'PRETTY_NAME="([^"]+)"', f.read())
            osname = m.group(1) if m else "?"
    gov = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    lv = []
    if "python" in a.masters.split(","):
        lv = subprocess.run([ctx.locust, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    L = [f"# {title}", "",
         f"Written by `bench/fanin/run.py {' '.join(ctx.argv)}` on "
         f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))} (took {(t_end - t_start) / 60:.1f} min). "
         f"Raw per-run data: `{os.path.relpath(a.jsonl, ROOT)}`.", "",
         "## Machine", "",
         f"- {os.cpu_count()} vCPU, {model}, {mem:.1f} GiB, {osname}, kernel {platform.release()}",
         f"- {gov}" + (f"; {lv[0]} (Python master, pyzmq/libzmq from the venv)" if lv else ""),
         f"- glocust at {head} + the working tree (built by this script with CGO_ENABLED=0)", "",
         "## Machine state", ""]
    s = ctx.start_state
    L.append(f"- Idle check before the run (two consecutive 1 s windows with < 0.1 busy cores, at most "
             f"{a.start_idle_wait} s): **{'idle' if s['idle']['idle'] else 'NOT idle'}** after {s['idle']['waited_s']} s; "
             f"last windows (busy cores): {s['idle']['windows']}; load average {s['loadavg']}.")
    if s["foreign"]["top"]:
        L.append(f"- Busy before the run ({s['foreign']['busy_cores']:.2f} cores): " +
                 ", ".join(f"{p['comm']} (pid {p['pid']}) {p['cores']:.2f}" for p in s["foreign"]["top"]) + ".")
    ok = [r for r in ctx.runs if "sim" in r]
    if ok:
        fl = [r["sim"]["foreign_cores"] for r in ok]
        idle_runs = sum(1 for r in ctx.runs if r.get("idle_before", {}).get("idle"))
        L.append(f"- Foreign load during the windows (busy cores from /proc/stat minus the master and the simulator): "
                 f"median {med(fl):.2f}, max {max(fl):.2f} cores; {sum(1 for x in fl if x > 0.15)} of {len(fl)} runs "
                 f"above 0.15 cores. Idle before {idle_runs} of {len(ctx.runs)} runs (bounded wait {a.run_idle_wait} s each).")
    if ctx.end_state:
        e = ctx.end_state
        L.append(f"- After the run: {e['busy_cores']:.2f} busy cores ("
                 + (", ".join(f"{p['comm']} {p['cores']:.2f}" for p in e["top"][:5]) or "none")
                 + f"); load average {e['loadavg']}.")
    if (ok and med([r["sim"]["foreign_cores"] for r in ok]) > 0.15) or not s["idle"]["idle"]:
        L.append("- **The machine was shared and busy during this run**: absolute CPU figures are inflated and noisy "
                 "(a busy sibling core slows the master)."
                 + (" Each ratio pairs runs of the same round, minutes apart." if "python" in a.masters.split(",") else ""))
    L.append("")
    return L


def write_scale_results(ctx, t_start, t_end):
    """The --scale report: each N against the goals (no worker marked
    missing, heartbeat reply p99 under SCALE_HB_P99_MS), with the master's
    CPU and memory."""
    a = ctx.args
    rows, _ = summarize(ctx)
    L = header(ctx, "Scale: simulated workers on one glocust master (issue 11)", t_start, t_end)
    L += ["## Load", "",
          f"Each simulated worker as in `bench/fanin/RESULTS.md`: one ZMTP connection, a heartbeat every 1 s, a "
          f"{a.entries}-entry stats report (about 21 KB) every 3 s; the master idle (`--expect-workers 100000`, no "
          f"test), pinned to core 0, the simulator to core 1. Window {a.window} s after every worker is acked and "
          f"{a.warmup} s of warm-up, then {a.drain} s of heartbeats only. File limits: {ctx.nofile}.", "",
          "## Results", "",
          "| N | runs | registration s | master CPU % of a core (min–max) | CPU-ms per worker per s | worst 1 s % | "
          "VmRSS MiB window start / end | VmHWM MiB | hb reply p50 / p99 / max ms | workers marked missing | "
          "unanswered heartbeats | requests accepted | HWM drops | sim CPU % | foreign cores |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    goals = []
    for n in ctx.ns:
        r = rows.get(("glocust", n))
        runs = [x for x in ctx.runs if x["n"] == n and "sim" in x]
        if not r or not r["ok"]:
            err = (r["errors"] if r else None) or ["not run"]
            L.append(f"| {n:,} | 0 | failed: {err[0][:160]} | | | | | | | | | | | | |")
            goals.append(f"- {n:,} workers: the run failed ({err[0][:160]}) → not met.")
            continue
        rss0 = med([x["sim"]["master_rss_mib_start"] for x in runs])
        hwm = max((x.get("master_hwm_mib") or 0 for x in runs), default=None)
        L.append(f"| {n:,} | {r['ok']}/{r['runs']} | {fmt(r['reg'])} | {fmt(r['cpu'])} ({fmt(r['cpu_min'])}–{fmt(r['cpu_max'])}) | "
                 f"{fmt(r['ms'], 3)} | {fmt(r['worst1s'], 0)} | {fmt(rss0, 0)} / {fmt(r['rss'], 0)} | {fmt(hwm, 0)} | "
                 f"{fmt(r['hb50'])} / {fmt(r['hb99'])} / {fmt(r['hbmax'], 0)} | {r['missing']} | {r['unanswered']} | "
                 f"{r['accepted']}/{r['ok']} | {r['dropped']} | {fmt(r['sim_cpu'])} | {fmt(r['foreign'], 2)} |")
        held = r["missing"] == 0 and r["accepted"] == r["ok"] and r["dropped"] == 0
        fast = r["hb99"] is not None and r["hb99"] < SCALE_HB_P99_MS
        goals.append(f"- {n:,} workers: {r['missing']} marked missing, every request accepted in {r['accepted']} of "
                     f"{r['ok']} runs → {'met' if held else 'not met'}; heartbeat reply p99 **{fmt(r['hb99'])} ms** "
                     f"(goal < {SCALE_HB_P99_MS:.0f} ms) → {'met' if fast else 'not met'}; master CPU {fmt(r['cpu'])}% of "
                     f"a core, VmRSS {fmt(r['rss'], 0)} MiB at the window's end (VmHWM {fmt(hwm, 0)} MiB).")
    L += ["", "## Goals", ""] + goals + [""]
    L += ["## Commands", "", "```sh", f"bench/fanin/run.py {' '.join(ctx.argv)}".strip(), "# which runs, per N:"]
    for k in ("glocust", "sim"):
        if k in ctx.commands:
            L.append(ctx.commands[k])
    L += ["```", ""]
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    log("wrote", a.out)


def write_results(ctx, t_start, t_end):
    a = ctx.args
    rows, ratios = summarize(ctx)
    L = header(ctx, "Master fan-in: glocust vs Locust 2.47.0's Python master (issue 5, goal 3)", t_start, t_end)
    frame = next((r["frame"] for r in rows.values() if r["frame"]), None)
    buckets = next((r["buckets"] for r in rows.values() if r["buckets"]), None)
    L += ["## Load", "",
          f"Each simulated worker: `client_ready` \"2.47.0\" (re-sent after 5 s without ack), a heartbeat every 1 s "
          f"(`running`, 116-byte frame), a stats report every 3 s with {a.entries} entries of 30 log-normal "
          f"response-time buckets each (int keys rounded as Locust 2.47 does; medians 15–400 ms), 3 per-second keys, "
          f"stats_total with about {buckets} buckets, about 5.5k req/s claimed; **{frame} bytes** per report "
          "(the Locust 2.12.1 reference measurement in bench/README.md had 30.7 KB with 2.12's float keys; int keys make it smaller). Phases staggered: heartbeat "
          "at (i+0.5)/N s, report at 3·frac(0.618·i) s. Encoded with glocust's `protocol` package "
          "(Python-byte-exact), 4 variants re-drawn each second. Transport: one hand-written ZMTP 3.0 NULL DEALER "
          "per worker (one TCP connection each), in one Go process pinned to core 1. "
          "A probe worker (not counted in N) heartbeats every 1 s, re-sends client_ready every 2 s (ack latency) "
          "and sends a report followed at once by a heartbeat (report + heartbeat latency). "
          "`hb reply` latencies are every worker's heartbeat → the master's heartbeat reply, over the window.", "",
          f"Window {a.window} s after all acks + {a.warmup} s; then {a.drain} s of heartbeats only, after which the "
          "master's request total must equal the simulator's (glocust: sum of `glocust_requests_total` on /metrics; "
          "Python: its last printed Aggregated count).", ""]

    L += ["## Results (medians over rounds)", "",
          "| N | master | runs | CPU % of a core, median (min–max) | **CPU-ms per worker per s** | worst 1 s % | "
          "hb reply p50 / p99 / max ms | probe ack p50 / max ms | report+hb p99 ms | registration s (ack max ms) | "
          "accepted all | missing | longest loop gap s | RSS MiB | foreign cores | master run-queue wait % |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in ctx.ns:
        for kind in ("glocust", "python"):
            r = rows.get((kind, n))
            if r is None:
                if kind == "python" and n in ctx.skipped:
                    L.append(f"| {n:,} | Python | 0 | skipped: {ctx.skipped[n]} | | | | | | | | | | | |")
                continue
            name = "glocust" if kind == "glocust" else "Python"
            sat = " (saturated)" if r["saturated"] else ""
            if r["ok"] == 0:
                L.append(f"| {n:,} | {name} | 0/{r['runs']} | failed: {(r['errors'] or ['?'])[0][:120]} | | | | | | | | | | | |")
                continue
            L.append(
                f"| {n:,} | {name} | {r['ok']}/{r['runs']} | {fmt(r['cpu'])} ({fmt(r['cpu_min'])}–{fmt(r['cpu_max'])}){sat} | "
                f"**{fmt(r['ms'], 3)}** | {fmt(r['worst1s'], 0)} | {fmt(r['hb50'])} / {fmt(r['hb99'])} / {fmt(r['hbmax'], 0)} | "
                f"{fmt(r['ack50'])} / {fmt(r['ackmax'])} | {fmt(r['rephb99'])} | {fmt(r['reg'])} ({fmt(r['regack_max'], 0)}) | "
                f"{r['accepted']}/{r['ok']} | {r['missing']} | {fmt(r['gap'])} | {fmt(r['rss'], 0)} | {fmt(r['foreign'], 2)} | "
                f"{fmt(r['mwait'])} |")
    L.append("")
    L += ["## Ratio: Python master CPU / glocust master CPU (same round, same N)", "",
          "| N | glocust CPU-ms/worker/s | Python CPU-ms/worker/s | ratio of medians | paired ratios | goal ≥ 10x |",
          "|---|---|---|---|---|---|"]
    for n in ctx.ns:
        g, p = rows.get(("glocust", n)), rows.get(("python", n))
        if not g or not g["ms"]:
            continue
        if not p or not p["ms"]:
            L.append(f"| {n:,} | {fmt(g['ms'], 3)} | {ctx.skipped.get(n, 'not run')} | – | – | – |")
            continue
        rm = p["ms"] / g["ms"]
        sat = " (Python saturated: a lower bound)" if p["saturated"] else ""
        pr = ", ".join(f"{x:.2f}" for x in ratios.get(n, []))
        if rm >= 10:
            verdict = "met"
        elif p["saturated"]:
            # A saturated master's CPU per worker is capped at 100% / N:
            # a ratio below 10 says nothing either way.
            verdict = "n/a (Python saturated)"
        else:
            verdict = "not met"
        L.append(f"| {n:,} | {fmt(g['ms'], 3)} | {fmt(p['ms'], 3)} | **{rm:.2f}x**{sat} | {pr or '–'} | {verdict} |")
    L.append("")
    g1k, g5k = rows.get(("glocust", 1000)), rows.get(("glocust", 5000))
    L += ["## Goals", ""]
    if g1k and g1k["cpu"] is not None:
        L.append(f"- 1,000 workers at ≤ ~4.5% of a core: glocust **{g1k['cpu']:.1f}%** → "
                 f"{'met' if g1k['cpu'] <= 4.5 else 'not met'}.")
    if g5k:
        if g5k["ok"]:
            held = g5k["accepted"] == g5k["ok"] and g5k["missing"] == 0 and (g5k["hb99"] or 1e9) < 100
            L.append(f"- 5,000 workers held with heartbeat replies p99 < 100 ms: glocust p99 **{fmt(g5k['hb99'])} ms** "
                     f"(max {fmt(g5k['hbmax'], 0)} ms), CPU {fmt(g5k['cpu'])}%, accepted {g5k['accepted']}/{g5k['ok']}, "
                     f"missing {g5k['missing']} → {'met' if held else 'not met'}.")
        else:
            L.append(f"- 5,000 workers: glocust run failed: {(g5k['errors'] or ['?'])[0][:200]} → not met.")
    L.append("")
    L += ["## Simulator health", "",
          "| N | master | sim CPU % (max) | sim scheduling lateness p99 ms (max) | msgs/s | report MB/s | HWM drops | unanswered heartbeats |",
          "|---|---|---|---|---|---|---|---|"]
    for n in ctx.ns:
        for kind in ("glocust", "python"):
            r = rows.get((kind, n))
            if r and r["ok"]:
                L.append(f"| {n:,} | {kind} | {fmt(r['sim_cpu'])} | {fmt(r['sched_late'])} | {fmt(r['msgs'], 0)} | "
                         f"{fmt(r['mbps'], 2)} | {r['dropped']} | {r['unanswered']} |")
    L.append("")
    warn = [(r["kind"], r["n"], r["round"], r["log"]) for r in ctx.runs if r.get("log") and
            (r["log"]["error_lines"] or r["log"]["warning_lines"])]
    L += ["## Caveats", "",
          "- Both masters are idle (state ready, waiting for 100,000 workers, so no test starts): the per-message "
          "path only, as in the Locust 2.12.1 reference measurement (bench/README.md). The heartbeats say `running`.",
          "- Saturated = master CPU ≥ 90% of its core, incomplete registration, HWM drops, heartbeat reply "
          "p99 > 1 s or a request total that does not match. A saturated Python master skips the larger N of that round and later rounds.",
          "- CPU is utime+stime of the whole master process (all threads) over the window; the simulator "
          "also records the tasks' schedstat sum (`master_sched_pct` in the raw data) as a cross-check.",
          "- Master run-queue wait: time the master's threads were runnable but not running (sum of "
          "/proc/<pid>/task/*/schedstat wait), in % of the window: another process on core 0 took that time. "
          "With a high wait, a master can fall behind below 90% CPU.",
          "- Loop gap: the longest interval between the masters' once-per-second \"Waiting for workers to be "
          "ready\" log lines inside the window (both masters log it; 1.0 = no stall).",
          "- One loopback TCP connection per worker, one core per side on a 2-vCPU VM; absolute values drift "
          "with the host, so only the same-round ratios are comparable."]
    for k, n, rnd, lg in warn[:6]:
        L.append(f"- {k} N={n} round {rnd}: {lg['error_lines']} ERROR/Traceback and {lg['warning_lines']} WARNING "
                 f"lines, e.g. `{(lg['warning_samples'] or [''])[0][:160]}`")
    if ctx.notes:
        L += [f"- {x}" for x in ctx.notes]
    L += ["", "## Commands", "", "```sh", f"bench/fanin/run.py {' '.join(ctx.argv)}".strip(), "# which runs, per N and round:"]
    for k in ("glocust", "python", "sim"):
        if k in ctx.commands:
            L.append(ctx.commands[k])
    L += ["```", "", "Profile of glocust's master in-process (same simulator, pprof labels side=master/sim):", "",
          "```sh", "cd bench && go run ./fanin/cmd/faninprof -n 1000 -window 15s -cpuprofile /tmp/m.prof",
          "go tool pprof -tagfocus side=master -top /tmp/m.prof", "```", ""]
    if ctx.extra_md and os.path.exists(ctx.extra_md):
        with open(ctx.extra_md) as f:
            L += ["", f.read()]
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    log("wrote", a.out)


class Ctx:
    pass


def _term(signum, frame):
    raise SystemExit(128 + signum)  # run the finally blocks: stop the master and the simulator


def main():
    signal.signal(signal.SIGTERM, _term)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N=100,1000; 1 round; 15 s windows")
    ap.add_argument("--scale", action="store_true",
                    help="N=10000 on glocust's master only, 1 round, 60 s window: the scale goals (see above)")
    ap.add_argument("--ns", help="comma-separated N (default 100,500,1000,2000,5000; --scale: 10000)")
    ap.add_argument("--rounds", type=int, help="default 3 (--quick, --scale: 1)")
    ap.add_argument("--window", type=int, help="seconds (default 30; --quick: 15; --scale: 60)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--drain", type=int, default=5)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--reg-timeout", type=int, help="bound on registering every worker, s (default 60; --scale: 180)")
    ap.add_argument("--start-idle-wait", type=int, default=60)
    ap.add_argument("--run-idle-wait", type=int, default=3)
    ap.add_argument("--masters", help="default glocust,python (--scale: glocust)")
    ap.add_argument("--budget-min", type=float, default=25.0, help="stop starting runs after this many minutes")
    ap.add_argument("--glocust", help="prebuilt glocust binary (default: build)")
    ap.add_argument("--sim", help="prebuilt faninsim binary (default: build)")
    ap.add_argument("--locust", default=os.path.join(ROOT, ".venv", "bin", "locust"))
    ap.add_argument("--out", help="the report (default bench/fanin/RESULTS.md; --scale: RESULTS-scale.md)")
    ap.add_argument("--jsonl", help="per-run JSON lines (default bench/fanin/results.jsonl; --scale: results-scale.jsonl)")
    ap.add_argument("--extra-md", help="markdown appended to RESULTS.md (e.g. profiling notes)")
    args = ap.parse_args()
    mode = "scale" if args.scale else "quick" if args.quick else "full"
    defaults = {  # option: (full, quick, scale)
        "ns": ("100,500,1000,2000,5000", "100,1000", "10000"), "rounds": (3, 1, 1), "window": (30, 15, 60),
        "reg_timeout": (60, 60, 180), "masters": ("glocust,python",) * 2 + ("glocust",),
        "out": (os.path.join(HERE, "RESULTS.md"),) * 2 + (os.path.join(HERE, "RESULTS-scale.md"),),
        "jsonl": (os.path.join(HERE, "results.jsonl"),) * 2 + (os.path.join(HERE, "results-scale.jsonl"),),
    }
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v[("full", "quick", "scale").index(mode)])
    ctx = Ctx()
    ctx.args, ctx.argv = args, sys.argv[1:]
    ctx.ns = [int(x) for x in args.ns.split(",")]
    ctx.runs, ctx.commands, ctx.skipped, ctx.notes = [], {}, {}, []
    ctx.extra_md = args.extra_md
    ctx.nofile = raise_nofile(max(ctx.ns))
    ctx.tmp = tempfile.mkdtemp(prefix="glocust-fanin-")
    ctx.locust = os.path.abspath(args.locust)  # the masters run in a temporary directory
    t_start = time.time()
    try:
        log("building what was not given (glocust, faninsim)")
        ctx.glocust, ctx.sim = build(ctx.tmp, args.glocust, args.sim)
        log("waiting for an idle machine (at most", args.start_idle_wait, "s)")
        idle = wait_idle(args.start_idle_wait)
        ctx.start_state = {"idle": idle, "loadavg": loadavg(), "foreign": foreign_top()}
        log("idle:", idle, "busy:", ctx.start_state["foreign"])
        masters = args.masters.split(",")
        py_sat_at = None
        py_failed, py_failed_why = None, ""
        raw = open(args.jsonl, "w")
        budget_end = t_start + args.budget_min * 60
        for rnd in range(args.rounds):
            order = masters if rnd % 2 == 0 else masters[::-1]
            for n in ctx.ns:
                for kind in order:
                    if time.time() > budget_end:
                        note = f"time budget ({args.budget_min} min) ran out: round {rnd} stopped before N={n} {kind}"
                        if note not in ctx.notes:
                            ctx.notes.append(note)
                            log(note)
                        continue
                    if kind == "python" and py_sat_at is not None and n > py_sat_at:
                        ctx.skipped[n] = (f"Python saturated at N={py_sat_at:,}" if py_failed is None
                                          else f"the Python master failed at N={py_failed:,}: {py_failed_why}")
                        continue
                    log(f"round {rnd} N={n} {kind}")
                    rec = run_one(ctx, kind, n, rnd)
                    s = rec.get("sim", {})
                    log(f"  cpu {s.get('master_cpu_pct')}% ({s.get('cpu_ms_per_worker_s')} ms/worker/s), "
                        f"hb p99 {s.get('hb_reply', {}).get('p99_ms')} ms, accepted {rec.get('accepted_ok')}, "
                        f"missing {rec.get('missing')}, saturated {rec.get('saturated')}, foreign {s.get('foreign_cores')}"
                        + (f", error {rec.get('error') or s.get('error')}" if rec.get('error') or s.get('error') else ""))
                    ctx.runs.append(rec)
                    raw.write(json.dumps(rec) + "\n")
                    raw.flush()
                    if kind == "python" and rec.get("saturated", True):
                        # A run that failed (no figures) is no saturation; later N are skipped all the same.
                        if rec.get("error") or s.get("error"):
                            py_failed, py_failed_why = n, (rec.get("error") or s.get("error"))[:120]
                        py_sat_at = n if py_sat_at is None else min(py_sat_at, n)
        raw.close()
        ctx.end_state = dict(foreign_top(), loadavg=loadavg())
        (write_scale_results if args.scale else write_results)(ctx, t_start, time.time())
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
