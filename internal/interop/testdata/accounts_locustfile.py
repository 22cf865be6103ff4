# Python twin of scenario/testdata/accounts.yaml for a Locust master: the
# same class, and page_size as a custom argument, which the master sends
# to its workers in the spawn's parsed_options (the YAML's vars.page_size).
from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--page-size", type=int, default=2, help="items per list")


class Shopper(HttpUser):
    wait_time = constant(0.01)

    @task
    def browse(self):
        pass
