"""Letters benchmark: raw WeasyPrint vs. the whole Pristan pipeline, on the same letters.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pristan_lbench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
    .venv/bin/python bench/letters.py --n 1362 [--pairs 3] [--profile var/bench-profile]

(a) raw: the letters' HTML, exactly as the worker makes it for the issued letters (numbers, date,
    QR code), rendered by WeasyPrint in a pool of 2 warm processes set up as the worker's are —
    the physical limit of this machine; (b) pipeline: the same letters issued in one go (register
    numbers, enqueue on commit), rendered by a real Celery worker with 2 pool processes, encrypted
    and stored, hashed, timed from the call to `letters_issue` until the last one is ready (the
    issuing transaction is timed on its own as well). Pairs alternate the order (A B, B A, A B…)
    because the speed of these shared machines drifts; the ratio pipeline/raw is reported per pair
    and as a median, with the load average (`uptime`) before and after each side. Also: peak
    worker memory (RSS of the worker's pool processes, sampled), KB per letter, and the latency of
    a single letter on a warm worker (median of 5).

It uses its own runtime folder (var/bench/) and database: SQLite by default, or DATABASE_URL. A
PostgreSQL database whose name contains "bench" is emptied and migrated afresh at the start; any
other is only added to. The broker is CELERY_BROKER_URL if set, else Redis on 127.0.0.1:6379/6 if it
answers, else the filesystem transport; it must be the bench's alone (a Redis database number of
its own): the queue is emptied at the start, and another worker on it would take letters away.
Encryption keys are made for the run. Results are printed and written to
bench/results/letters.json (`--output` for another file).

`--profile DIR` runs every worker process (the main one and the pool processes) under cProfile
and prints where their time goes; the worker imports this module for that (`--include`), which is
the only way the switch reaches it: nothing in the product knows about profiling. Profiled runs
are slower, so their ratio is not a figure to quote.
"""

import argparse
import atexit
import base64
import contextlib
import copy
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PROFILE_ENV = "LETTERS_BENCH_PROFILE"
sys.path.insert(0, str(ROOT))


# -- Profiling, inside the worker (this module is imported there only with --profile) ----------


def _install_worker_profiler(folder: str) -> None:
    import cProfile

    from celery import signals

    state = {"profile": None, "tasks": 0}

    def start(**kwargs):
        state["profile"] = cProfile.Profile()
        state["profile"].enable()

    def dump(**kwargs):
        profile = state["profile"]
        if profile is not None:
            profile.disable()
            profile.dump_stats(Path(folder) / f"{os.getpid()}.prof")
            profile.enable()

    def after_task(**kwargs):
        state["tasks"] += 1
        if state["tasks"] % 50 == 0:  # pool processes may be ended without a goodbye
            dump()

    signals.worker_process_init.connect(start, weak=False)  # each pool process
    signals.worker_ready.connect(start, weak=False)  # the main process, once it has forked
    signals.task_postrun.connect(after_task, weak=False)
    signals.worker_process_shutdown.connect(dump, weak=False)
    signals.worker_shutdown.connect(dump, weak=False)


if __name__ != "__main__" and os.environ.get(PROFILE_ENV):
    _install_worker_profiler(os.environ[PROFILE_ENV])


def print_profiles(folder: Path, worker_pid: int) -> None:
    import pstats

    files = sorted(folder.glob("*.prof"))
    main = [f for f in files if f.stem == str(worker_pid)]
    pool = [f for f in files if f.stem != str(worker_pid)]
    for title, group in (("worker pool processes", pool), ("worker main process", main)):
        if not group:
            continue
        stats = pstats.Stats(*map(str, group))
        print(f"\n== {title}: cumulative ==")
        stats.sort_stats("cumulative").print_stats(35)
        print(f"\n== {title}: own time ==")
        stats.sort_stats("tottime").print_stats(25)


# -- Environment, worker, data ------------------------------------------------------------------


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def configure_environment() -> None:
    if VAR.exists():
        shutil.rmtree(VAR)
    VAR.mkdir(parents=True)
    os.environ["PRISTAN_VAR_DIR"] = str(VAR)
    # Production settings (DEBUG off: no query log), without a developer's .env, with throwaway
    # keys made for this run (encryption at rest is part of what is measured).
    os.environ["PRISTAN_IGNORE_DOTENV"] = "1"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["FIELD_ENCRYPTION_KEYS"] = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["SEARCH_INDEX_KEY"] = secrets.token_hex(16)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if "CELERY_BROKER_URL" not in os.environ and _redis_answers():
        os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/6"


def reset_database() -> None:
    """A PostgreSQL database meant for benchmarks starts empty; SQLite's went with var/bench."""
    from django.db import connection

    if connection.vendor == "postgresql" and "bench" in connection.settings_dict["NAME"]:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    connection.close()


def purge_queue() -> None:
    """Messages left by an interrupted earlier run would be rendered (and skipped) in this one."""
    from config.celery import app

    app.control.purge()


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def cpu_seconds(pids) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """CPU time of the PostgreSQL server so far: its backends (running or ended) and its own
    processes. The server is shared: only an idle machine's figure is this bench's alone."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    postmaster = int(fields[1])  # ppid
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ended = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return ended + cpu_seconds([postmaster, *_children(postmaster)])


def redis_cpu_seconds() -> float | None:
    """CPU time of the Redis server so far (INFO cpu), when the broker is Redis."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return None
    import redis

    info = redis.Redis.from_url(settings.CELERY_BROKER_URL).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _per_letter_ms(before: float | None, after: float | None, n: int) -> float | None:
    return None if before is None or after is None else round((after - before) / n * 1000, 2)


class Worker:
    """`celery worker` as production starts it (docker-compose.yml): prefork, 2 processes."""

    def __init__(self, profile_dir: Path | None = None, prefetch_multiplier: int | None = None):
        self.log = open(VAR / f"worker-{uuid.uuid4().hex[:6]}.log", "w")  # noqa: SIM115
        env = os.environ.copy()
        extra = []
        if profile_dir is not None:
            env[PROFILE_ENV] = str(profile_dir)
            extra = ["--include", "bench.letters"]
        if prefetch_multiplier:  # an experiment; by default the setting applies
            extra += ["--prefetch-multiplier", str(prefetch_multiplier)]
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h",
                *extra,
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.peak_child_rss_kb = 0

    def sample_memory(self) -> None:
        for child in _children(self.process.pid):
            self.peak_child_rss_kb = max(self.peak_child_rss_kb, _rss_kb(child))

    def child_rss_kb(self) -> list[int]:
        return [_rss_kb(c) for c in _children(self.process.pid)]

    def cpu_seconds(self) -> float:
        """CPU time of the worker's main process and its pool processes so far."""
        return cpu_seconds([self.process.pid, *_children(self.process.pid)])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return  # stopped already
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def setup_data(n: int):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from casework.models import Authority, Ground
    from letters.forms import fitting_template
    from letters.models import LetterTemplate
    from tests.factories import make_case, make_organisation, make_user

    org = make_organisation(name="Pristan Committee (benchmark)")
    org.address = "ул. Вымышленная, 12\n101000 Москва"
    org.letter_signer_name = "Анна Смирнова"
    org.letter_signer_title = "Председатель"
    org.save()
    author = make_user(organisation=org, role="caseworker")
    coordinator = make_user(organisation=org, role="coordinator")
    grounds = list(Ground.objects.filter(code__in=["political", "military"]))
    cases = []
    for i in range(n):
        case = make_case(organisation=org, reference=f"B-{i:05d}", assignees=[author])
        case.grounds.set(grounds)
        cases.append(case)
    authority = Authority.objects.get(code="ofpra")
    template = fitting_template(authority)  # the default OFPRA support letter
    if template is None:
        template = LetterTemplate.objects.create(
            name="Bench", kind="support", language="fr", body="Madame, Monsieur,\n\n" + "x " * 300
        )
    return org, author, coordinator, cases, template, authority


def make_approved_letters(cases, template, authority, author, coordinator):
    from django.utils import timezone

    from letters import services
    from letters.models import Letter

    letters = []
    for case in cases:
        letter = services.letter_draft(case=case, template=template, authority=authority, by=author)
        letters.append(letter)
    now = timezone.now()
    signer = services.default_signer(author.membership.organisation, template.language)
    for letter in letters:
        letter.status = Letter.Status.APPROVED
        letter.approved_by, letter.approved_at = coordinator, now
        letter.reviewed_hash = letter.text_hash  # approval is bound to the text
        letter.sign_by(signer)
    Letter.objects.bulk_update(
        letters,
        [
            "status",
            "approved_by",
            "approved_at",
            "reviewed_hash",
            "signer",
            "signer_name",
            "signer_title",
        ],
        batch_size=500,
    )
    return letters


def html_as_issued(letters, organisation) -> list[str]:
    """The HTML the worker will render for these letters once issued: the numbers they will get
    from the register, today's date, their QR codes."""
    from django.utils import timezone

    from letters.models import Register
    from letters.rendering import letter_html
    from letters.services import register_number

    now = timezone.now()
    year = timezone.localdate(now).year
    register = Register.objects.filter(organisation=organisation, year=year).first()
    last = register.last_number if register else 0
    htmls = []
    for i, letter in enumerate(letters, start=1):
        issued = copy.copy(letter)
        issued.number = register_number(organisation, year, last + i)
        issued.sequence, issued.issued_at = last + i, now
        htmls.append(letter_html(issued))
    return htmls


# -- The two sides ------------------------------------------------------------------------------


def _raw_init():
    import django

    django.setup()
    from letters import rendering

    rendering.warm_up()  # what the worker's pool processes do when they start


def _raw_render(html: str) -> int:
    from letters.rendering import html_to_pdf

    return len(html_to_pdf(html))


def run_raw(pool, htmls) -> float:
    start = time.perf_counter()
    sizes = pool.map(_raw_render, htmls, chunksize=1)
    elapsed = time.perf_counter() - start
    assert all(sizes)
    return elapsed


def wait_rendered(worker, ids: list[int], start: float) -> float:
    """Seconds from `start` until every letter is ready (or failed). One count query per look;
    looks are spaced by a quarter of the estimated time left (10 ms to 0.5 s), so the bench
    costs the database little and still sees the end within a few milliseconds."""
    from letters.models import Letter

    done_states = [Letter.RenderStatus.READY, Letter.RenderStatus.FAILED]
    first, last, total = min(ids), max(ids), len(ids)
    while True:
        worker.sample_memory()
        done = Letter.objects.filter(pk__range=(first, last), render_status__in=done_states).count()
        now = time.perf_counter()
        if done >= total:
            return now - start
        if worker.process.poll() is not None:
            raise SystemExit("the worker died; see " + worker.log.name)
        per_letter = (now - start) / done if done else 0.05
        time.sleep(min(0.5, max(0.01, (total - done) * per_letter / 4)))


def run_pipeline(worker, letters, coordinator) -> tuple[float, float, list[int]]:
    """(seconds until all are ready, seconds of the issuing call, PDF sizes)."""
    from letters import services
    from letters.models import Letter

    ids = [x.pk for x in letters]
    assert max(ids) - min(ids) + 1 == len(ids), "letters of one round have consecutive ids"
    start = time.perf_counter()
    services.letters_issue(letters=letters, by=coordinator)
    issued = time.perf_counter() - start
    elapsed = wait_rendered(worker, ids, start)
    sizes = list(Letter.objects.filter(pk__in=ids).values_list("pdf_size", flat=True))
    failed = Letter.objects.filter(pk__in=ids, render_status=Letter.RenderStatus.FAILED).count()
    if failed:
        raise SystemExit(f"{failed} letters failed to render; see {worker.log.name}")
    return elapsed, issued, sizes


# -- Main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="letters per run (default 200)")
    parser.add_argument("--pairs", type=int, default=3, help="raw/pipeline pairs (default 3)")
    parser.add_argument("--profile", type=Path, help="profile the worker, files in this folder")
    parser.add_argument(
        "--prefetch-multiplier", type=int, help="try another worker prefetch multiplier"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "letters.json")
    args = parser.parse_args()

    configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    started_load = load()
    print(
        f"database: {connection.vendor}; broker: {settings.CELERY_BROKER_URL.split('://')[0]}; "
        f"n={args.n}, pairs={args.pairs}, cpus={os.cpu_count()}, load {started_load}"
    )
    t0 = time.perf_counter()
    reset_database()
    org, author, coordinator, cases, template, authority = setup_data(args.n)
    print(f"set-up: {args.n} cases in {time.perf_counter() - t0:.1f} s")
    purge_queue()

    if args.profile:
        shutil.rmtree(args.profile, ignore_errors=True)
        args.profile.mkdir(parents=True)
    worker = Worker(args.profile, args.prefetch_multiplier)
    # Also when the run fails: an orphaned worker would keep its keys and take the next run's
    # letters from the queue (they then fail to decrypt).
    atexit.register(worker.stop)
    time.sleep(3)
    # Warm the worker, then the latency of single letters, one at a time.
    warm = make_approved_letters(cases[:1], template, authority, author, coordinator)
    run_pipeline(worker, warm, coordinator)
    latencies = []
    for case in cases[1:6]:
        single = make_approved_letters([case], template, authority, author, coordinator)
        latencies.append(run_pipeline(worker, single, coordinator)[0])
    single_latency = statistics.median(latencies)

    ctx = multiprocessing.get_context("fork")
    connection.close()
    pool = ctx.Pool(2, initializer=_raw_init)
    pool.map(_raw_render, html_as_issued(warm, org) * 2)  # warm the pool

    pairs = []
    all_sizes: list[int] = []
    rss_after_round = []
    for i in range(args.pairs):
        letters = make_approved_letters(cases, template, authority, author, coordinator)
        htmls = html_as_issued(letters, org)
        connection.close()
        pair = {"order": "raw, pipeline" if i % 2 == 0 else "pipeline, raw"}
        for side in pair["order"].split(", "):
            before = load()
            if side == "raw":
                cpu = cpu_seconds([os.getpid(), *(p.pid for p in pool._pool)])
                raw = run_raw(pool, htmls)
                raw_cpu = cpu_seconds([os.getpid(), *(p.pid for p in pool._pool)]) - cpu
                pair["load_raw"] = f"{before} → {load()}"
            else:
                cpu = worker.cpu_seconds()
                pg_cpu, redis_cpu = postgres_cpu_seconds(), redis_cpu_seconds()
                pipeline, issue, sizes = run_pipeline(worker, letters, coordinator)
                worker_cpu = worker.cpu_seconds() - cpu
                pg_ms = _per_letter_ms(pg_cpu, postgres_cpu_seconds(), args.n)
                redis_ms = _per_letter_ms(redis_cpu, redis_cpu_seconds(), args.n)
                pair["load_pipeline"] = f"{before} → {load()}"
        all_sizes += sizes
        child_rss = worker.child_rss_kb()
        rss_after_round.append(sum(child_rss) / 1024 / max(len(child_rss), 1))
        pair.update(
            {
                "raw_s": round(raw, 2),
                "pipeline_s": round(pipeline, 2),
                "issue_s": round(issue, 2),
                "raw_cpu_ms_per_letter": round(raw_cpu / args.n * 1000, 1),
                "worker_cpu_ms_per_letter": round(worker_cpu / args.n * 1000, 1),
                "postgres_cpu_ms_per_letter": pg_ms,
                "redis_cpu_ms_per_letter": redis_ms,
                "raw_letters_per_s": round(args.n / raw, 2),
                "pipeline_letters_per_s": round(args.n / pipeline, 2),
                "ratio": round(raw / pipeline, 3),
            }
        )
        pairs.append(pair)
        print(
            f"pair {i + 1} ({pair['order']}): raw {pair['raw_letters_per_s']:.1f} letters/s "
            f"({raw:.1f} s; CPU {pair['raw_cpu_ms_per_letter']} ms/letter), "
            f"pipeline {pair['pipeline_letters_per_s']:.1f} letters/s "
            f"({pipeline:.1f} s, of which issuing {issue:.2f} s; worker CPU "
            f"{pair['worker_cpu_ms_per_letter']} ms/letter, PostgreSQL {pg_ms} ms/letter, Redis "
            f"{redis_ms} ms/letter), ratio pipeline/raw "
            f"{pair['ratio']:.3f}; load {pair['load_raw']} (raw), {pair['load_pipeline']} "
            "(pipeline)"
        )
    pool.close()
    pool.join()
    worker.sample_memory()
    letters_rendered = 1 + len(latencies) + args.n * args.pairs
    result = {
        "n": args.n,
        "pairs": pairs,
        "median_ratio": statistics.median(p["ratio"] for p in pairs),
        "median_raw_letters_per_s": statistics.median(p["raw_letters_per_s"] for p in pairs),
        "median_pipeline_letters_per_s": statistics.median(
            p["pipeline_letters_per_s"] for p in pairs
        ),
        "median_issue_s": statistics.median(p["issue_s"] for p in pairs),
        "single_letter_latency_s": round(single_latency, 3),
        "single_letter_latencies_s": [round(x, 3) for x in latencies],
        "peak_worker_process_rss_mb": round(worker.peak_child_rss_kb / 1024, 1),
        "worker_process_rss_mb_after_each_round": [round(x, 1) for x in rss_after_round],
        "letters_rendered_by_worker": letters_rendered,
        "mean_pdf_kb": round(statistics.mean(all_sizes) / 1024, 1),
        "database": connection.vendor,
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
        "cpus": os.cpu_count(),
        "load_at_start": started_load,
        "load_at_end": load(),
        "profiled": bool(args.profile),
        "prefetch_multiplier": args.prefetch_multiplier
        or settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
    }
    worker_pid = worker.process.pid
    worker.stop()
    print(
        f"median ratio pipeline/raw: {result['median_ratio']:.3f} (target ≥ 0.95; a wall-clock "
        "ratio, meaningful only on an otherwise idle machine: see the load averages)\n"
        f"pipeline: {result['median_pipeline_letters_per_s']:.1f} letters/s → "
        f"{1362 / result['median_pipeline_letters_per_s']:.0f} s for 1,362 letters "
        "(target < 160 s)\n"
        f"single letter ready after {result['single_letter_latency_s']:.2f} s (target < 3 s)\n"
        f"peak worker process RSS {result['peak_worker_process_rss_mb']} MB (target < 150 MB); "
        f"after each round: {result['worker_process_rss_mb_after_each_round']} MB\n"
        f"mean PDF size {result['mean_pdf_kb']} KB (target < 40 KB)\n"
        f"load average {result['load_at_start']} at the start, {result['load_at_end']} at the end"
    )
    if args.profile:
        print_profiles(args.profile, worker_pid)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
