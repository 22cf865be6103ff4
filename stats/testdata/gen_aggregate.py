"""Generate aggregate.json: a recorded run through Locust's own worker and
master stats code, with the derived values the master computes.

Two simulated workers log requests with locust.stats.RequestStats; every
second each sends its report (report_to_master) and the master merges it
(worker_report). The file holds the logged requests (to replay into the Go
Registry), the reports (to merge into the Go Aggregate) and checkpoints of
the master's derived values.

Run with a Python that has locust installed:
    python stats/testdata/gen_aggregate.py > stats/testdata/aggregate.json
"""

import json
import random
import time

from locust import stats as ls
from locust.event import Events

clock = [1_700_000_000.25]
time.time = lambda: clock[0]

PCTS = ls.PERCENTILES_TO_REPORT


def pairs(d):
    return sorted([int(k), v] for k, v in d.items())


def entry_json(e):
    return {
        "name": e["name"], "method": e["method"],
        "last_request_timestamp": e["last_request_timestamp"], "start_time": e["start_time"],
        "num_requests": e["num_requests"], "num_none_requests": e["num_none_requests"],
        "num_failures": e["num_failures"], "total_response_time": e["total_response_time"],
        "max_response_time": e["max_response_time"], "min_response_time": e["min_response_time"],
        "total_content_length": e["total_content_length"],
        "response_times": pairs(e["response_times"]), "num_reqs_per_sec": pairs(e["num_reqs_per_sec"]),
        "num_fail_per_sec": pairs(e["num_fail_per_sec"]),
    }


def derived(e, total):
    return {
        "name": e.name, "method": e.method,
        "num_requests": e.num_requests, "num_failures": e.num_failures,
        "avg": e.avg_response_time, "median": e.median_response_time,
        "percentiles": [e.get_response_time_percentile(p) for p in PCTS],
        "current_percentiles": [e.get_current_response_time_percentile(p) for p in PCTS],
        "current_rps": e.current_rps, "current_fail_per_sec": e.current_fail_per_sec,
        "total_rps": e.total_rps, "total_fail_per_sec": e.total_fail_per_sec,
        "fail_ratio": e.fail_ratio, "avg_content_length": e.avg_content_length,
        "min": e.min_response_time, "max": e.max_response_time, "start_time": e.start_time,
        "last_request_timestamp": e.last_request_timestamp,
    }


rng = random.Random(7)
master = ls.RequestStats()
mev = Events()
ls.setup_distributed_stats_event_listeners(mev, master)
workers = []
for w in range(2):
    st = ls.RequestStats(use_response_times_cache=False)
    ev = Events()
    ls.setup_distributed_stats_event_listeners(ev, st)
    workers.append((st, ev))

names = [("GET", "/"), ("GET", "/items"), ("POST", "/items"), ("GET", "/slow")]
errors = ["timeout", "HTTPError('500 Server Error')", "ConnectionError(<X object at 0x7f00aa>)", "it's \"bad\"\n"]
start = clock[0]
rounds = []
checkpoints = []
for r in range(40):
    for w, (st, ev) in enumerate(workers):
        logs = []
        # requests spread over the second before the report
        n = rng.randrange(0, 60) if r not in (17, 18) else 0
        base = clock[0]
        for i in range(n):
            clock[0] = base + (i + 1) / (n + 1)
            method, name = rng.choice(names)
            if rng.random() < 0.05:
                rt = None
            elif name == "/slow":
                rt = rng.randrange(0, 30_000_000) / 1000
            else:
                rt = rng.randrange(0, 2_000_000) / 1000
            cl = rng.randrange(0, 5000)
            err = rng.choice(errors) if rng.random() < 0.15 and rt is not None else None
            st.log_request(method, name, rt, cl)
            if err is not None:
                st.log_error(method, name, err)
            logs.append({"t": clock[0], "method": method, "name": name, "rt_us": None if rt is None else round(rt * 1000),
                         "cl": cl, "error": err})
        clock[0] = base + 1.0 if w == 1 else base
        data = {}
        ev.report_to_master.fire(client_id=f"w{w}", data=data)
        report = {
            "now": clock[0], "logs": logs,
            "stats": [entry_json(e) for e in data["stats"]], "stats_total": entry_json(data["stats_total"]),
            "errors": [dict(v, key=k) for k, v in data["errors"].items()],
        }
        mev.worker_report.fire(client_id=f"w{w}", data=data)
        rounds.append(report)
    if r in (3, 12, 20, 39):
        checkpoints.append({
            "after": len(rounds), "now": clock[0],
            "entries": [derived(master.entries[k], master.total) for k in sorted(master.entries)],
            "total": derived(master.total, master.total),
            "errors_sorted": [k for k in sorted(master.errors)],
            "errors": {k: e.to_dict() for k, e in master.errors.items()},
        })

print(json.dumps({"start": start, "rounds": rounds, "checkpoints": checkpoints}, indent=None))
