"""The floor of `make loadtest`: /healthz only, no think time, through the same gunicorn and
Locust as the mix: what the server and client can do at most on this machine."""

from locust import FastHttpUser, constant, task


class Health(FastHttpUser):
    wait_time = constant(0)

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")
