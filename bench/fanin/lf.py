# The fan-in Python master's locustfile: one user class U (the masters never
# start a test: they wait for --expect-workers 100000).
from locust import HttpUser, task


class U(HttpUser):
    host = "http://127.0.0.1:1"

    @task
    def index(self):
        self.client.get("/")
