"""Backup benchmark: `manage.py backup` and `manage.py restore` on bulk data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pristan_backup_bench \\
    .venv/bin/python bench/backup.py --cases 10000 --files 500 --file-kb 100

Seeds a fresh database (a PostgreSQL database whose name contains "bench", emptied first, or
SQLite under var/bench-backup/ by default) with `seed_bulk --cases N` and N files of K KB in
the storage, then times a backup to a file and a restore into a new empty installation (for
PostgreSQL the database <name>_restore, dropped afterwards), each as its own process: wall
time, peak memory (RSS), sizes. Printed and written to bench/results/backup.json.
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-backup"


def run(args: list[str], env: dict) -> tuple[float, int, str]:
    """Run a manage.py command: wall seconds, its own peak RSS in MB (wait4), its stderr."""
    log = VAR / "step.log"
    start = time.monotonic()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text()
    if process.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{output[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024, output


def psql(sql: str, url: str) -> None:
    parsed = urlparse(url)
    subprocess.run(
        ["psql", "-q", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
         "-U", parsed.username or "postgres", "-d", "postgres", "-c", sql],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--file-kb", type=int, default=100)
    options = parser.parse_args()

    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    source_url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR / 'source.sqlite3'}"
    engine = "postgresql" if source_url.startswith("postgres") else "sqlite"
    if engine == "postgresql":
        name = urlparse(source_url).path.lstrip("/")
        if "bench" not in name:
            sys.exit("Use a PostgreSQL database whose name contains 'bench' (it is emptied).")
        target_url = source_url.rsplit("/", 1)[0] + f"/{name}_restore"
        for db in (name, f"{name}_restore"):
            psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', source_url)
            psql(f'CREATE DATABASE "{db}"', source_url)
    else:
        target_url = f"sqlite:///{VAR / 'restored.sqlite3'}"

    key = lambda: base64.b64encode(secrets.token_bytes(32)).decode()  # noqa: E731
    base = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "FIELD_ENCRYPTION_KEYS": key(),
        "SEARCH_INDEX_KEY": secrets.token_urlsafe(16),
        "BACKUP_KEY": key(),
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    base.pop("PRISTAN_STORAGE", None)
    source = {
        **base,
        "DATABASE_URL": source_url,
        "PRISTAN_VAR_DIR": str(VAR / "source"),
        "PRISTAN_PRIVATE_MEDIA_ROOT": str(VAR / "source" / "private"),
    }
    target = {
        **base,
        "DATABASE_URL": target_url,
        "PRISTAN_VAR_DIR": str(VAR / "restored"),
        "PRISTAN_PRIVATE_MEDIA_ROOT": str(VAR / "restored" / "private"),
    }
    print(f"Seeding {options.cases} cases and {options.files} files ({engine})…", flush=True)
    run(["migrate", "-v", "0"], source)
    run(["seed_bulk", "--cases", str(options.cases), "--password", "bench-backup-pass",
         "--pdfs", "10", "--allow-production"], source)  # fmt: skip
    run(["shell", "-v", "0", "-c",
         "import os\nfrom django.core.files.storage import default_storage\n"
         "from django.core.files.base import ContentFile\n"
         f"for i in range({options.files}):\n"
         f"    default_storage.save(f'documents/bench/{{i:05d}}', "
         f"ContentFile(os.urandom({options.file_kb * 1024})))"], source)  # fmt: skip

    archive = VAR / "bench.pristan-backup"
    backup_s, backup_rss, backup_log = run(["backup", str(archive)], source)
    print(next(line for line in backup_log.splitlines() if "Backup written" in line), flush=True)
    restore_s, restore_rss, restore_log = run(["restore", str(archive)], target)
    print(restore_log.strip().splitlines()[-1], flush=True)
    run(["verify_access_log"], target)

    results = {
        "engine": engine,
        "cases": options.cases,
        "extra_files": options.files,
        "file_kb": options.file_kb,
        "archive_mb": round(archive.stat().st_size / 1e6, 1),
        "backup_seconds": round(backup_s, 1),
        "backup_peak_rss_mb": backup_rss,
        "restore_seconds": round(restore_s, 1),
        "restore_peak_rss_mb": restore_rss,
        "load_average": os.getloadavg(),
        "backup_summary": backup_log.strip().splitlines()[-1],
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "backup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    if engine == "postgresql":
        psql(f'DROP DATABASE IF EXISTS "{name}_restore" WITH (FORCE)', source_url)
    shutil.rmtree(VAR, ignore_errors=True)


if __name__ == "__main__":
    main()
