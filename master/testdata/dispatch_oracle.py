"""Oracle for master/dispatch_test.go: runs Locust's own UsersDispatcher.

Reads a JSON list of cases on stdin. A case is
  {"workers": [id, ...],
   "classes": [{"name": str, "weight": int, "fixed_count": int}, ...],
   "ops": [op, ...]}
where an op is one of
  {"op": "new_dispatch", "target": int, "rate": float, "classes": [name, ...] | null}
  {"op": "add_worker", "id": str}
  {"op": "remove_worker", "id": str}
  {"op": "next", "steps": int}   (stops early at StopIteration)

Prints "locust VERSION", then, per case and in order, one line per event:
  step SLEEP P USERS   for each next(): the seconds the dispatcher would have
                       slept inside it, dispatch_in_progress after it (0 or 1),
                       and the dict it returned (null at StopIteration)
  op P COUNTS          after each op: dispatch_in_progress and _users_on_workers
  end                  after the case
Dicts are JSON with sorted keys and no spaces, so that they compare byte for
byte with the Go side's canonical encoding.

The dispatcher's sleep is neutralised: the "time" and "gevent" globals of
locust.dispatch are replaced, so that each dispatch iteration takes no time and
the sleep is only recorded.
"""

import json
import sys
import types

import locust
import locust.dispatch as dispatch
from locust import User
from locust.runners import WorkerNode

_slept = []
dispatch.time = types.SimpleNamespace(perf_counter=lambda: 0.0)
dispatch.gevent = types.SimpleNamespace(sleep=_slept.append)


def dumps(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def run_case(case, w):
    classes = {
        c["name"]: type(
            c["name"],
            (User,),
            {"weight": c["weight"], "fixed_count": c["fixed_count"], "__module__": __name__},
        )
        for c in case["classes"]
    }
    d = dispatch.UsersDispatcher([WorkerNode(i) for i in case["workers"]], list(classes.values()))
    for op in case["ops"]:
        kind = op["op"]
        if kind == "new_dispatch":
            picked = None if op["classes"] is None else [classes[n] for n in op["classes"]]
            d.new_dispatch(op["target"], op["rate"], picked)
        elif kind == "add_worker":
            d.add_worker(WorkerNode(op["id"]))
        elif kind == "remove_worker":
            d.remove_worker(WorkerNode(op["id"]))
        elif kind == "next":
            for _ in range(op["steps"]):
                _slept.clear()
                try:
                    users = next(d)
                except StopIteration:
                    users = None
                w(f"step {sum(_slept)!r} {int(d.dispatch_in_progress)} {dumps(users)}\n")
                if users is None:
                    break
        else:
            raise ValueError(f"unknown op {kind!r}")
        w(f"op {int(d.dispatch_in_progress)} {dumps(d._users_on_workers)}\n")
    w("end\n")


def main():
    cases = json.load(sys.stdin)
    sys.stdout.write(f"locust {locust.__version__}\n")
    for case in cases:
        run_case(case, sys.stdout.write)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
