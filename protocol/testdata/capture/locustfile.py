"""Capture locustfile: weights, fixed_count, 200/500/slow endpoints, an
exception, failures, custom messages both ways, float and int response times."""
import random

from locust import HttpUser, User, between, constant, events, task
from locust.runners import MasterRunner, WorkerRunner


class WebUser(HttpUser):
    weight = 3
    wait_time = constant(0.3)

    @task(4)
    def ok(self):
        self.client.get("/ok")

    @task(2)
    def fail(self):
        self.client.get("/fail")  # 500 -> failure -> errors

    @task(2)
    def slow(self):
        self.client.get("/slow")  # ~150 ms -> bucket 150/160 (float in 2.12)

    @task(1)
    def slower(self):
        self.client.get("/slower")  # ~1.2 s -> bucket 1200

    @task(1)
    def custom_failure(self):
        with self.client.get("/ok", name="/ok [checked]", catch_response=True) as r:
            r.failure("body was 'ok' but we wanted \"nok\"")


class ApiUser(HttpUser):
    weight = 1
    wait_time = between(0.2, 0.5)

    @task
    def ok(self):
        self.client.get("/ok?api=1", name="/ok?api")

    @task
    def slow(self):
        self.client.get("/slow", name="/slow api")

    @task
    def boom(self):
        if random.random() < 0.5:
            raise ValueError("task exploded on purpose")  # -> exception message
        self.client.get("/fail", name="/fail api")


class FixedUser(User):
    fixed_count = 1
    wait_time = constant(0.5)

    @task
    def synthetic(self):
        # exact float/int response times to exercise bucket rounding
        ev = self.environment.events.request
        for rt in (12.5, 155.0, 999.9, 1234.5):
            ev.fire(request_type="CUSTOM", name="float-rt", response_time=rt,
                    response_length=7, exception=None, context={})
        for rt in (145, 15500):
            ev.fire(request_type="CUSTOM", name="int-rt", response_time=rt,
                    response_length=0, exception=None, context={})
        ev.fire(request_type="CUSTOM", name="custom-fail", response_time=3,
                response_length=0, exception=RuntimeError("custom failure <x>"), context={})


@events.init.add_listener
def on_init(environment, **kw):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        def on_w2m(environment, msg, **kw):
            print("master got custom w2m from %s: %r" % (msg.node_id, msg.data))
        runner.register_message("custom_w2m", on_w2m)

        @events.spawning_complete.add_listener
        def on_spawned(user_count, **kw):
            runner.send_message("custom_m2w", {"hello": "worker", "user_count": user_count,
                                               "ratio": 0.5, "list": [1, None, "x"]})
    elif isinstance(runner, WorkerRunner):
        def on_m2w(environment, msg, **kw):
            print("worker got custom m2w: %r" % (msg.data,))
            environment.runner.send_message("custom_w2m", {"reply": "from worker",
                                                           "echo": msg.data, "neg": -5})
        runner.register_message("custom_m2w", on_m2w)
