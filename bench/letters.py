"""Letters benchmark: raw WeasyPrint vs. the whole Pristan pipeline, on the same letters.

    .venv/bin/python bench/letters.py [--n 200] [--pairs 3]

(a) raw: the letters' HTML rendered by WeasyPrint in a pool of 2 warm processes — the physical
    limit of this machine; (b) pipeline: the same number of approved letters issued in one go
    (register numbers, enqueue on commit), rendered by a real Celery worker with 2 processes,
    stored and hashed, timed until the last one is ready. Runs alternate A B A B… because the
    speed of these shared machines drifts; the ratio pipeline/raw is reported per pair and as a
    median. Also: peak worker memory (RSS of the worker's processes, sampled), KB per letter, and
    the latency of a single letter on a warm worker.

It uses its own runtime folder (var/bench/) and database: SQLite by default, or DATABASE_URL;
the broker is CELERY_BROKER_URL if set, else Redis on 127.0.0.1:6379/6 if it answers, else the
filesystem transport. Results are printed and written to bench/results/letters.json.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
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
sys.path.insert(0, str(ROOT))


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
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if "CELERY_BROKER_URL" not in os.environ and _redis_answers():
        os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/6"


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


class Worker:
    def __init__(self):
        self.log = open(VAR / f"worker-{uuid.uuid4().hex[:6]}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.peak_child_rss_kb = 0

    def sample_memory(self) -> None:
        for child in _children(self.process.pid):
            self.peak_child_rss_kb = max(self.peak_child_rss_kb, _rss_kb(child))

    def child_rss_kb(self) -> list[int]:
        return [_rss_kb(c) for c in _children(self.process.pid)]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def setup_data(n: int):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from casework.models import Authority, Ground
    from letters.models import LetterTemplate
    from tests.factories import make_case, make_organisation, make_user

    org = make_organisation(name="Комитет «Пристань» — benchmark")
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
    template = LetterTemplate.objects.filter(language="fr", kind="support").first()
    if template is None:
        template = LetterTemplate.objects.create(
            name="Bench", kind="support", language="fr", body="Madame, Monsieur,\n\n" + "x " * 300
        )
    return org, author, coordinator, cases, template, Authority.objects.get(code="ofpra")


def make_approved_letters(cases, template, authority, author, coordinator):
    from django.utils import timezone

    from letters import services
    from letters.models import Letter

    letters = []
    for case in cases:
        letter = services.letter_draft(case=case, template=template, authority=authority, by=author)
        letters.append(letter)
    Letter.objects.filter(pk__in=[x.pk for x in letters]).update(
        status=Letter.Status.APPROVED, approved_by=coordinator, approved_at=timezone.now()
    )
    for letter in letters:
        letter.status = Letter.Status.APPROVED
    return letters


_pool_state = {}


def _raw_init():
    import django

    django.setup()
    from letters import rendering

    rendering.warm_up()


def _raw_render(html: str) -> int:
    from letters.rendering import html_to_pdf

    return len(html_to_pdf(html))


def run_raw(pool, htmls) -> float:
    start = time.perf_counter()
    sizes = pool.map(_raw_render, htmls, chunksize=1)
    elapsed = time.perf_counter() - start
    assert all(sizes)
    return elapsed


def run_pipeline(worker, letters, coordinator) -> tuple[float, list[int]]:
    from letters import services
    from letters.models import Letter

    ids = [x.pk for x in letters]
    start = time.perf_counter()
    services.letters_issue(letters=letters, by=coordinator)
    while True:
        worker.sample_memory()
        left = Letter.objects.filter(pk__in=ids).exclude(
            render_status__in=[Letter.RenderStatus.READY, Letter.RenderStatus.FAILED]
        )
        if not left.exists():
            break
        if worker.process.poll() is not None:
            raise SystemExit("the worker died; see " + worker.log.name)
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    sizes = list(Letter.objects.filter(pk__in=ids).values_list("pdf_size", flat=True))
    failed = Letter.objects.filter(pk__in=ids, render_status=Letter.RenderStatus.FAILED).count()
    if failed:
        raise SystemExit(f"{failed} letters failed to render; see {worker.log.name}")
    return elapsed, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="letters per run (default 200)")
    parser.add_argument("--pairs", type=int, default=3, help="raw/pipeline pairs (default 3)")
    args = parser.parse_args()

    configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from letters.rendering import letter_html

    print(
        f"database: {connection.vendor}; broker: {settings.CELERY_BROKER_URL.split('://')[0]}; "
        f"n={args.n}, pairs={args.pairs}, cpus={os.cpu_count()}"
    )
    t0 = time.perf_counter()
    org, author, coordinator, cases, template, authority = setup_data(args.n)
    print(f"set-up: {args.n} cases in {time.perf_counter() - t0:.1f} s")

    worker = Worker()
    time.sleep(3)
    # Warm the worker and measure the latency of one letter.
    warm = make_approved_letters(cases[:1], template, authority, author, coordinator)
    run_pipeline(worker, warm, coordinator)
    single = make_approved_letters(cases[1:2], template, authority, author, coordinator)
    single_latency, _sizes = run_pipeline(worker, single, coordinator)

    ctx = multiprocessing.get_context("fork")
    connection.close()
    pool = ctx.Pool(2, initializer=_raw_init)
    pool.map(_raw_render, [letter_html(warm[0])] * 2)  # warm the pool

    pairs = []
    all_sizes: list[int] = []
    rss_after_round = []
    for i in range(args.pairs):
        letters = make_approved_letters(cases, template, authority, author, coordinator)
        # Raw side: the same letters' HTML, as issued (numbers, QR codes), rendered directly.
        htmls = [letter_html(x) for x in letters]
        connection.close()
        raw = run_raw(pool, htmls)
        pipeline, sizes = run_pipeline(worker, letters, coordinator)
        all_sizes += sizes
        child_rss = worker.child_rss_kb()
        rss_after_round.append(sum(child_rss) / 1024 / max(len(child_rss), 1))
        pair = {
            "raw_s": round(raw, 2),
            "pipeline_s": round(pipeline, 2),
            "raw_letters_per_s": round(args.n / raw, 2),
            "pipeline_letters_per_s": round(args.n / pipeline, 2),
            "ratio": round(raw / pipeline, 3),
        }
        pairs.append(pair)
        print(
            f"pair {i + 1}: raw {pair['raw_letters_per_s']:.1f} letters/s ({raw:.1f} s), "
            f"pipeline {pair['pipeline_letters_per_s']:.1f} letters/s ({pipeline:.1f} s), "
            f"ratio pipeline/raw {pair['ratio']:.3f}"
        )
    pool.close()
    pool.join()
    worker.sample_memory()
    letters_rendered = 2 + args.n * args.pairs
    result = {
        "n": args.n,
        "pairs": pairs,
        "median_ratio": statistics.median(p["ratio"] for p in pairs),
        "median_raw_letters_per_s": statistics.median(p["raw_letters_per_s"] for p in pairs),
        "median_pipeline_letters_per_s": statistics.median(
            p["pipeline_letters_per_s"] for p in pairs
        ),
        "single_letter_latency_s": round(single_latency, 2),
        "peak_worker_process_rss_mb": round(worker.peak_child_rss_kb / 1024, 1),
        "worker_process_rss_mb_after_each_round": [round(x, 1) for x in rss_after_round],
        "letters_rendered_by_worker": letters_rendered,
        "mean_pdf_kb": round(statistics.mean(all_sizes) / 1024, 1),
        "database": connection.vendor,
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
    }
    worker.stop()
    print(
        f"median ratio pipeline/raw: {result['median_ratio']:.3f} (target ≥ 0.9)\n"
        f"pipeline: {result['median_pipeline_letters_per_s']:.1f} letters/s → "
        f"{1362 / result['median_pipeline_letters_per_s']:.0f} s for 1,362 letters "
        "(target < 160 s)\n"
        f"single letter ready after {result['single_letter_latency_s']:.2f} s (target < 3 s)\n"
        f"peak worker process RSS {result['peak_worker_process_rss_mb']} MB (target < 150 MB); "
        f"after each round: {result['worker_process_rss_mb_after_each_round']} MB\n"
        f"mean PDF size {result['mean_pdf_kb']} KB (target < 40 KB)"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "letters.json").write_text(json.dumps(result, indent=2))
    print(f"written to {out / 'letters.json'}")


if __name__ == "__main__":
    main()
