# The Python side of examples/custom-user: the master only needs the class.
from locust import HttpUser, between, task


class ApiUser(HttpUser):
    wait_time = between(0.5, 2)

    @task
    def browse(self):
        self.client.get("/items?page=1", name="/items")
