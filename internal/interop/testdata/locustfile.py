# Python twin of scenario.yaml: the same user classes, weights and requests.
# A Locust master reads the classes from it; Python workers run it.
from locust import HttpUser, task, constant, tag


class WebUser(HttpUser):
    weight = 3
    wait_time = constant(0.2)

    @tag("landing")
    @task(5)
    def home(self):
        self.client.get("/", name="home")

    @task(1)
    def item(self):
        self.client.get("/item?id=1", name="item")


class ApiUser(HttpUser):
    weight = 1
    wait_time = constant(0.5)

    @task
    def broken(self):
        self.client.get("/fail", name="fail")


class AdminUser(HttpUser):
    fixed_count = 2
    wait_time = constant(0.5)

    def on_start(self):
        self.client.post("/login", json={"user": "admin"}, name="login")

    @task
    def item(self):
        self.client.get("/item?id=2", name="item")
