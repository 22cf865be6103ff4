#!/usr/bin/env python3
"""Run one bounded capture session: local HTTP target + Locust master + sniffer
+ N Locust workers (connected through the sniffer), all on 127.0.0.1.

  python session.py --python /tmp/lvenv/bin/python --label 2.47.0 \
      --mode web|headless --workers N --out frames.jsonl [--fake-version X]

Every child process is started in its own process group, bounded by a hard
deadline and killed at the end.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def http(method, url, data=None, json_body=None, timeout=90):
    headers = {}
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except Exception as e:  # noqa
        return None, repr(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--mode", choices=["web", "headless", "noack"], required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fake-version")
    ap.add_argument("--worker-fake-version",
                    help="version the workers report (default: --fake-version); "
                         "'' mimics Debian's python3-locust 2.12.1 (never acked)")
    ap.add_argument("--base-port", type=int, default=15550)
    ap.add_argument("--run-time", default="20s")
    ap.add_argument("--logdir", default="/tmp/capture-logs")
    ap.add_argument("--stop-timeout", help="master -s value (spawn's stop_timeout)")
    args = ap.parse_args()

    p_sniff, p_master, p_web, p_target = (args.base_port, args.base_port + 1,
                                          args.base_port + 2, args.base_port + 3)
    host = "http://127.0.0.1:%d" % p_target
    web = "http://127.0.0.1:%d" % p_web
    os.makedirs(args.logdir, exist_ok=True)
    procs = []
    hard = 150  # seconds: absolute bound for every child

    def start(name, cmd):
        log = open(os.path.join(args.logdir, "%s-%s.log" % (args.label, name)), "w")
        p = subprocess.Popen(["timeout", "-k", "5", str(hard)] + cmd, cwd=HERE,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((name, p))
        print("started %s pid %d" % (name, p.pid), flush=True)
        return p

    fake = ["--fake-version", args.fake_version] if args.fake_version else []
    lrun = [args.python, os.path.join(HERE, "run_locust.py")] + fake
    lf = ["-f", os.path.join(HERE, "locustfile.py")]
    wlrun = lrun
    if args.worker_fake_version is not None:
        wlrun = [args.python, os.path.join(HERE, "run_locust.py"),
                 "--fake-version", args.worker_fake_version]
    try:
        start("target", [args.python, os.path.join(HERE, "target.py"), str(p_target), str(hard)])
        start("sniff", [args.python, os.path.join(HERE, "sniff.py"), "--listen", str(p_sniff),
                        "--master", str(p_master), "--out", args.out,
                        "--locust-version", args.label, "--duration", str(hard - 10)])
        mcmd = lrun + lf + ["--master", "--master-bind-host", "127.0.0.1",
                            "--master-bind-port", str(p_master), "-H", host,
                            "--web-host", "127.0.0.1", "--web-port", str(p_web)]
        if args.mode == "headless":
            mcmd += ["--headless", "-u", "6", "-r", "3", "-t", args.run_time,
                     "--expect-workers", str(args.workers)]
        if args.stop_timeout:
            mcmd += ["-s", args.stop_timeout]
        master = start("master", mcmd)
        time.sleep(2)
        for i in range(args.workers):
            start("worker%d" % i, wlrun + lf + ["--worker", "--master-host", "127.0.0.1",
                                                "--master-port", str(p_sniff)])
        if args.mode == "noack":
            time.sleep(8)  # the worker re-sends client_ready every 5 s; nobody acks
        elif args.mode == "headless":
            try:
                master.wait(timeout=hard - 20)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(3)
        else:
            # wait for workers to register
            for _ in range(60):
                st, body = http("GET", web + "/stats/requests")
                if st == 200:
                    j = json.loads(body)
                    n = len(j.get("workers", []))
                    if n >= args.workers:
                        break
                time.sleep(0.5)
            print("workers up:", n, flush=True)
            print("swarm1", http("POST", web + "/swarm",
                                  data={"user_count": 5, "spawn_rate": 2, "host": host}), flush=True)
            time.sleep(13)  # > 10 s so that HEAD workers send `logs`
            print("update_user", http("POST", web + "/user",
                                       json_body={"user_class_name": "ApiUser",
                                                  "tasks": ["ok", "slow"], "weight": 2}), flush=True)
            time.sleep(4)
            st = http("POST", web + "/stop")  # HEAD: POST; older versions: GET
            if st[0] == 405:
                st = http("GET", web + "/stop")
            print("stop", st, flush=True)
            time.sleep(4)  # worker sends client_stopped, then client_ready -> ack
            print("swarm2", http("POST", web + "/swarm",
                                  data={"user_count": 3, "spawn_rate": 3, "host": host}), flush=True)
            time.sleep(8)
            print("sigterm master", flush=True)
            os.killpg(master.pid, signal.SIGTERM)
            try:
                master.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(3)
    finally:
        for name, p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(2)
        for name, p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            print("%s exit %s" % (name, p.wait()), flush=True)


if __name__ == "__main__":
    main()
