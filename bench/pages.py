"""Pages benchmark: server time and SQL queries of the main pages at 100,000 cases.

    .venv/bin/python bench/pages.py [--cases 100000] [--runs 30] [--warmup 5]

PostgreSQL from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pristan_bench, which
`make bench-pages` creates; it is migrated first). If it holds fewer cases than asked,
`seed_bulk` adds the difference first (100,000 cases: 6 to 12 minutes on this shared 2-core
machine). The encryption keys of that database are kept in var/bench-pages/keys.env (made on
the first run), unless FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY are set.

The database gets the PostgreSQL settings docs/deployment.md asks of production
(random_page_cost 1.1, effective_cache_size 768MB; ALTER DATABASE), whatever the server's own.

Each page is requested in-process with Django's test Client, logged in (password and an
OTP-verified session) as the bulk coordinator (sees every case) and as a bulk caseworker (sees
their assigned cases). Server time is the time spent in the request handler, middleware
included; the median and p95 are taken over --runs requests after --warmup. Queries are counted
with CaptureQueriesContext.

CPU per request: the web side is the request thread's CPU time in the handler (what a gunicorn
worker spends), PostgreSQL's is the CPU of the connection's backend process read from /proc
before and after each request (10 ms ticks, so averaged over the runs). Each page's requests
alternate with a bare login-required view through the same middleware ("ping"), and the page's
CPU is printed as a ratio to the ping's of the same run (target: at most 3×): a busy machine
inflates both alike. Pages that answer 403 for a role (the import page for caseworkers) are
skipped for it. The calendar feed's per-address rate limit is lifted for the run.

The N+1 check compares the queries of each list page showing few
rows and a full page, and of a case page with one note, letter, relative, event vs. twenty
(a "rich" bench case, created once). Production settings (DEBUG off), with the cache and the
sessions in Redis (CACHE_URL, default db 14, emptied at the start). Results are printed and
written to bench/results/pages.json. Targets: p95 < 100 ms, CPU at most 3× the ping's,
queries independent of the rows.
"""

import argparse
import base64
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-pages"
RESULTS = ROOT / "bench" / "results" / "pages.json"
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pristan_bench"
DEFAULT_CACHE = "redis://127.0.0.1:6379/14"
PASSWORD = "bench-pages-password"  # noqa: S105  (bench logins of a bench-only database)
RICH = "Bench: rich case"
TARGET_P95_MS = 100
TARGET_CPU_RATIO = 3
FILTERS = "status=active&status=awaiting_decision&risk=high"


def configure_environment() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PRISTAN_VAR_DIR", str(VAR))
    os.environ["PRISTAN_IGNORE_DOTENV"] = "1"
    os.environ["DJANGO_DEBUG"] = "0"  # production settings: no query log, no debug pages
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    # The cache (and so the sessions) in Redis, as in production (docker-compose's CACHE_URL).
    os.environ.setdefault("CACHE_URL", DEFAULT_CACHE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if not (os.environ.get("FIELD_ENCRYPTION_KEYS") and os.environ.get("SEARCH_INDEX_KEY")):
        keys = VAR / "keys.env"
        if not keys.exists():
            keys.write_text(
                f"FIELD_ENCRYPTION_KEYS={base64.b64encode(secrets.token_bytes(32)).decode()}\n"
                f"SEARCH_INDEX_KEY={secrets.token_hex(16)}\n"
            )
            keys.chmod(0o600)
        for line in keys.read_text().splitlines():
            name, _, value = line.partition("=")
            os.environ[name] = value


# The server settings docs/deployment.md asks of production (docker-compose passes them): the
# bench's database gets them, whatever the shared server's defaults are.
SERVER_SETTINGS = {"random_page_cost": "1.1", "effective_cache_size": "768MB"}


def tune_database() -> None:
    """Set SERVER_SETTINGS on the bench's database (for its next connections) and this one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    database = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        for name, value in SERVER_SETTINGS.items():
            cursor.execute(f'ALTER DATABASE "{database}" SET {name} = %s', [value])
            cursor.execute(f"SET {name} = %s", [value])


def seed_if_needed(cases: int) -> float | None:
    from django.core.management import call_command

    from casework.models import Case

    call_command("migrate", verbosity=0)  # a fresh database, or one made by an older version
    tune_database()
    have = Case.objects.count()
    if have >= cases:
        return None
    print(f"The database has {have} cases; adding {cases - have} with seed_bulk…", flush=True)
    started = time.monotonic()
    call_command(
        "seed_bulk",
        "--cases",
        str(cases - have),
        "--password",
        PASSWORD,
        "--allow-production",
    )
    return time.monotonic() - started


def login(username: str):
    """A test Client logged in as the user with a session verified by their authenticator."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import TOTPDevice

    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client, user


def rich_case(caseworker, coordinator):
    """A case of the caseworker with twenty notes, relatives, events and letters (once)."""
    from django.db import transaction
    from django.utils import timezone

    from casework.models import Case, ClientName, Event, Note, Relative
    from letters.models import Letter, LetterTemplate, LetterTemplateVersion

    case = (
        Case.objects.filter(client__pseudonym=RICH, assignments__user=caseworker)
        .order_by("pk")
        .first()
    )
    if case is not None:
        return case
    base = Case.objects.filter(assignments__user=caseworker).order_by("pk").first()
    with transaction.atomic():
        names = list(ClientName.objects.filter(client_id=base.client_id))
        client = _copy(base.client, pseudonym=RICH)
        for name in names:
            _copy(name, client=client)
        case = _copy(base, client=client, reference=f"{base.reference}-R")
        case.assignments.create(user=caseworker, assigned_by=coordinator)
        case.grounds.set(base.grounds.all())
        template = LetterTemplate.objects.filter(language="en").first()
        version = LetterTemplateVersion.objects.filter(template=template).first()
        for n in range(20):
            Note.objects.create(case=case, author=caseworker, body=f"Bench note {n}.")
            Relative.objects.create(client=client, relation="sibling", full_name=f"Bench {n}")
            Event.objects.create(
                case=case,
                kind=Event.Kind.SUBMISSION,
                title=f"Bench deadline {n}",
                date=timezone.localdate() + timedelta(days=n - 5),
                is_deadline=True,
            )
            Letter.objects.create(
                case=case,
                template_version=version,
                authority=case.authority,
                language="en",
                body=f"Bench letter {n}.",
                author=caseworker,
            )
            case.log(caseworker, "note")
    return case


def checklist_case(caseworker, rich):
    """A case of the caseworker with a procedure and its checklist (added once): the newest
    one, so that it is neither the rich case nor the N+1 check's case with few rows."""
    from casework.models import Case, CaseProcedure, Procedure

    case = Case.objects.visible_to(caseworker).exclude(pk=rich.pk).order_by("-pk").first()
    if not case.procedures.exists():
        procedure = Procedure.objects.for_organisation(case.organisation_id).first()
        CaseProcedure.objects.create(case=case, procedure=procedure, added_by=caseworker)
    return case


def _copy(obj, **changes):
    import uuid

    # Encrypted fields are decrypted before the copy takes a new crypto id: the stored
    # ciphertext is bound to the old one.
    for field in obj._meta.concrete_fields:
        getattr(obj, field.attname)
    obj.pk = obj.id = None
    if hasattr(obj, "crypto_id"):
        obj.crypto_id = uuid.uuid4()
    for key, value in changes.items():
        setattr(obj, key, value)
    obj._state.adding = True
    obj.save()
    return obj


PING = "/bench-ping/"
HTMX = {"HX-Request": "true", "HX-Target": "results", "HX-Trigger": "case-filter"}


def _ping(request):
    from django.http import HttpResponse

    return HttpResponse("pong")


def add_ping_view() -> None:
    """A bare view behind every middleware (login required, like every page), at PING."""
    import types
    from importlib import import_module

    from django.conf import settings
    from django.urls import clear_url_caches, path

    urls = import_module(settings.ROOT_URLCONF)
    module = types.ModuleType("bench_pages_urls")
    module.urlpatterns = [path(PING.strip("/") + "/", _ping), *urls.urlpatterns]  # type: ignore[attr-defined]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        if hasattr(urls, name):
            setattr(module, name, getattr(urls, name))
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine; 0 if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sample:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.web_cpu: list[float] = []
        self.db_cpu = 0.0
        self.queries: list[int] = []

    def figures(self) -> dict:
        ordered = sorted(self.wall)
        n = len(self.wall)
        return {
            "min_ms": round(ordered[0], 1),
            "median_ms": round(statistics.median(self.wall), 1),
            "p95_ms": round(ordered[max(0, round(0.95 * n) - 1)], 1),
            "web_cpu_ms": round(statistics.mean(self.web_cpu), 1),
            "db_cpu_ms": round(1000 * self.db_cpu / n, 1),
            "queries": max(self.queries),
            "queries_min": min(self.queries),
        }


def measure(
    client, method: str, path: str, data: dict | None, runs: int, warmup: int, headers=None
) -> dict:
    """The page's figures and the ping's, their requests alternating (page, ping, page…)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    handler = client.handler
    inner = type(handler).get_response.__get__(handler)
    current: list[Sample] = []

    def timed(request):
        started, cpu = time.perf_counter(), time.thread_time()
        response = inner(request)
        current[0].web_cpu.append((time.thread_time() - cpu) * 1000)
        current[0].wall.append((time.perf_counter() - started) * 1000)
        return response

    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        cursor.execute("SELECT pg_backend_pid()" if postgres else "SELECT 0")
        backend = cursor.fetchone()[0]
    handler.get_response = timed
    page, ping = Sample(), Sample()
    requests = (
        (page, client.post if method == "POST" else client.get, path, data or {}, headers or {}),
        (ping, client.get, PING, {}, {}),
    )
    try:
        for n in range(warmup + runs):
            for sample, send, url, payload, extra in requests:
                current[:] = [sample if n >= warmup else Sample()]
                db_before = _backend_cpu_s(backend)
                with CaptureQueriesContext(connection) as ctx:
                    response = send(url, payload, secure=True, headers=extra)
                current[0].db_cpu += _backend_cpu_s(backend) - db_before
                if response.status_code != 200:
                    raise SystemExit(f"{method} {url} answered {response.status_code}")
                current[0].queries.append(len(ctx.captured_queries))
    finally:
        del handler.get_response
    figures, bare = page.figures(), ping.figures()
    cpu = figures["web_cpu_ms"] + figures["db_cpu_ms"]
    bare_cpu = bare["web_cpu_ms"] + bare["db_cpu_ms"]
    figures["ping"] = bare
    figures["cpu_ratio"] = round(cpu / bare_cpu, 2) if bare_cpu else None
    return figures


def profile(label: str, send, path: str, data: dict, headers: dict, requests: int) -> None:
    """Print where a page's CPU goes: its top functions over `requests` requests."""
    import cProfile
    import io
    import pstats

    for _ in range(3):  # warm caches as the timed runs do
        send(path, data, secure=True, headers=headers)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        send(path, data, secure=True, headers=headers)
    profiler.disable()
    dump = VAR / f"profile-{label.replace(', ', '-').replace(' ', '-')}.prof"
    profiler.dump_stats(dump)  # for pstats' callers/callees, or snakeviz
    print(f"\n(profile written to {dump.relative_to(ROOT)})")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(30)
        print(f"\n=== {label}: {requests} requests, by {order} ===")
        print(out.getvalue().split("\n\n", 2)[-1].rstrip())


def query_count(client, method, path, data=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = client.post if method == "POST" else client.get
    send(path, data or {}, secure=True)  # warm caches the same way as the measured request
    with CaptureQueriesContext(connection) as ctx:
        response = send(path, data or {}, secure=True)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


def pages_for(user, rich) -> dict[str, tuple[str, str, dict | None]]:
    from casework.models import Case, ClientName

    case = Case.objects.visible_to(user).exclude(pk=rich.pk).order_by("-opened_at", "-pk").first()
    names = {n.script: n for n in ClientName.objects.filter(client_id=case.client_id)}
    cyrl, latn = names["cyrl"], names["latn"]
    return {
        "dashboard": ("GET", "/", None),
        "case list": ("GET", "/cases/", None),
        "case list, filtered": ("GET", f"/cases/?{FILTERS}", None),
        "search, Cyrillic": ("POST", "/cases/", {"q": f"{cyrl.family_name} {cyrl.given_names}"}),
        "search, Latin": ("POST", "/cases/", {"q": f"{latn.family_name} {latn.given_names}"}),
        "case page": ("GET", f"/cases/{case.reference}/", None),
        "register": ("GET", "/letters/register/", None),
    }  # fmt: skip


def more_pages(user, checklist) -> dict[str, tuple[str, str, dict | None, dict | None]]:
    """The pages with request headers or set-up of their own: the case list's filters as the
    browser sends them (htmx POST of the form, answered with the results partial), the case
    page with a checklist, the import page and the calendar feed (issue 13)."""
    from django.test import RequestFactory

    from accounts import feeds

    filters = {"status": ["active", "awaiting_decision"], "risk": "high"}
    request = RequestFactory().get("/")
    request.user = user
    token = feeds.calendar_feed_create(user=user, request=request)
    return {
        "case list, htmx filter": ("POST", "/cases/", filters, HTMX),
        "case page, checklist": ("GET", f"/cases/{checklist.reference}/", None, None),
        "import page": ("GET", "/import/", None, None),
        "calendar feed": ("GET", f"/accounts/calendar/{token}/", None, None),
    }  # fmt: skip


def n_plus_one(client, user, rich) -> dict:
    """Queries with few rows shown vs. many."""
    from django.db.models import Count

    from casework.models import Case, ClientName
    from letters.models import Letter

    few_case = (
        Case.objects.visible_to(user)
        .exclude(pk=rich.pk)
        .filter(client__relatives__isnull=True, letters__isnull=True)
        .order_by("pk")
        .first()
    )
    issued = Letter.objects.visible_to(user).filter(status=Letter.Status.ISSUED)
    per_authority = issued.order_by().values_list("authority").annotate(n=Count("pk")).order_by("n")
    rare, common = per_authority.first()[0], per_authority.last()[0]
    surname = ClientName.objects.filter(client__cases__in=Case.objects.visible_to(user)).first()
    checks = {
        "case list (search: 1 row vs 25)": (
            ("POST", "/cases/", {"q": few_case.reference}),
            ("POST", "/cases/", {"q": surname.family_name}),
        ),
        "case page (0-1 of each vs 20 notes, letters, relatives, events)": (
            ("GET", f"/cases/{few_case.reference}/", None),
            ("GET", f"/cases/{rich.reference}/", None),
        ),
        "register (rarest vs commonest addressee)": (
            ("GET", f"/letters/register/?authority={rare}", None),
            ("GET", f"/letters/register/?authority={common}", None),
        ),
    }
    out = {}
    for label, (few, many) in checks.items():
        out[label] = {"few": query_count(client, *few), "many": query_count(client, *many)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--caseworker", default="bulk-caseworker-001")
    parser.add_argument("--only", help="Only the pages whose name contains this (iterating).")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="Instead of timing, profile each page (cProfile, N requests) and print its top "
        "functions by own time and by cumulative time; with --only, one page at a time.",
    )
    args = parser.parse_args()
    configure_environment()
    import django

    django.setup()
    from django.db import connection

    from casework.models import Case
    from demo import bulk
    from letters.models import Letter

    if connection.vendor != "postgresql":
        print(f"Note: this is {connection.vendor}, not PostgreSQL.")
    seed_seconds = seed_if_needed(args.cases)
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    cache.clear()  # what an earlier run on another database left (the filter options)
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: hashed names
    from django.contrib.auth import get_user_model

    coordinator = get_user_model().objects.get(username=bulk.COORDINATOR)
    caseworker = get_user_model().objects.get(username=args.caseworker)
    rich = rich_case(caseworker, coordinator)
    results = {
        "cases": Case.objects.count(),
        "letters issued": Letter.objects.exclude(number="").count(),
        "database": connection.vendor,
        "runs": args.runs,
        "warmup": args.warmup,
        "seed_seconds": round(seed_seconds, 1) if seed_seconds else None,
        "machine": f"{platform.node()} {os.cpu_count()} cores",
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        # Other work on the machine inflates every figure; the load says how much there was.
        "load_average_before": os.getloadavg()[0],
        "pages": {},
        "n_plus_one": {},
    }  # fmt: skip
    print(
        f"{results['cases']} cases, {results['letters issued']} letters issued, {connection.vendor}"
    )
    header = (
        f"{'page':<22} {'as':<11} {'visible':>7} {'median':>7} {'p95 ms':>7} {'SQL':>4} "
        f"{'CPU web':>8} {'CPU db':>7} {'ping web':>8} {'ping db':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    from accounts import feed_views

    feed_views.FEED_RATE = 10**9  # the bench's many requests come from one address
    add_ping_view()
    rich.procedures.all().delete()  # (an earlier version of this bench gave it one)
    checklist = checklist_case(caseworker, rich)
    for role, user in (("coordinator", coordinator), ("caseworker", caseworker)):
        client, _ = login(user.username)
        visible = Case.objects.visible_to(user).count()
        pages = {k: (*v, None) for k, v in pages_for(user, rich).items()}
        pages.update(more_pages(user, checklist))
        for page, (method, path, data, headers) in pages.items():
            if args.only and args.only not in page:
                continue
            send = client.post if method == "POST" else client.get
            if send(path, data or {}, secure=True, headers=headers or {}).status_code == 403:
                continue  # not this role's page
            if args.profile:
                profile(f"{page}, {role}", send, path, data or {}, headers or {}, args.profile)
                continue
            figures = measure(client, method, path, data, args.runs, args.warmup, headers)
            results["pages"].setdefault(page, {})[role] = figures
            ping = figures["ping"]
            flags = "" if figures["p95_ms"] < TARGET_P95_MS else "  p95 > target"
            if figures["cpu_ratio"] and figures["cpu_ratio"] > TARGET_CPU_RATIO:
                flags += f"  > {TARGET_CPU_RATIO}× ping"
            print(
                f"{page:<22} {role:<11} {visible:>7} {figures['median_ms']:>7} "
                f"{figures['p95_ms']:>7} {figures['queries']:>4} {figures['web_cpu_ms']:>8} "
                f"{figures['db_cpu_ms']:>7} {ping['web_cpu_ms']:>8} {ping['db_cpu_ms']:>7} "
                f"{figures['cpu_ratio']:>5}×{flags}",
                flush=True,
            )
        if not args.profile:
            results["n_plus_one"][role] = n_plus_one(client, user, rich)
    print()
    print("Queries with few rows vs many (must be equal):")
    for role, checks in results["n_plus_one"].items():
        for label, counts in checks.items():
            mark = "ok" if counts["few"] == counts["many"] else "GROWS"
            print(f"  {role:<11} {label:<66} {counts['few']:>3} {counts['many']:>3}  {mark}")
    results["load_average_after"] = os.getloadavg()[0]
    print(
        f"\nLoad average (1 min) before / after: {results['load_average_before']:.1f} / "
        f"{results['load_average_after']:.1f} on {os.cpu_count()} cores"
    )
    if args.only or args.profile:
        print("(--only or --profile: partial run, results not written)")
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
