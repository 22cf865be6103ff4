"""Print the per-worker, per-class user counts that Locust's own dispatcher
assigns at the end of a ramp: the oracle for the interop tests.

usage: python dispatch_final.py LOCUSTFILE USERS RATE WORKER_ID...
"""
import importlib.util
import json
import sys

from locust import User
from locust.dispatch import UsersDispatcher
from locust.runners import WorkerNode


def main():
    path, users, rate, *ids = sys.argv[1:]
    spec = importlib.util.spec_from_file_location("lf", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, User) and v.__module__ == "lf" and not v.abstract]
    d = UsersDispatcher(worker_nodes=[WorkerNode(i) for i in ids], user_classes=classes)
    d.new_dispatch(int(users), float(rate))
    d._wait_between_dispatch = 0
    final = None
    for step in d:
        final = step
    json.dump(final, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
