# One user class, no wait, GET / — the same work as scenario_bench.yaml.
from locust import FastHttpUser, constant, task


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/", name="/")
