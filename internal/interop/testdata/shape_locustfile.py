# Python twin of shape.yaml: the same user class, and its shape as a
# LoadTestShape (Locust's StagesShape example: each stage's "duration" is
# the run time it ends at).
from locust import HttpUser, LoadTestShape, constant, task


class ShapeUser(HttpUser):
    wait_time = constant(1)

    @task
    def home(self):
        self.client.get("/", name="home")


class ThreeStages(LoadTestShape):
    stages = [
        {"duration": 8, "users": 10, "spawn_rate": 10},
        {"duration": 18, "users": 30, "spawn_rate": 10},
        {"duration": 28, "users": 5, "spawn_rate": 10},
    ]

    def tick(self):
        run_time = self.get_run_time()
        for stage in self.stages:
            if run_time < stage["duration"]:
                return (stage["users"], stage["spawn_rate"])
        return None
