"""Locust load: staff fill in and submit their self-assessment, supervisors read dashboards and
approve. Run by bench/loadtest.py, which prepares the people (LOADTEST_POOL) and checks the
database afterwards against the submissions recorded here (LOADTEST_SUBMITTED)."""

import json
import os
import random
import re
from http.cookiejar import Cookie

from locust import FastHttpUser, between, task

POOL = json.loads(open(os.environ["LOADTEST_POOL"]).read())  # noqa: SIM115
SUBMITTED = os.environ["LOADTEST_SUBMITTED"]
PERIOD = POOL["period"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
RATING = re.compile(r'name="rating_(\d+)"')
REVIEW = re.compile(r'href="/tinjau/(\d+)/"')


def set_session(client, key: str) -> None:
    """Become the person whose session `key` is (made by loadtest.py in the session store)."""
    client.cookiejar.clear()
    client.cookiejar.set_cookie(
        Cookie(0, "sessionid", key, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {})
    )


class Staff(FastHttpUser):
    """Logs in once with a password, then works through assessments: the form, a few autosaves,
    submit, confirm, the result; then takes over the next person's session (a real login costs
    half a second of PBKDF2 by design, which would swamp the measurement)."""

    weight = 4
    wait_time = between(0.05, 0.3)

    def on_start(self):
        nip = POOL["logins"].pop()
        page = self.client.get("/akun/login/", name="login page")
        token = TOKEN.search(page.text).group(1)
        with self.client.post("/akun/login/", data={"username": nip, "password": POOL["password"], "csrfmiddlewaretoken": token},
                              name="log in", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"login refused: {response.status_code}")
        self.nip = nip

    @task
    def assessment(self):
        form_url = f"/penilaian/{PERIOD}/isi/"
        self.client.get("/penilaian/", name="my assessments")
        page = self.client.get(form_url, name="form")
        if "/privasi/pemberitahuan/" in page.url:  # the privacy notice before a person's first form, read once
            self.client.post(page.url, data={"csrfmiddlewaretoken": TOKEN.search(page.text).group(1)}, name="privacy notice")
            page = self.client.get(form_url, name="form")
        if "/hasil/" in page.url or page.status_code != 200:
            return self.next_person()
        token = TOKEN.search(page.text).group(1)
        version = int(VERSION.search(page.text).group(1))
        indicators = sorted(set(RATING.findall(page.text)))
        answers = {}
        for step in range(3):  # autosaves as the person answers a third at a time
            for indicator in indicators[step::3]:
                answers[f"rating_{indicator}"] = str(random.randint(2, 5))
                answers[f"note_{indicator}"] = "catatan"
            data = {"version": version, "csrfmiddlewaretoken": token, **answers}
            with self.client.post(f"/penilaian/{PERIOD}/simpan-otomatis/", data=data, name="autosave", catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"autosave {response.status_code}")
                    return self.next_person()
                version = response.json()["version"]
        data = {"version": version, "action": "submit", "csrfmiddlewaretoken": token, **answers}
        self.client.post(form_url, data=data, name="submit (to confirmation)", allow_redirects=False)
        confirm = self.client.get(f"/penilaian/{PERIOD}/kirim/", name="confirmation")
        match = VERSION.search(confirm.text)
        if match:
            with self.client.post(f"/penilaian/{PERIOD}/kirim/", data={"version": match.group(1), "csrfmiddlewaretoken": token},
                                  name="confirm submit", allow_redirects=False, catch_response=True) as response:
                if response.status_code == 302 and "/hasil/" in response.headers.get("Location", ""):
                    with open(SUBMITTED, "a") as log:
                        log.write(self.nip + "\n")
                    self.client.get(response.headers["Location"], name="result")
                else:
                    response.failure(f"submit answered {response.status_code}")
        self.next_person()

    def next_person(self):
        if not POOL["staff"]:
            return self.stop()
        person = POOL["staff"].pop()
        self.nip = person["nip"]
        set_session(self.client, person["session"])


class Supervisor(FastHttpUser):
    weight = 1
    wait_time = between(0.05, 0.3)

    def on_start(self):
        me = POOL["supervisors"][random.randrange(len(POOL["supervisors"]))]
        self.units = me["units"]
        set_session(self.client, me["session"])

    @task(4)
    def dashboard(self):
        self.client.get(f"/unit/{random.choice(self.units)}/", name="dashboard")

    @task(2)
    def drill_down(self):
        self.client.get(f"/unit/{random.choice(self.units)}/sub-unit/", name="drill-down")

    @task(1)
    def tree(self):
        self.client.get(f"/unit/{random.choice(self.units)}/sub-unit/?tampilan=pohon", name="drill-down tree")

    @task(2)
    def staff_table(self):
        self.client.get(f"/unit/{random.choice(self.units)}/pegawai/?semua=1", name="staff table")

    @task(2)
    def approve(self):
        listing = self.client.get(f"/unit/{self.units[0]}/pegawai/?semua=1&status=submitted", name="staff table (submitted)")
        waiting = REVIEW.findall(listing.text)
        if not waiting:
            return
        pk = random.choice(waiting)
        page = self.client.get(f"/tinjau/{pk}/", name="review")
        token = TOKEN.search(page.text)
        if token:
            self.client.post(f"/tinjau/{pk}/setujui/", data={"csrfmiddlewaretoken": token.group(1)},
                             name="approve", allow_redirects=False)
