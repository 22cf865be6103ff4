# Loaded next to locustfile.py by the master interop tests
# (locust -f locustfile.py,master_probe.py --worker ...): it defines no user
# class, only a listener that prints, on stderr, the worker's node id at start
# and its per-class users after each spawn it applied, in the same form as a
# glocust worker's log:
#
#   glocust-probe starting worker node_id=<client_id>
#   glocust-probe spawned node_id=<client_id> users="AdminUser=1 ApiUser=2 WebUser=5"
import sys

from locust import events
from locust.runners import WorkerRunner


def _say(line):
    print("glocust-probe " + line, file=sys.stderr, flush=True)


@events.init.add_listener
def _on_init(environment, runner=None, **_kw):
    if not isinstance(runner, WorkerRunner):
        return
    _say(f"starting worker node_id={runner.client_id}")
    original = runner.spawning_complete

    def spawning_complete(user_count):
        counts = " ".join(f"{k}={v}" for k, v in sorted(runner.user_classes_count.items()))
        _say(f'spawned node_id={runner.client_id} users="{counts}"')
        original(user_count)

    runner.spawning_complete = spawning_complete
