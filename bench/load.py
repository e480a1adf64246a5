"""Load benchmark: 50 simulated caseworkers against gunicorn + PostgreSQL + Redis + a worker.

    .venv/bin/python bench/load.py [--users 50] [--duration 120] [--spawn-rate 5] [--think 1-3]
                                   [--cases 100000] [--gunicorn-workers 4] [--threads 1]

Everything runs on this machine, on loopback only, and is stopped at the end (also on Ctrl-C or
a failure):

- gunicorn (config.wsgi) on a free 127.0.0.1 port with production settings: DEBUG off,
  whitenoise's compressed manifest static files, the real password hasher, a throwaway secret
  key and encryption keys from scripts/generate-keys.py (kept in var/bench-load/keys.env, since
  the seeded data is encrypted with them), ALLOWED_HOSTS 127.0.0.1. Nothing in the security
  settings is relaxed: the benchmark plays the TLS-terminating proxy that production has in
  front of gunicorn (it sends `X-Forwarded-Proto: https`, as the README requires of the proxy),
  and its client sends the Secure `__Host-` cookies over loopback, as browsers do for
  127.0.0.1;
- PostgreSQL (DATABASE_URL, default the shared server's database pristan_load, which gets the
  settings docs/deployment.md asks of production: random_page_cost 1.1, effective_cache_size
  768MB), Redis
  (CELERY_BROKER_URL, default db 12) and a real Celery worker (`celery -A config worker`);
- its own runtime folder var/bench-load (PRISTAN_VAR_DIR).

Data: `manage.py seed_bulk --cases N` when that command exists (seeded once, reused while the
database holds at least N cases), else `manage.py seed_demo`. Then `--users` caseworker
accounts (bench-cw-NN, kept between runs) with a TOTP device whose key the benchmark knows,
each assigned `--cases-per-user` open cases with a letters consent, and each with at least one
issued letter whose PDF the worker has rendered.

Before the workload, every account logs in through the real forms (password, then the TOTP
code computed from its key), two at a time, and that cost is reported on its own: a morning's
logins are spread out, and 50 PBKDF2 checks at once would only measure the hasher. Then each
simulated caseworker takes one of these sessions and works until the end: dashboard, case
list, filters (POSTed by htmx with its headers, answered with the results partial, as in
the browser), open a case, add a note, draft a letter, download an issued letter's
PDF, the register; every response is checked (status, and that the page is the page asked
for, not the login page or an error page).

Figures: requests per second, median and p95 per request type and for the whole workload (also
after the ramp-up), the error count; the login's cost separately (before the workload).
Printed and written to bench/results/load.json.
"""

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-load"
RESULTS = ROOT / "bench" / "results" / "load.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pristan_load"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/12"
# The cache (and so the sessions) in Redis, as in production (docker-compose's CACHE_URL);
# emptied at the start of a run.
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/13"
USER_PREFIX = "bench-cw-"
SERVER_SETTINGS = {"random_page_cost": "1.1", "effective_cache_size": "768MB"}
TARGET_P95_MS = 300
sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


# --- environment ---------------------------------------------------------------------------------


def _keys() -> tuple[dict[str, str], bool]:
    """The encryption keys of the benchmark's data, generated once (True when new)."""
    path = VAR / "keys.env"
    new = not path.exists()
    if new:
        out = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "generate-keys.py")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path.write_text(out)
        path.chmod(0o600)
    keys = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return keys, new


def _ensure_database(url: str, *, fresh: bool) -> None:
    """Create the benchmark's database if missing; with `fresh`, drop it first (its data would
    be unreadable: the keys it was encrypted with are gone)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("pristan_"):
        raise SystemExit(f"refusing to manage database {name!r}: its name must start pristan_")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            log(f"dropping database {name} (no keys for its data)")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
        # The server settings docs/deployment.md asks of production (docker-compose passes
        # them), whatever the shared server's defaults are.
        for setting, value in SERVER_SETTINGS.items():
            conn.execute(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'")


def configure_environment(args) -> str:
    VAR.mkdir(parents=True, exist_ok=True)
    keys, new_keys = _keys()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    _ensure_database(database_url, fresh=new_keys or args.reseed)
    os.environ.update(
        {
            "PRISTAN_IGNORE_DOTENV": "1",
            "PRISTAN_VAR_DIR": str(VAR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-load-" + secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL),
            "CACHE_URL": os.environ.get("CACHE_URL", DEFAULT_CACHE_URL),
            "DJANGO_EMAIL_BACKEND": "locmem",
            "DJANGO_LOG_LEVEL": "WARNING",
            **keys,
        }
    )
    return database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- processes -----------------------------------------------------------------------------------


class Stack:
    """The processes this run started, each in its own process group; stopped in reverse."""

    def __init__(self):
        self.processes: list[tuple[str, subprocess.Popen, object]] = []

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        logfile = open(VAR / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=kwargs.pop("stdout", logfile),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        self.processes.append((name, process, logfile))
        return process

    def stop(self) -> None:
        while self.processes:
            name, process, logfile = self.processes.pop()
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            logfile.close()


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) of a process and its children that are still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class DatabaseCpu(threading.Thread):
    """CPU time of the PostgreSQL backends serving the benchmark's database, sampled every
    half second (connections come and go with CONN_MAX_AGE, so each backend is followed from
    the first to the last time it is seen)."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.url = database_url.replace("postgres://", "postgresql://", 1)
        self.database = urlsplit(database_url).path.lstrip("/")
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchall()
                for (pid,) in pids:
                    cpu = _cpu_s(pid)
                    self.first.setdefault(pid, cpu)
                    self.last[pid] = cpu
                self.stopping.wait(0.5)

    def stop(self) -> float:
        self.stopping.set()
        self.join(10)
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def start_worker(stack: Stack) -> None:
    stack.start(
        "worker",
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
            "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-n", f"bench-load-{os.getpid()}@%h",
        ],
    )  # fmt: skip


def start_gunicorn(stack: Stack, args, port: int) -> str:
    argv = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--config", str(ROOT / "config" / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
        "--access-logfile", str(VAR / "access.log"), "--graceful-timeout", "5",
    ]  # fmt: skip
    if args.threads > 1:
        argv += ["--worker-class", "gthread", "--threads", str(args.threads)]
    stack.start("gunicorn", argv)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            base + "/accounts/login/", headers={"X-Forwarded-Proto": "https"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return base
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer; see {VAR / 'gunicorn.log'}")
        time.sleep(0.5)


# --- data ----------------------------------------------------------------------------------------


def seed(cases: int, users: int) -> None:
    from django.core.management import call_command, get_commands
    from django.db import connection

    from casework.models import Case

    have = Case.objects.count()
    if "seed_bulk" in get_commands():
        if have >= cases:
            log(f"reusing {have} seeded cases")
            return
        log(f"seed_bulk --cases {cases} (once; later runs reuse the data)")
        started = time.monotonic()
        call_command(
            "seed_bulk", cases=cases - have, caseworkers=max(50, users), allow_production=True
        )
        # Fresh statistics for the planner: before autovacuum gets to the new rows, it
        # estimates a hundred rows where there are a hundred thousand and picks slow plans.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        log(f"seeded and analysed in {time.monotonic() - started:.0f} s")
    elif have == 0:
        log("no seed_bulk command yet: seeding the demo data (about 40 cases)")
        call_command("seed_demo", allow_production=True, password=secrets.token_urlsafe(16))
    else:
        log(f"reusing {have} cases (no seed_bulk command yet)")


def _bulk_names() -> tuple[list[str], str] | None:
    """seed_bulk's caseworkers and coordinator, when that data is there."""
    try:
        from demo import bulk
    except ImportError:
        return None
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(username=bulk.COORDINATOR).exists():
        return None
    return bulk.caseworker_name, bulk.COORDINATOR


def prepare_users(n: int, per_user: int) -> tuple[list[dict], object]:
    """`n` caseworkers: seed_bulk's (bulk-caseworker-NNN, with the cases seed_bulk assigned
    them), else bench-cw-NN in the organisation with the most cases, given `per_user` cases.
    Each gets a password that the benchmark knows (kept, with the TOTP key, in
    var/bench-load/accounts.json, mode 0600); up to `per_user` of their open cases with a
    letters consent are the ones the simulated user opens, annotates and writes letters for."""
    from axes.models import AccessAttempt
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Count

    from accounts import services as account_services
    from accounts.models import TOTPDevice
    from casework.models import Assignment, Case, Consent, Membership, Organisation

    User = get_user_model()
    store_path = VAR / "accounts.json"
    store = json.loads(store_path.read_text()) if store_path.exists() else {}
    bulk = _bulk_names()
    if bulk:
        name_of, coordinator_name = bulk
        usernames = [name_of(i) for i in range(1, n + 1)]
        coordinator = User.objects.get(username=coordinator_name)
        org = coordinator.membership.organisation
    else:
        usernames = [f"{USER_PREFIX}{i:02d}" for i in range(1, n + 1)]
        org = Organisation.objects.annotate(n=Count("cases")).order_by("-n").first()
        coordinator = (
            User.objects.filter(membership__organisation=org, membership__role="coordinator")
            .order_by("pk")
            .first()
        )
    workable = (
        Case.objects.filter(organisation=org)
        .exclude(status=Case.Status.CLOSED)
        .filter(consents__purpose=Consent.Purpose.LETTERS, consents__withdrawn_on=None)
        .order_by("pk")
        .distinct()
    )
    spare = None
    accounts = []
    hashed = 0
    for i, username in enumerate(usernames):
        known = store.get(username) or {}
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": "Bench", "last_name": f"Caseworker {i + 1}"},
            )
            if created or not bulk:
                Membership.objects.update_or_create(
                    user=user, defaults={"organisation": org, "role": Membership.Role.CASEWORKER}
                )
            user.is_active = True
            # Hashing is slow by design: only when the stored password is not this user's.
            if not known.get("password") or known.get("hash") != user.password:
                known = {"password": secrets.token_urlsafe(18)}
                user.set_password(known["password"])
                hashed += 1
            user.save()
            known["hash"] = user.password
            device = account_services.totp_device(user)
            if device is None:
                TOTPDevice.objects.filter(user=user).delete()
                device = TOTPDevice.objects.create(
                    user=user, name=account_services.TOTP_NAME, confirmed=True
                )
            known["totp_key"] = device.key
            # A code is accepted once per time step: forget the last run's logins.
            TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
            store[username] = known
            mine = list(
                workable.filter(assignments__user=user).values_list("pk", flat=True)[:per_user]
            )
            if len(mine) < per_user and not bulk:
                if spare is None:
                    spare = list(workable.values_list("pk", flat=True)[: n * per_user])
                # Spread over the cases; with few cases (the demo data) users share them.
                if len(spare) >= n * per_user:
                    mine = spare[i * per_user : (i + 1) * per_user]
                else:
                    mine = spare[:per_user]
                Assignment.objects.bulk_create(
                    [Assignment(case_id=pk, user=user, assigned_by=coordinator) for pk in mine],
                    ignore_conflicts=True,
                )
        if not mine:
            raise SystemExit(f"{username} has no open case with a letters consent")
        references = list(
            Case.objects.filter(pk__in=mine).order_by("pk").values_list("reference", flat=True)
        )
        accounts.append(
            {
                "username": username,
                "user_id": user.pk,
                "password": known["password"],
                "totp_key": known["totp_key"],
                "cases": references,
                "assigned": Assignment.objects.filter(user=user).count(),
            }
        )
    AccessAttempt.objects.all().delete()  # the benchmark's own database: no lockouts left
    store_path.write_text(json.dumps(store))
    store_path.chmod(0o600)
    log(
        f"{n} caseworkers ready ({'seed_bulk' if bulk else 'bench'} accounts, {hashed} "
        f"passwords set), {min(a['assigned'] for a in accounts)}–"
        f"{max(a['assigned'] for a in accounts)} assigned cases each"
    )
    return accounts, coordinator


def ensure_issued_letters(accounts: list[dict], coordinator, timeout: float = 600) -> None:
    """Every caseworker has at least one issued letter rendered by the worker on their cases:
    drafted by them, approved and issued by a coordinator through the services, as in the app."""
    from django.contrib.auth import get_user_model

    from casework.models import Authority, Case
    from letters import services
    from letters.models import Letter, LetterTemplate

    User = get_user_model()
    to_issue = []
    for account in accounts:
        ready = (
            Letter.objects.filter(
                case__reference__in=account["cases"],
                status=Letter.Status.ISSUED,
                render_status__in=[Letter.RenderStatus.READY, Letter.RenderStatus.PENDING],
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ready:
            continue
        case = Case.objects.select_related("authority").get(reference=account["cases"][0])
        author = User.objects.get(pk=account["user_id"])
        authority = case.authority or Authority.objects.order_by("pk").first()
        # A confirmation in the addressee's language: it needs no facts and no references, so
        # the checks before issuing pass for any bulk case.
        template = LetterTemplate.objects.get(
            kind=LetterTemplate.Kind.CONFIRMATION, language=authority.language, organisation=None
        )
        letter = services.letter_draft(case=case, template=template, authority=authority, by=author)
        services.letter_submit(letter=letter, by=author)
        services.letter_approve(letter=letter, by=coordinator, text_hash=letter.text_hash)
        to_issue.append(letter)
    if to_issue:
        log(f"issuing {len(to_issue)} letters for the PDF downloads (rendered by the worker)")
        services.letters_issue(letters=to_issue, by=coordinator)
    deadline = time.monotonic() + timeout
    for account in accounts:
        while True:
            ready = list(
                Letter.objects.filter(
                    case__reference__in=account["cases"],
                    status=Letter.Status.ISSUED,
                    render_status=Letter.RenderStatus.READY,
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:5]
            )
            if ready:
                account["letters"] = ready
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"letters not rendered in time; see {VAR / 'worker.log'}")
            time.sleep(0.5)


# --- logging in ----------------------------------------------------------------------------------


def totp(key_hex: str, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 with django-otp's defaults (SHA-1, 30 s, 6 digits)."""
    counter = struct.pack(">Q", int(at) // step)
    digest = hmac.new(bytes.fromhex(key_hex), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 10**digits:0{digits}d}"


def _loopback_cookies() -> None:
    """Send Secure cookies to 127.0.0.1 over http, as browsers do for loopback (the same patch
    as in locustfile.py; requests copies cookies into jars with the default policy)."""
    from http.cookiejar import DefaultCookiePolicy

    original = DefaultCookiePolicy.return_ok_secure

    def return_ok_secure(self, cookie, request):
        if urlsplit(request.get_full_url()).hostname == "127.0.0.1":
            return True
        return original(self, cookie, request)

    DefaultCookiePolicy.return_ok_secure = return_ok_secure


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def login(base: str, account: dict) -> list[float]:
    """The real login: the form, the password, the code form, the code; returns the four
    response times (ms) and leaves the session's cookies in `account["cookies"]`."""
    import requests

    origin = "https://" + urlsplit(base).netloc
    session = requests.Session()
    session.headers.update({"X-Forwarded-Proto": "https", "Accept-Language": "en"})
    steps = [
        ("GET", "/accounts/login/", None, 200, ""),
        ("POST", "/accounts/login/", {"username": account["username"],
         "password": account["password"]}, 302, "/accounts/login/code/"),
        ("GET", "/accounts/login/code/", None, 200, ""),
        ("POST", "/accounts/login/code/", {"code": None}, 302, "/"),
    ]  # fmt: skip
    times, token = [], ""
    for method, path, data, status, location in steps:
        headers = {"Origin": origin, "Referer": origin + path} if method == "POST" else {}
        if data is not None:
            data = {"csrfmiddlewaretoken": token, **data}
            if "code" in data:
                data["code"] = totp(account["totp_key"], time.time())
        started = time.perf_counter()
        response = session.request(
            method, base + path, data=data, headers=headers, allow_redirects=False, timeout=120
        )
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != status or (
            location and response.headers.get("Location") != location
        ):
            raise SystemExit(
                f"login of {account['username']} failed at {method} {path}: "
                f"{response.status_code} {response.headers.get('Location', '')}"
            )
        found = CSRF.search(response.text)
        token = found.group(1) if found else token
    account["cookies"] = {c.name: c.value for c in session.cookies}
    return times


def login_all(base: str, accounts: list[dict], concurrency: int) -> dict:
    """Log every account in, `concurrency` at a time; the cost, apart from the workload."""
    from concurrent.futures import ThreadPoolExecutor

    _loopback_cookies()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        all_times = list(pool.map(lambda a: login(base, a), accounts))
    wall = time.perf_counter() - started
    per_login = [sum(t) for t in all_times]
    password = [t[1] for t in all_times]
    return {
        "logins": len(accounts),
        "concurrency": concurrency,
        "wall_s": round(wall, 1),
        "per_login_median_ms": round(statistics.median(per_login), 1),
        "per_login_p95_ms": round(_percentile(per_login, 95), 1),
        "password_step_median_ms": round(statistics.median(password), 1),
        "note": "4 requests each: form, password (PBKDF2), code form, TOTP code",
    }


# --- the run -------------------------------------------------------------------------------------


def run_locust(stack: Stack, args, base: str, accounts_file: Path, samples: Path) -> float:
    os.environ["BENCH_LOAD_ACCOUNTS"] = str(accounts_file)
    os.environ["BENCH_LOAD_SAMPLES"] = str(samples)
    os.environ["BENCH_LOAD_THINK"] = args.think
    process = stack.start(
        "locust",
        [
            str(Path(sys.executable).with_name("locust")),
            "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{args.duration}s", "--host", base, "--stop-timeout", "10",
            "--only-summary", "--loglevel", "WARNING",
        ],
    )  # fmt: skip
    _pid, _status, usage = os.wait4(process.pid, 0)
    process.returncode = _status
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _figures(rows: list[list], seconds: float) -> dict:
    times = [r[2] for r in rows]
    return {
        "requests": len(rows),
        "errors": sum(1 for r in rows if r[3]),
        "rps": round(len(rows) / seconds, 2) if seconds > 0 else 0,
        "median_ms": round(statistics.median(times), 1) if times else 0,
        "p95_ms": round(_percentile(times, 95), 1),
        "p99_ms": round(_percentile(times, 99), 1),
        "max_ms": round(max(times), 1) if times else 0,
    }


def summarise(samples: Path, ramp_s: float) -> dict:
    rows = json.loads(samples.read_text())["samples"]  # [name, start s, ms, error or ""]
    if not rows:
        raise SystemExit("locust made no request")
    first = min(r[1] for r in rows)
    span = max(r[1] for r in rows) - first
    steady = [r for r in rows if r[1] >= first + ramp_s]
    errors: dict[str, int] = {}
    for r in rows:
        if r[3]:
            key = f"{r[0]}: {r[3]}"
            errors[key] = errors.get(key, 0) + 1
    return {
        "workload": _figures(rows, span),
        "workload_after_ramp_up": _figures(steady, span - ramp_s),
        "per_request": {
            name: _figures([r for r in rows if r[0] == name], span)
            for name in sorted({r[0] for r in rows})
        },
        "errors": errors,
    }


def print_results(result: dict) -> None:
    w = result["workload"]
    print()
    print(
        f"{'request':<30} {'n':>6} {'err':>4} {'rps':>7} {'median':>8} {'p95':>8} {'p99':>8} "
        f"{'max':>8}"
    )
    for name, f in result["per_request"].items():
        print(
            f"{name:<30} {f['requests']:>6} {f['errors']:>4} {f['rps']:>7} "
            f"{f['median_ms']:>6.0f}ms {f['p95_ms']:>6.0f}ms {f['p99_ms']:>6.0f}ms "
            f"{f['max_ms']:>6.0f}ms"
        )
    for label, f in (
        ("WORKLOAD (all)", w),
        ("WORKLOAD (after ramp-up)", result["workload_after_ramp_up"]),
    ):
        print(
            f"{label:<30} {f['requests']:>6} {f['errors']:>4} {f['rps']:>7} "
            f"{f['median_ms']:>6.0f}ms {f['p95_ms']:>6.0f}ms {f['p99_ms']:>6.0f}ms "
            f"{f['max_ms']:>6.0f}ms"
        )
    li = result["login"]
    print(
        f"\nlogin (before the workload, {li['concurrency']} at a time, {li['note']}): "
        f"{li['logins']} in {li['wall_s']} s, per login median {li['per_login_median_ms']:.0f} ms, "
        f"p95 {li['per_login_p95_ms']:.0f} ms; password step median "
        f"{li['password_step_median_ms']:.0f} ms"
    )
    for message, count in result["errors"].items():
        print(f"  error ×{count}: {message}")
    verdict = "MET" if result["target_met"] else "MISSED"
    print(
        f"\ntarget (0 errors, workload p95 < {TARGET_P95_MS} ms): {verdict} · "
        f"load average {result['machine']['load_average_after']} · "
        f"locust used {result['machine']['locust_cpu_s']} CPU s · gunicorn "
        f"{result['machine']['gunicorn_cpu_ms_per_request']} and PostgreSQL "
        f"{result['machine']['postgresql_cpu_ms_per_request']} CPU ms per request"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--cases", type=int, default=100_000, help="seed_bulk size")
    parser.add_argument("--cases-per-user", type=int, default=40)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument(
        "--think",
        default="1-3",
        type=lambda v: ",".join(v.replace("-", ",").split(",")[:2]),
        help="think time between tasks in seconds, MIN-MAX (1-3: a brisk pace; 5-15: a human one)",
    )
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database anew")
    args = parser.parse_args()

    # Ctrl-C, a kill or a closed terminal: stop what was started (also when started in the
    # background, where SIGINT would otherwise be ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)
    database_url = configure_environment(args)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    stack = Stack()
    try:
        log("migrate, collectstatic, empty the cache")
        call_command("migrate", verbosity=0)
        from django.core.cache import cache

        cache.clear()
        call_command("collectstatic", interactive=False, verbosity=0)
        seed(args.cases, args.users)
        start_worker(stack)
        accounts, coordinator = prepare_users(args.users, args.cases_per_user)
        ensure_issued_letters(accounts, coordinator)
        connections.close_all()
        port = free_port()
        base = start_gunicorn(stack, args, port)
        gunicorn_pid = stack.processes[-1][1].pid
        log(f"logging {len(accounts)} caseworkers in through the forms, 2 at a time")
        login_figures = login_all(base, accounts, concurrency=2)
        accounts_file = VAR / "run-accounts.json"
        accounts_file.write_text(json.dumps(accounts))
        accounts_file.chmod(0o600)
        log(
            f"gunicorn at {base} ({args.gunicorn_workers} workers × {args.threads} threads); "
            f"locust: {args.users} users, spawn {args.spawn_rate}/s, {args.duration} s"
        )
        samples = VAR / "samples.json"
        samples.unlink(missing_ok=True)
        load_before = os.getloadavg()
        web_cpu_before = _cpu_s(gunicorn_pid)
        db_cpu = DatabaseCpu(database_url)
        db_cpu.start()
        locust_cpu = run_locust(stack, args, base, accounts_file, samples)
        web_cpu = _cpu_s(gunicorn_pid) - web_cpu_before
        db_cpu_s = db_cpu.stop()
        load_after = os.getloadavg()
        if not samples.exists():
            raise SystemExit(f"locust wrote no samples; see {VAR / 'locust.log'}")
        result = summarise(samples, ramp_s=args.users / args.spawn_rate)
        result["login"] = login_figures
    except KeyboardInterrupt:
        log("interrupted: stopping what was started")
        return 130
    finally:
        stack.stop()
    from casework.models import Case

    result = {
        "benchmark": "load",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {
            "users": args.users,
            "duration_s": args.duration,
            "spawn_rate": args.spawn_rate,
            "think_time_s": args.think,
            "gunicorn": f"{args.gunicorn_workers} workers × {args.threads} threads"
            + (" (gthread)" if args.threads > 1 else " (sync)"),
            "cases_in_database": Case.objects.count(),
            "cases_per_user": args.cases_per_user,
            "database": urlsplit(database_url).path.lstrip("/"),
        },
        **result,
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "locust_cpu_s": round(locust_cpu, 1),
            "gunicorn_cpu_s": round(web_cpu, 1),
            "gunicorn_cpu_ms_per_request": round(
                1000 * web_cpu / result["workload"]["requests"], 1
            ),
            "postgresql_cpu_s": round(db_cpu_s, 1),
            "postgresql_cpu_ms_per_request": round(
                1000 * db_cpu_s / result["workload"]["requests"], 1
            ),
        },
    }
    result["target_met"] = (
        result["workload"]["errors"] == 0 and result["workload"]["p95_ms"] < TARGET_P95_MS
    )
    print_results(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"written {RESULTS.relative_to(ROOT)}")
    shutil.copy(samples, VAR / "samples-last.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
