"""Golden outputs of Locust's own report code for master/report.

Run with the Locust 2.47.0 venv:  python gen_golden.py [OUTDIR]   (default: .)

For each case it drives Locust's worker-side RequestStats (log_request /
log_error under a fake clock) to produce the "stats" reports two workers
would send, merges them with Locust's own master listener
(setup_distributed_stats_event_listeners -> worker_report), groups
exceptions with Runner.log_exception, and writes:

  OUTDIR/<case>/fixture.json   the wire reports (what report_test.go merges)
  OUTDIR/<case>/*.csv, *.txt, stats.json   Locust's outputs

Normalisations (orders Locust leaves to dict/set arrival that glocust's
Aggregate does not keep, all documented in the Go package):
  * exception nodes are written sorted (Locust: set order, random);
  * for --json, entries are sorted by (name, method) and bucket dicts by key.
The console width is pinned to STATS_NAME_WIDTH = 80 (Locust's value when
stdout is not a terminal).
"""

import contextlib
import csv
import io
import json
import logging
import os
import sys
import tempfile
import time
import types

import locust.stats as ls
from locust.event import Events
from locust.exception import CatchResponseError
from locust.runners import Runner

CLOCK = [0.0]
time.time = lambda: CLOCK[0]
ls.STATS_NAME_WIDTH = 80


def at(t):
    CLOCK[0] = t


def buckets(d):
    return [[int(k), int(v)] for k, v in d.items()]


def wire_entry(e):
    out = dict(e)
    for k in ("response_times", "num_reqs_per_sec", "num_fail_per_sec"):
        out[k] = buckets(e[k])
    return out


class Worker:
    def __init__(self, node):
        self.node = node
        self.stats = ls.RequestStats(use_response_times_cache=False)
        self.events = Events()
        ls.setup_distributed_stats_event_listeners(self.events, self.stats)

    def report(self):
        data = {}
        self.events.report_to_master.fire(client_id=self.node, data=data)
        data["user_classes_count"] = {}
        data["user_count"] = 0
        return data


LONG = "/api/v1/" + "very-long-path-segment/" * 4 + "end"


def run_case(start, script):
    """script: list of (t, action, args); returns fixture and master state."""
    at(start)
    master = ls.RequestStats(use_response_times_cache=True)
    mevents = Events()
    ls.setup_distributed_stats_event_listeners(mevents, master)
    runner = types.SimpleNamespace(exceptions={}, user_count=0, stats=master)
    workers = {}
    steps = []
    env = types.SimpleNamespace(stats=master, runner=runner)
    hist = {}
    for full in (False, True):
        tmp = tempfile.mkdtemp()
        w = ls.StatsCSVFileWriter(env, ls.PERCENTILES_TO_REPORT, os.path.join(tmp, "x"), full_history=full)
        buf = io.StringIO()
        cw = csv.writer(buf)
        cw.writerow(w.stats_history_csv_columns)
        hist[full] = (w, buf, cw)
    for t, action, args in script:
        at(t)
        if action == "log":
            node, method, name, rt, cl = args
            workers.setdefault(node, Worker(node)).stats.log_request(method, name, rt, cl)
        elif action == "err":
            node, method, name, err = args
            workers.setdefault(node, Worker(node)).stats.log_error(method, name, err)
        elif action == "report":
            node, users = args
            at(t)
            data = workers.setdefault(node, Worker(node)).report()
            fix = {
                "now": t,
                "node": node,
                "stats": [wire_entry(e) for e in data["stats"]],
                "stats_total": wire_entry(data["stats_total"]),
                "errors": [dict(v, key=k) for k, v in data["errors"].items()],
            }
            mevents.worker_report.fire(client_id=node, data=data)
            runner.user_count = users
            fix["user_count"] = users
            steps.append(fix)
            for full in (False, True):
                w, buf, cw = hist[full]
                w._stats_history_data_rows(cw, t)
        elif action == "exception":
            node, msg, tb = args
            Runner.log_exception(runner, node, msg, tb)
            steps.append({"now": t, "exception": {"node": node, "msg": msg, "traceback": tb}})
    for w, _, _ in hist.values():
        w.close_files()
    return master, runner, env, steps, hist


def capture_console(fn, *args):
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(logging.Formatter("%(message)s"))
    lg = logging.getLogger("locust.stats_logger")
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    lg.propagate = False
    try:
        fn(*args)
    finally:
        lg.removeHandler(h)
    return buf.getvalue()


def write_outputs(outdir, start, end, master, runner, env, steps, hist):
    os.makedirs(outdir, exist_ok=True)

    def put(name, text):
        with open(os.path.join(outdir, name), "w", newline="") as f:
            f.write(text)

    put("fixture.json", json.dumps({"start": start, "end": end, "steps": steps}, indent=1) + "\n")
    at(end)
    for row in runner.exceptions.values():
        row["nodes"] = sorted(row["nodes"])
    sc = ls.StatsCSV(env, ls.PERCENTILES_TO_REPORT)
    for name, fn in (("stats.csv", sc.requests_csv), ("failures.csv", sc.failures_csv),
                     ("exceptions.csv", sc.exceptions_csv)):
        buf = io.StringIO()
        fn(csv.writer(buf))
        put(name, buf.getvalue())
    put("stats_history.csv", hist[False][1].getvalue())
    put("stats_history_full.csv", hist[True][1].getvalue())
    put("print_stats_current.txt", capture_console(ls.print_stats, master, True))
    put("print_stats_total.txt", capture_console(ls.print_stats, master, False))
    put("print_percentiles.txt", capture_console(ls.print_percentile_stats, master))
    put("print_errors.txt", capture_console(ls.print_error_report, master))
    # --json last: serialize_stats resets the entries.
    items = sorted(master.entries.items())
    master.entries.clear()
    for k, e in items:
        for attr in ("response_times", "num_reqs_per_sec", "num_fail_per_sec"):
            setattr(e, attr, dict(sorted(getattr(e, attr).items())))
        master.entries[k] = e
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ls.print_stats_json(master)
    put("stats.json", out.getvalue())


def run_script(start):
    s = []
    t = start
    rts = [12.345, 0.3, 47.0, 99.5, 100.0, 145.2, 155.0, 999.9, 1234.5, 15500.7, 8.25, 33.1, 250.0, 61.7]
    names = [("GET", "/"), ("POST", "/login"), ("GET", "/café/ü"), ("GET", LONG), ("", "custom,task"),
             ("GET", "/items?id=1")]
    i = 0
    for sec in range(40):
        for node in ("w1", "w2"):
            for j in range(3 + (sec % 4)):
                m, n = names[(i + j) % len(names)]
                rt = rts[(i * 7 + j * 3) % len(rts)] * (1 + (sec % 5) / 10)
                if (i + j) % 17 == 0:
                    rt = None
                s.append((t + sec + j * 0.1, "log", (node, m, n, rt, 100 * j + sec)))
                if (i + j) % 9 == 0:
                    s.append((t + sec + j * 0.1, "err", (node, m, n, ConnectionError("Connection refused"))))
                if (i + j) % 13 == 0:
                    s.append((t + sec + j * 0.1, "err", (node, m, n, CatchResponseError("Got 500, \"bad\""))))
                if (i + j) % 31 == 0:
                    s.append((t + sec + j * 0.1, "err", (node, m, n, "multi\nline error")))
                i += 1
        if sec == 25:
            s.append((t + sec + 0.5, "err", ("w1", "DELETE", "/only-failures", RuntimeError("<object at 0x7f00deadbeef>"))))
        for node in ("w1", "w2"):
            s.append((t + sec + 0.95, "report", (node, 10 + sec)))
        if sec in (5, 12, 30):
            s.append((t + sec + 0.96, "exception", ("w2" if sec == 12 else "w1", "ZeroDivisionError: division by zero",
                                                    'Traceback (most recent call last):\n  File "x.py", line 3, in task\n    1/0\nZeroDivisionError: division by zero\n')))
        if sec == 31:
            s.append((t + sec + 0.97, "exception", ("w2", "KeyError: 'a, b'", "Traceback:\n  KeyError: 'a, b'\n")))
    return s


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    start = 1700000000.25
    cases = {
        "empty": ([], start + 5),
        "run": (run_script(start), start + 42.5),
    }
    for name, (script, end) in cases.items():
        m, r, env, steps, hist = run_case(start, script)
        write_outputs(os.path.join(outdir, name), start, end, m, r, env, steps, hist)


if __name__ == "__main__":
    main()
