#!/usr/bin/env python3
"""Memory per idle user (issue 5, goal 4): glocust vs a Locust worker.

Every run starts one load generator against nginx (bench/memory/nginx.conf:
four loopback ports 18090-18093, `return 200 'ok'`, "Connection: close")
with N users of class IdleUser: one GET when the user starts, then
wait_time constant 60 s (bench/memory/scenario_idle.yaml,
bench/memory/locustfile_idle.py, the same work). The target closes every
connection after its response, so a waiting user holds no socket: this
machine's hard RLIMIT_NOFILE is 20,000 and cannot be raised here, so 100,000
users cannot each keep a connection in one process (nor nginx hold them).
The spawn rate (SPAWN_RATE users/s, paced by the master: the in-process one
standalone, a Locust master otherwise) keeps the connections open at once
well under that limit.

A run is "spawned and idle" when nginx has answered N requests of this run
(it logs 2 bytes per request) and the generator's VmRSS has then moved by
less than max(1 %, 2 MiB) over 3 one-second samples; VmRSS and VmHWM
(/proc/<pid>/status) are read at that moment, with `uptime`, and the
processes are stopped (SIGTERM). Every run is bounded: a deadline 57 s after
the start (before any user's 60 s wait ends, so no user has made a second
request) and -t 90s.
bytes/user = (RSS_N - RSS_1) / (N - 1), RSS_1 being the same command with
one user.

Kinds (generator on core 1, nginx and the Locust master on core 0):
  glocust-standalone  taskset -c 1 glocust -f scenario_idle.yaml --headless -u N -r R -t 90s
  glocust-worker      taskset -c 0 locust --master -f locustfile_idle.py --headless --expect-workers 1
                      -u N -r R -t 90s; taskset -c 1 glocust --worker -f scenario_idle.yaml
  locust-worker       the same master; taskset -c 1 locust --worker -f locustfile_idle.py

usage: bench/memory.py [--kinds ...] [--users 100000] [--locust-users 5000,20000,40000] [--rounds 1]
(orchestrate.py's section_memory uses run_one() and start_nginx().)
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from benchlib import free_port

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
MEM = os.path.join(BENCH, "memory")
PORTS = (18090, 18091, 18092, 18093)
SPAWN_RATE = 2500  # users/s: 100,000 users in 40 s. At 5,000/s the one generator core
# saturates (each user opens and closes a loopback TCP connection: ~0.2 ms of CPU),
# responses take > 1 s and the open sockets pass the 20,000-file limit.
RUN_TIME = 90  # -t, a bound only: the processes are stopped once measured
DEADLINE = 57  # s after start: measured before any user's 60 s wait ends (no second request)




def start_nginx(tmp):
    os.makedirs(os.path.join(tmp, "tmp"), exist_ok=True)
    p = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c",
                          os.path.join(MEM, "nginx.conf"), "-p", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            for port in PORTS:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError("nginx (bench/memory/nginx.conf) did not start")


def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            k, _, v = l.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


def target_requests(tmp):
    """Requests nginx has answered so far (bench/memory/nginx.conf logs 2 bytes each)."""
    try:
        return os.path.getsize(os.path.join(tmp, "requests.log")) // 2
    except OSError:
        return 0


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wait_settled(pid, users, tmp, req0, deadline, alive):
    """Waits until nginx answered `users` requests of this run and pid's RSS is stable."""
    t0 = time.monotonic()
    t_spawned, rss = None, []
    reqs = 0
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process exited before settling ({reqs} of {users} requests)")
        reqs = target_requests(tmp) - req0
        st = status_kb(pid)
        if reqs >= users:
            if t_spawned is None:
                t_spawned = time.monotonic() - t0
            rss.append(st["VmRSS"])
            w = rss[-3:]
            if len(w) == 3 and max(w) - min(w) <= max(0.01 * max(w), 2048):
                return dict(settled=True, requests=reqs, spawned_s=round(t_spawned, 1),
                            settled_s=round(time.monotonic() - t0, 1), rss_kb=st["VmRSS"], hwm_kb=st["VmHWM"],
                            rss_anon_kb=st.get("RssAnon"), threads=st.get("Threads"), uptime=uptime())
        time.sleep(1)
    st = status_kb(pid)
    return dict(settled=False, requests=reqs, spawned_s=round(t_spawned, 1) if t_spawned else None,
                settled_s=None, rss_kb=st["VmRSS"], hwm_kb=st["VmHWM"], rss_anon_kb=st.get("RssAnon"),
                threads=st.get("Threads"), uptime=uptime())


def stop(*procs):
    for p in procs:
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.monotonic() + 30
    for p in procs:
        if p is None:
            continue
        try:
            p.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def commands(kind, users, glocust="glocust", locust="locust", port="<port>", tmp="<tmp>"):
    """(master cmd or None, generator cmd) for one run."""
    lim = ["taskset", "-c", "1"]
    rate = str(min(users, SPAWN_RATE))
    scen = os.path.join(MEM, "scenario_idle.yaml")
    lf = os.path.join(MEM, "locustfile_idle.py")
    if kind == "glocust-standalone":
        return None, lim + [glocust, "-f", scen, "--headless", "-u", str(users), "-r", rate, "-t",
                            f"{RUN_TIME}s", "--only-summary", "--loglevel", "WARNING"]
    master = ["taskset", "-c", "0", locust, "-f", lf, "--master", "--master-bind-host", "127.0.0.1",
              "--master-bind-port", str(port), "--headless", "--expect-workers", "1", "--expect-workers-max-wait",
              "30", "-u", str(users), "-r", rate, "-t", f"{RUN_TIME}s", "--only-summary",
              "--loglevel", "WARNING", "--csv", os.path.join(tmp, f"master-{kind}-{users}")]
    if kind == "glocust-worker":
        gen = [glocust, "--worker", "-f", scen]
    else:
        gen = [locust, "--worker", "-f", lf]
    return master, lim + gen + ["--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]


def run_one(kind, users, glocust, locust, tmp, timeout=None):
    """tmp is nginx's prefix (start_nginx(tmp)); logs go there too."""
    """One run; returns the sample at the settled point (see the docstring)."""
    port = free_port()
    mcmd, gcmd = commands(kind, users, glocust, locust, port, tmp)
    logf = open(os.path.join(tmp, f"{kind}-{users}.log"), "w")
    master = gen = None
    t0 = time.monotonic()
    req0 = target_requests(tmp)
    try:
        if mcmd:
            master = subprocess.Popen(mcmd, stdout=logf, stderr=subprocess.STDOUT, cwd=tmp)
            time.sleep(0.5)
        gen = subprocess.Popen(gcmd, stdout=logf, stderr=subprocess.STDOUT, cwd=tmp)
        deadline = t0 + (timeout or DEADLINE)
        r = wait_settled(gen.pid, users, tmp, req0, deadline,
                         lambda: gen.poll() is None and (master is None or master.poll() is None))
    finally:
        stop(gen, master)
        logf.close()
    r.update(kind=kind, users=users)
    # the final summary (standalone glocust's, or the Locust master's) on SIGTERM
    with open(logf.name, errors="replace") as f:
        agg = re.findall(r"^\s+Aggregated\s+(\d+)\s+(\d+)\(", f.read(), re.M)
    if agg:
        r["summary_requests"], r["summary_failures"] = int(agg[0][0]), int(agg[0][1])
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", default="glocust-standalone,glocust-worker,locust-worker")
    ap.add_argument("--users", type=int, default=100000, help="glocust users")
    ap.add_argument("--locust-users", default="5000,20000,40000")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--glocust", default=None, help="binary (default: go build ./cmd/glocust)")
    ap.add_argument("--locust", default=os.path.join(ROOT, ".venv", "bin", "locust"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="glocust-mem-")
    glocust = args.glocust
    if not glocust:
        glocust = os.path.join(tmp, "glocust")
        subprocess.run(["go", "build", "-o", glocust, "./cmd/glocust"], cwd=ROOT, check=True,
                       env=dict(os.environ, CGO_ENABLED="0"))
    nginx = start_nginx(tmp)
    try:
        for rnd in range(1, args.rounds + 1):
            for kind in args.kinds.split(","):
                ns = [int(x) for x in args.locust_users.split(",")] if kind == "locust-worker" else [args.users]
                for n in [1] + ns:
                    r = run_one(kind, n, glocust, args.locust, tmp)
                    r["round"] = rnd
                    print(json.dumps(r), flush=True)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
