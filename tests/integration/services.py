"""Private Redis and PostgreSQL servers for the fault tests, which stop and restart them.

Each runs from the Debian binaries on a loopback port of its own, with its files in a
temporary folder, so the shared servers of the machine (and of CI) are never touched:

- `RedisServer`: redis-server keeping nothing on disk (--save "" --appendonly no), as in
  production: a restart loses every queued message.
- `PostgresServer`: PostgreSQL 15 from initdb, trust authentication on 127.0.0.1, fsync off.
  PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (runuser), its
  folder owned by it. `PostgresCluster.template()` makes one migrated cluster per test session;
  each test gets a copy of it (a copy takes a second, migrating half a minute).

Every wait is bounded; `stop()` always ends the server, with SIGKILL if it must.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
STOP_TIMEOUT = 20
REDIS_PORTS = range(56379, 56390)
POSTGRES_PORTS = range(55432, 55443)
PG_BIN = Path(os.environ.get("PRISTAN_PG_BIN", "/usr/lib/postgresql/15/bin"))


def binaries_missing() -> str:
    """What is missing to run these servers, or "" if nothing."""
    missing = []
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if not (PG_BIN / "initdb").exists():
        missing.append(str(PG_BIN / "initdb"))
    if os.geteuid() == 0 and not _user_exists("postgres"):
        missing.append("the postgres user")
    return ", ".join(missing)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(ports) -> int:
    for port in ports:
        if port_is_free(port):
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {ports}")


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _wait(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            tail = ""
            if log is not None and log.exists():
                tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{what} after {timeout} s{tail}")
        time.sleep(0.1)


# -- Redis ------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port(REDIS_PORTS)
        self.log_path = self.directory / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        command = [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            "--logfile", str(self.log_path), "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        _wait(self.ping, START_TIMEOUT, f"Redis on port {self.port} did not answer", self.log_path)
        return self

    def ping(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM) -> None:
        """SIGTERM: Redis exits (it saves nothing); SIGKILL for a crash. Either way every
        message it held is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, sig=signal.SIGTERM) -> "RedisServer":
        self.stop(sig)
        return self.start()

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no Redis log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_path} ---\n" + "\n".join(text)


# -- PostgreSQL -------------------------------------------------------------------------------


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _run(command: list[str], timeout: float = START_TIMEOUT) -> None:
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


class PostgresServer:
    """One cluster in `directory` (its data in directory/data), listening on 127.0.0.1 only."""

    DATABASE = "pristan"

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.port = port or free_port(POSTGRES_PORTS)
        self.log_path = self.directory / "postgresql.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.DATABASE}"

    @classmethod
    def make_directory(cls) -> Path:
        # Not under pytest's tmp_path: it is private to root (0700), and the server runs as
        # postgres.
        directory = Path(tempfile.mkdtemp(prefix="pristan-pg-"))
        directory.chmod(0o755)
        _give_to_postgres(directory)
        return directory

    @classmethod
    def initdb(cls) -> "PostgresServer":
        server = cls(cls.make_directory())
        _run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"), "-D", str(server.data), "-U", "postgres",
                    "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                ]
            ),
            timeout=120,
        )  # fmt: skip
        return server

    def copy(self) -> "PostgresServer":
        """A new server with a copy of this (stopped) one's data, on a port of its own."""
        assert not self.running(), "copy a stopped cluster"
        clone = type(self)(self.make_directory())
        _run(_as_postgres(["cp", "-a", str(self.data), str(clone.data)]), timeout=120)
        return clone

    def options(self) -> str:
        # fsync and friends off: these clusters are thrown away after the test.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=40 -c shared_buffers=32MB"
        )

    def start(self) -> "PostgresServer":
        _run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path),
                    "-o", self.options(), "-w", "-t", str(START_TIMEOUT), "start",
                ]
            ),
            timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        _wait(lambda: answers(self.port), START_TIMEOUT, "PostgreSQL did not answer", self.log_path)
        return self

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and answers(self.port)

    def stop(self, mode: str = "fast") -> None:
        """fast: connections are cut, the server shuts down cleanly; immediate: a crash."""
        if not (self.data / "postmaster.pid").exists():
            return
        try:
            _run(
                _as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t",
                     str(STOP_TIMEOUT), "stop"]
                ),
                timeout=STOP_TIMEOUT + 10,
            )  # fmt: skip
        except (RuntimeError, subprocess.TimeoutExpired):
            self._kill()

    def _kill(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)

    def restart(self, mode: str = "fast") -> "PostgresServer":
        self.stop(mode)
        return self.start()

    def create_database(self) -> None:
        _run(
            _as_postgres(
                [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                 "postgres", self.DATABASE]
            )
        )  # fmt: skip

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no PostgreSQL log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_path} ---\n" + "\n".join(text)


def app_env(*, database_url: str, broker_url: str, var_dir: Path, media_root: Path) -> dict:
    """The environment of Pristan's processes (worker, web server, management commands) run
    against private servers: the test settings, eager mode off."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_", "PRISTAN_", "PYTEST_"))
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PRISTAN_VAR_DIR": str(var_dir),
        "PRISTAN_PRIVATE_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
    }


def migrated_template(work_dir: Path) -> PostgresServer:
    """A stopped cluster holding Pristan's migrated database, to copy for each test."""
    server = PostgresServer.initdb()
    try:
        server.start()
        server.create_database()
        env = app_env(
            database_url=server.url,
            broker_url="memory://",
            var_dir=work_dir / "var",
            media_root=work_dir / "private",
        )
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")
        server.stop()
    except BaseException:
        server.remove()
        raise
    return server
