"""Access-log benchmark: appends per second with 1, 2, 4 and 8 concurrent writers in one
organisation and across 2, 4 and 8, with the sealer running beside them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pristan_accesslog_bench \\
    .venv/bin/python bench/accesslog.py [--seconds 5] [--writers 1,2,4,8] [--seal-every 1]

PostgreSQL only (a database whose name contains "bench": it is dropped and created again,
since the log's tables refuse DELETE and TRUNCATE). Each writer is a process of its own with its
own connection, calling `casework.audit.record()` as a request does, in a loop for --seconds:
in autocommit (one INSERT, one round trip) and, in a second table, each append in a
transaction of its own (BEGIN, INSERT, COMMIT: what a request in a transaction pays). A sealer
process runs `casework.audit.seal()` every --seal-every seconds throughout (the production
schedule is every ACCESS_LOG_SEAL_SECONDS = 5 s), as the beat task does.

Printed per layout and writer count: appends/s, median and p95 latency of one append, the
seals the sealer wrote meanwhile, and how many entries were left for it at the end; then the
time `verify_access_log` takes over everything written, and the load average before and after
(the machine may be shared: the figures mean little under load). Production settings (DEBUG
off). Results also go to bench/results/accesslog.json.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "accesslog.json"
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pristan_accesslog_bench"
ORGANISATIONS = 8


def configure_environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"  # its fixed, bench-only keys
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("ACCESS_LOG_SEAL_GRACE", "60")  # production's, not the tests' 0
    os.environ["PRISTAN_VAR_DIR"] = str(ROOT / "var" / "bench-accesslog")


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit("Use a PostgreSQL database whose name contains 'bench' (it is dropped).")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def writer(user_id: int, seconds: float, atomic: bool, start, results) -> None:
    """One process: append for `seconds` after the common start; report count and latencies."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from casework import audit

    user = get_user_model().objects.select_related("membership").get(pk=user_id)
    audit.record(None, audit.Action.VIEW, user=user, object_type="case")  # connect, warm up
    start.wait()
    latencies = []
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        if atomic:
            with transaction.atomic():
                audit.record(None, audit.Action.VIEW, user=user, object_type="case", object_id="1")
        else:
            audit.record(None, audit.Action.VIEW, user=user, object_type="case", object_id="1")
        latencies.append(time.perf_counter() - now)
    results.put(latencies)


def sealer(every: float, stop, results) -> None:
    """The beat task's work, every `every` seconds until stopped: report the seals written."""
    import django

    django.setup()
    from casework import audit

    written = 0
    while not stop.wait(every):
        written += audit.seal()
    results.put(written)


def run(user_ids: list[int], seconds: float, *, atomic: bool, seal_every: float) -> dict:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(user_ids) + 1), context.Queue()
    stop, sealed = context.Event(), context.Queue()
    processes = [
        context.Process(target=writer, args=(uid, seconds, atomic, start, results))
        for uid in user_ids
    ]
    for process in processes:
        process.start()
    seal_process = context.Process(target=sealer, args=(seal_every, stop, sealed))
    seal_process.start()
    start.wait()
    latencies = [x for _ in processes for x in results.get()]
    for process in processes:
        process.join()
    stop.set()
    seals = sealed.get()
    seal_process.join()
    from casework.models import AccessEvent, AccessSeal

    left = (
        AccessEvent.objects.filter(hash="").count()
        - AccessSeal.objects.filter(missing=False).count()
    )
    latencies.sort()
    return {
        "writers": len(user_ids),
        "appends": len(latencies),
        "appends_per_s": round(len(latencies) / seconds),
        "median_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
        "sealed_meanwhile": seals,
        "left_to_seal": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,2,4,8")
    parser.add_argument("--seal-every", type=float, default=1.0)
    parser.add_argument(
        "--async-commit", action="store_true", help="ACCESS_LOG_ASYNC_COMMIT=1 for the writers"
    )
    parser.add_argument("--layouts", default="1,2,3,4", help="which tables: 1-4")
    options = parser.parse_args()
    if options.async_commit:
        os.environ["ACCESS_LOG_ASYNC_COMMIT"] = "1"
    counts = [int(n) for n in options.writers.split(",")]

    configure_environment()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("The access-log bench needs PostgreSQL (DATABASE_URL=postgres://…).")
    recreate_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from casework import audit
    from casework.models import Membership
    from tests.factories import make_organisation, make_user

    call_command("migrate", verbosity=0)
    users = []
    for i in range(max(ORGANISATIONS, max(counts))):
        organisation = make_organisation(name=f"Bench NGO {i}")
        users.append(make_user(organisation=organisation, role=Membership.Role.CASEWORKER).pk)
    same = [users[0]] + [
        make_user(organisation=Membership.objects.get(user_id=users[0]).organisation,
                  role=Membership.Role.CASEWORKER).pk
        for _ in range(max(counts) - 1)
    ]  # fmt: skip
    # A log in use: its first entry sealed (a new log waits for the grace before sealing).
    audit.record(None, audit.Action.LOGIN_FAILED, object_type="user")
    grace, settings.ACCESS_LOG_SEAL_GRACE = settings.ACCESS_LOG_SEAL_GRACE, 0
    audit.seal()
    settings.ACCESS_LOG_SEAL_GRACE = grace
    from django.db import connections

    connections.close_all()

    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(
        f"sealer every {options.seal_every:g} s, grace {settings.ACCESS_LOG_SEAL_GRACE} s, "
        f"ACCESS_LOG_ASYNC_COMMIT={settings.ACCESS_LOG_ASYNC_COMMIT}; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'layout':<34} {'writers':>7} {'appends/s':>10} {'median ms':>10} {'p95 ms':>8} "
        f"{'sealed':>8} {'left':>6}"
    )
    print(header)
    rows = []
    layouts = [
        ("one organisation, autocommit", same, counts, False),
        ("across organisations, autocommit", users, [n for n in counts if n > 1], False),
        ("one organisation, own transaction", same, counts, True),
        ("across orgs, own transaction", users, [n for n in counts if n > 1], True),
    ]
    chosen = [layouts[int(i) - 1] for i in options.layouts.split(",")]
    for layout, ids, ns, atomic in chosen:
        for n in ns:
            row = {
                "layout": layout,
                **run(ids[:n], options.seconds, atomic=atomic, seal_every=options.seal_every),
            }
            rows.append(row)
            print(
                f"{layout:<34} {n:>7} {row['appends_per_s']:>10} {row['median_ms']:>10} "
                f"{row['p95_ms']:>8} {row['sealed_meanwhile']:>8} {row['left_to_seal']:>6}",
                flush=True,
            )
    started = time.perf_counter()
    audit.seal()
    seal_s = time.perf_counter() - started
    print(f"final seal: {seal_s:.2f} s")
    started = time.perf_counter()
    report = audit.verify_chain()
    verify_s = time.perf_counter() - started
    load_after = os.getloadavg()
    print(
        f"verify_access_log: {report.checked} entries in {len(report.heads)} chains, "
        f"{'OK' if report.ok else 'BROKEN'}, {verify_s:.1f} s "
        f"({report.checked / verify_s:,.0f} entries/s)"
    )
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "seconds": options.seconds,
                "cpus": os.cpu_count(),
                "load_before": load_before,
                "load_after": load_after,
                "rows": rows,
                "seal_every": options.seal_every,
                "async_commit": options.async_commit,
                "verify": {"entries": report.checked, "ok": report.ok, "seconds": verify_s},
            },
            indent=1,
        )
    )
    if not report.ok:
        sys.exit("\n".join(report.problems))


if __name__ == "__main__":
    main()
