"""Second factors at rest (issue 12, finding 8): the TOTP seed is encrypted with the field keys,
recovery codes are salted hashes that work once, new codes need the password and a current
code, and the embedded mode's database and var/ folder are private."""

import base64
import importlib
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import RecoveryCode, RecoveryCodeDevice, TOTPDevice
from casework.models import AccessEvent, Membership
from core import crypto
from ops.database import dump_postgresql, dump_sqlite
from tests.accounts.helpers import code_step, log_in, password_step, signed_in
from tests.factories import PASSWORD, make_organisation, make_totp_device, make_user, totp_code

pytestmark = pytest.mark.django_db

NEW_KEY = base64.b64encode(b"r" * 32).decode()


def database_dump(path: Path) -> bytes:
    """The database as the backup dumps it (pg_dump, or SQLite's backup API)."""
    (dump_postgresql if connection.vendor == "postgresql" else dump_sqlite)(path)
    return path.read_bytes()


def seed_forms(device: TOTPDevice) -> list[bytes]:
    """The seed as it could be stored: hex (either case), base32 (as in the otpauth URI), raw."""
    secret = base64.b32encode(device.bin_key)
    return [
        device.key.encode(),
        device.key.upper().encode(),
        secret,
        secret.lower(),
        device.bin_key,
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_totp_seeds_and_recovery_codes_are_absent_from_a_database_dump(tmp_path):
    user = make_user(
        organisation=make_organisation(),
        role=Membership.Role.CASEWORKER,
        username="dump-canary-user",
    )
    device = make_totp_device(user=user)
    codes = services.recovery_codes_create(user=user)

    dump = database_dump(tmp_path / "dump")

    assert b"dump-canary-user" in dump  # the dump does hold the accounts
    assert device.key and TOTPDevice.objects.get(pk=device.pk).key == device.key
    assert [form for form in seed_forms(device) if form in dump] == []
    shown = codes + [services.format_recovery_code(code) for code in codes]
    assert [code for code in shown if code.encode() in dump] == []


def test_recovery_codes_are_stored_as_salted_hashes(user):
    codes = services.recovery_codes_create(user=user)
    digests = list(RecoveryCode.objects.filter(device__user=user).values_list("digest", flat=True))

    assert len(digests) == len(set(digests)) == services.RECOVERY_CODE_COUNT
    assert all(d.startswith("pbkdf2_sha256$") for d in digests)
    assert not any(code in digest for code in codes for digest in digests)
    # Salted: the same code twice gives two different hashes.
    assert RecoveryCode.digest_of(codes[0]) != RecoveryCode.digest_of(codes[0])
    assert len({digest.split("$")[2] for digest in digests}) == len(digests)


def test_a_recovery_code_works_once_and_only_once(client, user):
    make_totp_device(user=user)
    first, second, *_rest = services.recovery_codes_create(user=user)

    password_step(client, user.username)
    assert code_step(client, first).status_code == 302
    assert signed_in(client)
    client.post(reverse("logout"))

    password_step(client, user.username)
    again = code_step(client, services.format_recovery_code(first).upper())
    assert again.status_code == 200
    assert not signed_in(client)

    # django-otp makes the next try wait after a wrong code: the device's throttle is reset.
    RecoveryCodeDevice.objects.filter(user=user).update(throttling_failure_count=0)
    assert code_step(client, second).status_code == 302
    assert signed_in(client)
    assert services.recovery_codes_remaining(user) == services.RECOVERY_CODE_COUNT - 2


def test_a_recovery_code_is_deleted_by_the_first_of_two_checks(user):
    code = services.recovery_codes_create(user=user)[0]
    device = RecoveryCodeDevice.objects.get(user=user)
    stale = RecoveryCodeDevice.objects.get(pk=device.pk)  # a second request's copy

    assert device.verify_token(code)
    assert not stale.verify_token(code)


def test_login_with_the_encrypted_totp_seed(client, user):
    device = make_totp_device(user=user)
    stored = TOTPDevice.objects.filter(pk=device.pk).values_list("key", flat=True).get()

    assert stored.startswith(f"{crypto.PREFIX}:") and device.key not in stored
    log_in(client, user)
    assert signed_in(client)
    assert device.config_url.startswith(f"otpauth://totp/Pristan%3A{user.username}?secret=")


def test_rotate_keys_reencrypts_totp_seeds(settings, user):
    device = make_totp_device(user=user)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *django_settings.FIELD_ENCRYPTION_KEYS]
    crypto.reset_keys()
    try:
        out = StringIO()
        call_command("rotate_keys", stdout=out)
        settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
        crypto.reset_keys()
        stored = TOTPDevice.objects.filter(pk=device.pk).values_list("key", flat=True).get()
        assert crypto.key_id_of_text(stored) == crypto.current_key_id()
        assert TOTPDevice.objects.get(pk=device.pk).key == device.key
        assert "accounts.TOTPDevice: 1 rows" in out.getvalue()
    finally:
        crypto.reset_keys()


# --- New recovery codes need the password and a current code ------------------------------------


def _digests(user) -> set[str]:
    return set(RecoveryCode.objects.filter(device__user=user).values_list("digest", flat=True))


def test_new_recovery_codes_are_refused_without_password_and_code(client, user):
    log_in(client, user)
    device = TOTPDevice.objects.get(user=user)
    old_codes = services.recovery_codes_create(user=user)
    before = _digests(user)
    url = reverse("accounts:recovery_codes")
    right_code = totp_code(device, steps=1)  # log_in used the current one
    wrong_code = f"{(int(right_code) + 1) % 1_000_000:06d}"

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()

    nothing = client.post(url)
    wrong_password = client.post(url, {"password": "not-the-password", "code": right_code})
    wrong_code_answer = client.post(url, {"password": PASSWORD, "code": wrong_code})

    for response in (nothing, wrong_password, wrong_code_answer):
        assert response.status_code == 200
        assert "is-invalid" in response.content.decode()
    assert _digests(user) == before
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.LOGIN_FAILED, object_type="username_hash"
    ).exists()
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.LOGIN_FAILED, user=user, object_type="second_factor"
    ).exists()
    # The old codes still work.
    assert RecoveryCodeDevice.objects.get(user=user).verify_token(old_codes[0])


def test_new_recovery_codes_with_password_and_current_code(client, user):
    log_in(client, user)
    device = TOTPDevice.objects.get(user=user)
    before = _digests(user)

    response = client.post(
        reverse("accounts:recovery_codes"),
        {"password": PASSWORD, "code": totp_code(device, steps=1)},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = response.context["codes"]
    assert len(shown) == services.RECOVERY_CODE_COUNT
    assert _digests(user).isdisjoint(before)
    assert RecoveryCodeDevice.objects.get(user=user).verify_token(shown[0].replace("-", ""))
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.SECURITY, user=user, object_type="recovery_codes"
    ).exists()


def test_new_recovery_codes_page_needs_a_login(client):
    response = client.get(reverse("accounts:recovery_codes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Codes stored in clear by django-otp before: the data migration ----------------------------


def _legacy_tables() -> None:
    """django-otp's otp_totp and otp_static tables, as an installation made before had them."""
    types = connection.data_types
    stamp = types["DateTimeField"]
    device = (
        f"id {types['IntegerField']} PRIMARY KEY, user_id {types['BigIntegerField']} NOT NULL, "
        f"name varchar(64) NOT NULL, confirmed {types['BooleanField']} NOT NULL, "
        f"throttling_failure_timestamp {stamp} NULL, throttling_failure_count integer NOT NULL, "
        f"created_at {stamp} NULL, last_used_at {stamp} NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE otp_totp_totpdevice ({device}, {connection.ops.quote_name('key')} "
            "varchar(80) NOT NULL, step smallint NOT NULL, t0 bigint NOT NULL, digits smallint "
            "NOT NULL, tolerance smallint NOT NULL, drift smallint NOT NULL, last_t bigint "
            "NOT NULL)"
        )
        cursor.execute(f"CREATE TABLE otp_static_staticdevice ({device})")
        cursor.execute(
            "CREATE TABLE otp_static_statictoken (id integer PRIMARY KEY, device_id integer "
            "NOT NULL, token varchar(16) NOT NULL)"
        )


def test_migration_encrypts_existing_seeds_and_hashes_existing_codes(client, user):
    seed = "3132333435363738393031323334353637383930"  # RFC 6238's test seed, in hex
    _legacy_tables()
    key = connection.ops.quote_name("key")
    device = "id, user_id, name, confirmed, throttling_failure_count, created_at"
    when = "2026-01-02 03:04:05"
    with connection.cursor() as cursor:
        totp = (
            f"INSERT INTO otp_totp_totpdevice ({device}, {key}, step, t0, digits, tolerance, "  # noqa: S608
            "drift, last_t) VALUES (7, %s, 'phone', %s, 0, %s, %s, 30, 0, 6, 1, 0, -1)"
        )
        cursor.execute(totp, [user.pk, True, when, seed])
        cursor.execute(
            f"INSERT INTO otp_static_staticdevice ({device}) VALUES (7, %s, 'codes', %s, 0, %s)",  # noqa: S608
            [user.pk, True, when],
        )
        cursor.execute(
            "INSERT INTO otp_static_statictoken (id, device_id, token) VALUES "
            "(1, 7, 'abcdefghjk'), (2, 7, 'mnpqrstuvw')"
        )

    migration = importlib.import_module("accounts.migrations.0003_second_factors_encrypted")
    # Not entered: SQLite's editor refuses to start inside the test's transaction; the
    # migration only runs statements through it.
    migration.move_second_factors(apps, connection.schema_editor())

    tables = connection.introspection.table_names()
    assert not {"otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken"} & set(
        tables
    )
    device = TOTPDevice.objects.get(user=user)
    assert device.key == seed and device.confirmed and device.created_at.year == 2026
    stored = TOTPDevice.objects.filter(pk=device.pk).values_list("key", flat=True).get()
    assert seed not in stored
    assert set(_digests(user)) and not any("abcdefghjk" in d for d in _digests(user))
    # The moved devices still let the user in, and each old code once.
    log_in(client, user)
    assert RecoveryCodeDevice.objects.get(user=user).verify_token("abcdefghjk")
    assert not RecoveryCodeDevice.objects.get(user=user).verify_token("abcdefghjk")
    assert services.recovery_codes_remaining(user) == 1


# --- The embedded mode's files ------------------------------------------------------------------

EMBEDDED = """
import os
os.umask(0o022)  # a usual umask: the settings alone must make the files private
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
"""


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PRISTAN_IGNORE_DOTENV="1",
        PRISTAN_VAR_DIR=str(var_dir),
    )
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_database_file_is_0600_and_var_is_0700(tmp_path):
    var_dir = tmp_path / "var"
    old = tmp_path / "old-var"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    (old / "pristan.sqlite3").touch()
    (old / "pristan.sqlite3").chmod(0o644)  # made by an older version

    for folder in (var_dir, old):
        subprocess.run(
            [sys.executable, "-c", EMBEDDED],
            env=_embedded_env(folder),
            cwd=django_settings.BASE_DIR,
            check=True,
            capture_output=True,
        )
        database = folder / "pristan.sqlite3"
        assert _mode(folder) == 0o700
        assert _mode(database) == 0o600
        for companion in (folder / "pristan.sqlite3-wal", folder / "pristan.sqlite3-shm"):
            if companion.exists():
                assert _mode(companion) == 0o600
        celery = folder / "celery" / "queue"
        assert celery.is_dir()
