# Idle users for the memory benchmark (bench/memory.py): the same work as
# scenario_idle.yaml. Each user makes one GET when it starts (to one of
# nginx's four ports, picked at random; the target answers "Connection:
# close", so the user keeps no socket) and then waits 60 s.
from locust import FastHttpUser, constant, task


class IdleUser(FastHttpUser):
    host = "http://127.0.0.1:18090"
    wait_time = constant(60)

    @task
    def p0(self):
        self.client.get("http://127.0.0.1:18090/", name="/")

    @task
    def p1(self):
        self.client.get("http://127.0.0.1:18091/", name="/")

    @task
    def p2(self):
        self.client.get("http://127.0.0.1:18092/", name="/")

    @task
    def p3(self):
        self.client.get("http://127.0.0.1:18093/", name="/")
