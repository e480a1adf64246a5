"""The production deployment (docker-compose.yml, Dockerfile, deploy/Caddyfile), checked without
a Docker engine: each service's settings start in a fresh process with exactly the variables and
secret files compose gives it, and nothing more; the web service refuses to start without its
secrets; the scheduler starts without any; every container is confined.

The secrets are made by the operator's own command (scripts/generate-keys.py
--compose-secrets). `docker-compose config` and hadolint check the files themselves where they
are installed (docs/deployment.md, "Checking the files")."""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
CADDYFILE = (BASE_DIR / "deploy" / "Caddyfile").read_text()
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
# Services running the Pristan image, and what the operator must set (compose: `:?`).
APP_SERVICES = ["migrate", "web", "worker", "scheduler", "manage"]
OPERATOR_VARIABLES = {
    "DJANGO_ALLOWED_HOSTS": "pristan.example.org",
    "PRISTAN_PUBLIC_URL": "https://pristan.example.org",
}
SECRETS_DIR = "/run/secrets/"
# In the subprocess: what the service's process does first, then what the test looks at.
PROBE = """
import json, sys
import django
django.setup()
from django.conf import settings
import config.celery
if "--checks" in sys.argv:  # what Celery's Django fixup runs when beat or a worker starts
    from django.core.checks import run_checks
    run_checks()
if "--wsgi" in sys.argv:
    import config.wsgi
print(json.dumps({
    "role": settings.PRISTAN_ROLE,
    "field_keys": len(settings.FIELD_ENCRYPTION_KEYS),
    "secret_key": bool(vars(settings._wrapped)["SECRET_KEY"]),  # (empty: error when read)
    "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1],
    "broker": settings.CELERY_BROKER_URL,
}))
"""


def _interpolate(value: str) -> str:
    """Compose's variable substitution, for the forms the compose file uses."""

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in OPERATOR_VARIABLES:
            return OPERATOR_VARIABLES[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required but not in OPERATOR_VARIABLES")
        return argument

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, str(value)).replace("$$", "$")


def _image_environment() -> dict[str, str]:
    """The ENV lines of the Dockerfile, as the image gives them to every container."""
    text = DOCKERFILE.replace("\\\n", " ")
    variables = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            variables.update(item.split("=", 1) for item in line[4:].split())
    return variables


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compose") / "secrets"
    subprocess.run(
        [sys.executable, "scripts/generate-keys.py", "--compose-secrets", str(folder)],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
    )
    return folder


def service_environment(
    service: str, secrets_dir: Path, var_dir: Path, *, without: str = ""
) -> dict[str, str]:
    """The environment the service's container gets: the image's ENV, then the service's
    `environment` with compose's substitutions, its mounted secrets pointing at the files
    made by generate-keys.py. A secret the service is not given (or `without`) points at a
    file that does not exist, as /run/secrets/<name> would not in its container."""
    definition = SERVICES[service]
    given = set(definition.get("secrets", [])) - {without}
    env = _image_environment()
    for name, value in (definition.get("environment") or {}).items():
        value = _interpolate(value)
        if value.startswith(SECRETS_DIR):
            secret = value.removeprefix(SECRETS_DIR)
            value = str(secrets_dir / secret if secret in given else var_dir / "absent" / secret)
        env[name] = value
    # The image's paths, here: its var folder and the code.
    env.update(
        PRISTAN_VAR_DIR=str(var_dir),
        PRISTAN_PRIVATE_MEDIA_ROOT=str(var_dir / "private"),
        PYTHONPATH=str(BASE_DIR),
        PATH=os.environ["PATH"],
    )
    return env


def start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_service_starts_with_only_its_own_variables(service, secrets_dir, tmp_path):
    env = service_environment(service, secrets_dir, tmp_path)
    args = ["--wsgi"] if service == "web" else []
    result = start(env, *args)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["broker"] == "redis://redis:6379/0"
    if service == "scheduler":
        assert (seen["role"], seen["field_keys"], seen["secret_key"]) == ("scheduler", 0, False)
    else:
        assert (seen["role"], seen["field_keys"], seen["secret_key"]) == ("", 1, True)
        assert seen["database"] == "postgresql"


def test_the_scheduler_gets_no_secret_no_key_and_no_database(secrets_dir, tmp_path):
    scheduler = SERVICES["scheduler"]
    assert "secrets" not in scheduler
    names = set(scheduler["environment"])
    assert not {name for name in names if name.endswith("_FILE")}
    assert not names & {"DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "SEARCH_INDEX_KEY"}

    # Beat runs Django's checks when it starts: they must not open a database (here: create
    # an SQLite file, there: fail on the read-only root).
    result = start(service_environment("scheduler", secrets_dir, tmp_path), "--checks")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["database"] == "dummy"
    assert not list(tmp_path.glob("*.sqlite3"))


def test_the_backup_key_goes_to_the_operators_service_only():
    holders = [name for name, svc in SERVICES.items() if "backup_key" in svc.get("secrets", [])]
    assert holders == ["manage"]
    assert SERVICES["manage"]["profiles"] == ["tools"]  # not started by `up`


@pytest.mark.parametrize(
    "secret", ["django_secret_key", "field_encryption_keys", "search_index_key", "database_url"]
)
def test_web_refuses_to_start_without_each_of_its_secrets(secret, secrets_dir, tmp_path):
    env = service_environment("web", secrets_dir, tmp_path, without=secret)
    result = start(env, "--wsgi")
    assert result.returncode != 0
    assert secret in result.stderr  # the missing file is named


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("DJANGO_SECRET_KEY_FILE", "Set the DJANGO_SECRET_KEY environment variable"),
        ("FIELD_ENCRYPTION_KEYS_FILE", "FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY must be set"),
        ("SEARCH_INDEX_KEY_FILE", "FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY must be set"),
    ],
)
def test_web_refuses_to_start_without_the_keys_at_all(variable, message, secrets_dir, tmp_path):
    env = service_environment("web", secrets_dir, tmp_path)
    del env[variable]
    result = start(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_worker_refuses_to_start_without_the_field_keys(secrets_dir, tmp_path):
    env = service_environment("worker", secrets_dir, tmp_path, without="field_encryption_keys")
    assert start(env).returncode != 0
    del env["FIELD_ENCRYPTION_KEYS_FILE"]
    result = start(env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY must be set" in result.stderr


def test_web_refuses_the_schedulers_role(secrets_dir, tmp_path):
    env = service_environment("web", secrets_dir, tmp_path)
    env["PRISTAN_ROLE"] = "scheduler"
    del env["FIELD_ENCRYPTION_KEYS_FILE"]
    result = start(env, "--wsgi")
    assert result.returncode != 0
    assert "PRISTAN_ROLE=scheduler is for Celery beat only" in result.stderr


def test_gunicorn_accepts_the_images_command(secrets_dir, tmp_path):
    """The web service runs the image's CMD: every option exists in the installed gunicorn,
    and the application loads with the web service's environment."""
    (cmd,) = re.findall(r"^CMD (\[.*?\])$", DOCKERFILE.replace("\\\n", " "), re.MULTILINE)
    command = json.loads(cmd)
    assert command[0] == "gunicorn" and "web" in SERVICES and "command" not in SERVICES["web"]
    for option in ("--max-requests", "--max-requests-jitter", "--timeout", "--control-socket"):
        assert option in command
    assert "--workers" not in command  # WEB_CONCURRENCY
    env = service_environment("web", secrets_dir, tmp_path)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), *command[1:], "--check-config"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_container_is_confined_and_its_logs_rotated():
    for name, service in SERVICES.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["logging"]["options"]["max-size"], name
        assert int(service["logging"]["options"]["max-file"]) >= 1, name
        assert service["mem_limit"], name
        if service["image"] == "pristan:latest":
            continue  # the image's own user (below)
        if name == "proxy":  # Caddy's image runs as root to bind 80 and 443: only that
            assert service["cap_add"] == ["NET_BIND_SERVICE"]
        else:
            assert service["user"] == name, name  # the image's own user (postgres, redis)
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.MULTILINE)
    assert not any("cap_add" in SERVICES[name] for name in APP_SERVICES)
    assert "--max-memory-per-child=409600" in SERVICES["worker"]["command"]


def test_beat_keeps_its_schedule_on_a_volume():
    command = SERVICES["scheduler"]["command"]
    (schedule,) = [arg.split("=", 1)[1] for arg in command if arg.startswith("--schedule=")]
    volumes = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["scheduler"]["volumes"]}
    assert volumes[str(Path(schedule).parent)] in COMPOSE["volumes"]


def test_web_trusts_the_client_address_from_the_proxy_alone():
    proxy_address = SERVICES["proxy"]["networks"]["edge"]["ipv4_address"]
    (subnet,) = [entry["subnet"] for entry in COMPOSE["networks"]["edge"]["ipam"]["config"]]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    web = SERVICES["web"]["environment"]
    assert web["PRISTAN_TRUSTED_PROXIES"] == web["FORWARDED_ALLOW_IPS"] == proxy_address
    # Only web is on the proxy's network; the proxy reaches nothing else.
    on_edge = [name for name, svc in SERVICES.items() if "edge" in svc.get("networks", [])]
    assert sorted(on_edge) == ["proxy", "web"]
    assert "ports" not in SERVICES["web"]
    # The proxy overwrites the headers with the connection's peer, never appends to them.
    assert "header_up X-Forwarded-For {remote_host}" in CADDYFILE
    assert "header_up X-Real-IP {remote_host}" in CADDYFILE


def test_the_proxys_body_limit_is_the_document_limit_and_the_form_around_it():
    proxy_env = SERVICES["proxy"]["environment"]
    limit = _interpolate(proxy_env["PRISTAN_PROXY_MAX_BODY"])
    assert limit == "21MiB"
    document_max = int(_interpolate(SERVICES["web"]["environment"]["PRISTAN_DOCUMENT_MAX_BYTES"]))
    assert document_max == settings.DOCUMENT_MAX_BYTES
    assert document_max + 1024 * 1024 == 21 * 1024 * 1024
    assert "max_size {$PRISTAN_PROXY_MAX_BODY}" in CADDYFILE


def test_the_proxy_log_keeps_no_token_and_no_query():
    pattern, replacement = re.search(r'request>uri regexp "(.+)" "(.+)"', CADDYFILE).groups()
    pattern = pattern.replace("\\\\", "\\")  # the Caddyfile's string escaping
    assert replacement == "${1}"

    def logged(uri: str) -> str:
        return re.sub(pattern, lambda m: m.group(1) or "", uri)

    assert logged("/v/K7QM2XW9PD/") == "/v/"
    assert logged("/v/K7QM2XW9PD/pdf/?download=1") == "/v/pdf/"
    assert logged("/cases/?q=2026-0137&status=active") == "/cases/"
    assert logged("/cases/12/") == "/cases/12/"
    assert "request>headers delete" in CADDYFILE


def test_docker_compose_accepts_the_file():
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [compose, "-f", str(COMPOSE_FILE), "--profile", "tools", "config", "-q"],
        env={**os.environ, **OPERATOR_VARIABLES},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
