"""Simulated caseworkers for bench/load.py (run through it: it prepares the accounts and stack).

Each user takes one prepared account with the session that load.py opened for it through the
real login forms (password, then TOTP code), then works with realistic weights. Every response is
checked: the expected status, and the page's <title>, so that a login page or an error page
served with 200 counts as an error. Request samples are written to $BENCH_LOAD_SAMPLES at the
end for load.py to summarise.

The client acts as the TLS-terminating proxy that production puts in front of gunicorn
(`X-Forwarded-Proto: https`) and, like a browser on 127.0.0.1, sends the Secure `__Host-`
cookies over loopback http.
"""

import html
import itertools
import json
import os
import random
import re
import threading
import time
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(open(os.environ["BENCH_LOAD_ACCOUNTS"]).read())  # noqa: SIM115
_next_account = itertools.count()
_lock = threading.Lock()
SAMPLES: list[list] = []
_think = [float(x) for x in os.environ.get("BENCH_LOAD_THINK", "1,3").split(",")]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
RESULTS = re.compile(r"cases? found|No case matches")
STATUSES = ["intake", "active", "letter_requested", "letter_issued"]
NOTES = [
    "Called the client: the hearing date is confirmed.",
    "Documents received by post, scanned and returned.",
    "Client asked about the status of the letter; explained the next steps.",
    "Interpreter booked for the interview.",
]


_return_ok_secure = DefaultCookiePolicy.return_ok_secure


def _loopback_is_secure(self, cookie, request):
    """Secure cookies go to 127.0.0.1 over http too, as browsers treat loopback as a secure
    context. (requests copies the session's cookies into a jar with the default policy for
    each request, so this is patched on the class; this process only talks to loopback.)"""
    if urlsplit(request.get_full_url()).hostname == "127.0.0.1":
        return True
    return _return_ok_secure(self, cookie, request)


DefaultCookiePolicy.return_ok_secure = _loopback_is_secure


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    start = kwargs.get("start_time") or time.time() - response_time / 1000
    SAMPLES.append([name, start, response_time, str(exception)[:200] if exception else ""])


@events.quitting.add_listener
def _write_samples(environment, **kwargs):
    path = os.environ.get("BENCH_LOAD_SAMPLES")
    if path:
        with open(path, "w") as f:
            json.dump({"samples": SAMPLES}, f)


class Caseworker(HttpUser):
    wait_time = between(*_think)

    def on_start(self):
        with _lock:
            index = next(_next_account)
        if index >= len(ACCOUNTS):
            raise RuntimeError("more simulated users than prepared accounts")
        self.account = ACCOUNTS[index]
        self.origin = "https://" + urlsplit(self.host).netloc
        # As the proxy in front of gunicorn does (nginx's default towards its upstream): one
        # request per connection, so no request races a keep-alive timeout.
        self.client.headers.update(
            {"X-Forwarded-Proto": "https", "Accept-Language": "en", "Connection": "close"}
        )
        # The session load.py opened for this account through the real login forms.
        for name, value in self.account["cookies"].items():
            self.client.cookies.set(name, value, domain=urlsplit(self.host).hostname, path="/")
        self.csrf = ""
        self.page("/", "Dashboard", "dashboard")  # and its CSRF token

    # --- helpers --------------------------------------------------------------------------------

    def page(self, url: str, title: str, name: str, *, method="GET", data=None):
        """A page that must answer 200 with this <title>; keeps its CSRF token."""
        kwargs = {"name": name, "catch_response": True, "allow_redirects": False}
        if method == "POST":
            kwargs.update(data=data, headers=self._post_headers(url))
        with self.client.request(method, url, **kwargs) as response:
            found = TITLE.search(response.text or "")
            got = html.unescape(found.group(1)).strip() if found else ""
            if response.status_code == 0:
                response.failure(f"no response: {response.error!r}"[:200])
            elif response.status_code != 200:
                response.failure(
                    f"status {response.status_code} {response.headers.get('Location', '')}"
                )
            elif not got.startswith(title):
                response.failure(f"wrong page: {got!r}")
            else:
                token = CSRF.search(response.text)
                if token:
                    self.csrf = token.group(1)
                response.success()
            return response

    def post_redirect(self, url: str, data: dict, expect: str, name: str):
        """A form POST that must answer 302 to a location matching `expect` (a regex)."""
        data = {"csrfmiddlewaretoken": self.csrf, **data}
        with self.client.post(
            url,
            data=data,
            name=name,
            headers=self._post_headers(url),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 0:
                response.failure(f"no response: {response.error!r}"[:200])
            elif response.status_code != 302:
                found = TITLE.search(response.text or "")
                response.failure(
                    f"status {response.status_code}, page {found.group(1) if found else '?'!r}"
                )
            elif not re.search(expect, location):
                response.failure(f"redirected to {location!r}")
            else:
                response.success()
            return location

    def _post_headers(self, url: str) -> dict:
        return {"Origin": self.origin, "Referer": self.origin + url}

    def case(self) -> str:
        return random.choice(self.account["cases"])

    # --- the workload ---------------------------------------------------------------------------

    @task(3)
    def dashboard(self):
        self.page("/", "Dashboard", "dashboard")

    @task(4)
    def case_list(self):
        page = random.choice(["", "", "?page=2"])
        self.page(f"/cases/{page}", "Cases", "case list")

    @task(3)
    def case_filter(self):
        """As the browser filters: htmx POSTs the filter form (names stay out of URLs) and
        swaps in the results partial it gets back, not a whole page."""
        data = {"csrfmiddlewaretoken": self.csrf}
        choice = random.random()
        if choice < 0.4:
            data["status"] = random.sample(STATUSES, random.randint(1, 2))
        elif choice < 0.7:
            data["q"] = self.case()  # a reference typed into the search box
        else:
            data["deadline"] = random.choice(["overdue", "7", "30"])
        headers = {
            **self._post_headers("/cases/"),
            "HX-Request": "true",
            "HX-Target": "results",
            "HX-Trigger": "case-filter",
            "HX-Current-URL": self.origin + "/cases/",
        }
        with self.client.post(
            "/cases/",
            data=data,
            headers=headers,
            name="case list: filter (htmx)",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            text = response.text or ""
            if response.status_code == 0:
                response.failure(f"no response: {response.error!r}"[:200])
            elif response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "<title>" in text or not RESULTS.search(text):
                response.failure("not the results partial")
            else:
                response.success()

    @task(6)
    def open_case(self):
        reference = self.case()
        self.page(f"/cases/{reference}/", f"Case {reference}", "case page")

    @task(2)
    def add_note(self):
        reference = self.case()
        self.post_redirect(
            f"/cases/{reference}/notes/new/",
            {"body": random.choice(NOTES)},
            rf"/cases/{re.escape(reference)}/$",
            "note: add",
        )

    @task(1)
    def draft_letter(self):
        reference = self.case()
        response = self.page(f"/letters/new/{reference}/", "New letter", "letter: new form")
        if response.status_code != 200:
            return
        data = {}
        for field in ("template", "authority"):
            select = re.search(
                rf'<select[^>]*name="{field}"[^>]*>.*?</select>', response.text, re.S
            )
            options = (
                re.findall(r'<option value="(\d+)"( selected)?', select.group(0)) if select else []
            )
            chosen = [v for v, sel in options if sel] or [v for v, _ in options]
            data[field] = chosen[0] if chosen else ""
        self.post_redirect(f"/letters/new/{reference}/", data, r"^/letters/\d+/$", "letter: draft")

    @task(1)
    def download_pdf(self):
        letter = random.choice(self.account["letters"])
        with self.client.get(
            f"/letters/{letter}/download/",
            name="letter: PDF",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code == 0:
                response.failure(f"no response: {response.error!r}"[:200])
            elif response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif response.headers.get("Content-Type") != "application/pdf" or (
                not response.content.startswith(b"%PDF")
            ):
                response.failure("not a PDF")
            else:
                response.success()

    @task(1)
    def register(self):
        self.page("/letters/register/", "Outgoing-letter register", "register")
