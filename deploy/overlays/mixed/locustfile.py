# The Locust master's view of base/scenario.yaml: the same classes with the
# same weights, so that it dispatches users the glocust workers know. The
# tasks only run if this file is used by Python workers too; they mirror the
# scenario's requests.
from locust import HttpUser, between, constant, task


class WebUser(HttpUser):
    weight = 3
    wait_time = between(1, 2)

    @task(3)
    def home(self):
        self.client.get("/", name="home")

    @task
    def item(self):
        self.client.get("/item?id=1", name="item")


class ApiUser(HttpUser):
    weight = 1
    wait_time = constant(1)

    @task
    def status(self):
        self.client.get("/api/status", name="status")
