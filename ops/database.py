"""The database in a backup: dumped with pg_dump or SQLite's backup API, loaded back in one
transaction, and what the installation's migrations and tables say about it."""

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.postgresql.client import DatabaseClient
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ops.stream import BackupError

DATABASE_MEMBERS = {"postgresql": "database.sql", "sqlite": "database.sqlite3"}
ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def _pg_env(db: dict) -> dict:
    _args, env = DatabaseClient.settings_to_cmd_args_env(db, [])
    env = {**os.environ, **(env or {})}
    for var, value in [
        ("PGHOST", db.get("HOST")),
        ("PGPORT", db.get("PORT")),
        ("PGUSER", db.get("USER")),
        ("PGDATABASE", db.get("NAME")),
    ]:
        if value:
            env[var] = str(value)
    return env


def _pg_tool(tool: str, server_major: int, *, exact: bool) -> str:
    """The PostgreSQL client program of the server's major version: Debian keeps each version
    under /usr/lib/postgresql/<major>/bin; otherwise the one on PATH, if it matches."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{tool}")]
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if not candidate.exists():
            continue
        out = subprocess.run(  # noqa: S603  (a PostgreSQL client program, fixed arguments)
            [str(candidate), "--version"], capture_output=True, text=True
        )
        found = re.search(r"\)\s*(\d+)", out.stdout)
        if found and (not exact or int(found.group(1)) == server_major):
            return str(candidate)
    raise BackupError(
        f"No {tool} of PostgreSQL {server_major} (the server's version) was found: install the "
        f"PostgreSQL {server_major} client (Debian: postgresql-client-{server_major})."
    )


def _pg_version() -> int:
    """The PostgreSQL server's version number (160004 for 16.4), connecting if need be."""
    from django.db.backends.postgresql.base import DatabaseWrapper  # needs psycopg

    wrapper = connections[DEFAULT_DB_ALIAS]
    if not isinstance(wrapper, DatabaseWrapper):
        raise BackupError(f"The database is {wrapper.vendor}, not PostgreSQL.")
    wrapper.ensure_connection()
    return wrapper.pg_version


def dump_postgresql(target: Path) -> dict:
    version = _pg_version()
    pg_dump = _pg_tool("pg_dump", version // 10000, exact=True)
    db = connection.settings_dict
    result = subprocess.run(  # noqa: S603  (pg_dump, arguments from the settings)
        [pg_dump, "--format=plain", "--no-owner", "--no-privileges", "--no-comments",
         f"--file={target}", "--dbname", db["NAME"]],
        env=_pg_env(db), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[-2000:]}")
    return {"server_version": version, "tool": pg_dump}


def dump_sqlite(target: Path) -> dict:
    path = Path(connection.settings_dict["NAME"]).resolve()
    source = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=20)
    copy = sqlite3.connect(target)
    try:
        # One step: a consistent snapshot, while the application goes on writing (WAL).
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    return {"server_version": sqlite3.sqlite_version}


def applied_migrations() -> list[str]:
    return sorted(
        f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()
    )


# Rows in any of these mean the installation is in use (a freshly migrated one only has the
# reference data that migrations load: grounds, authorities, letter templates).
IN_USE_TABLES = [
    "accounts_user",
    "casework_organisation",
    "casework_client",
    "casework_case",
    "casework_accessevent",
    "letters_letter",
]


def database_state() -> str:
    """'blank' (no tables), 'migrated' (tables but no data in use) or 'in use'."""
    tables = set(connection.introspection.table_names())
    if not tables:
        return "blank"
    with connection.cursor() as cursor:
        for table in IN_USE_TABLES:
            if table in tables:
                quoted = connection.ops.quote_name(table)
                cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 1")  # noqa: S608  (our table names)
                if cursor.fetchone():
                    return "in use"
    return "migrated"


# The access log's append-only triggers (casework/migrations/0003) refuse DELETE and TRUNCATE,
# never DROP TABLE: a migrated but unused database (or one being replaced) is cleared by
# dropping everything in the schema, in the same transaction as the load.
PG_CLEAR = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', current_schema(), r.tablename);
    END LOOP;
    FOR r IN SELECT sequence_name FROM information_schema.sequences
             WHERE sequence_schema = current_schema() LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', current_schema(), r.sequence_name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
             WHERE p.pronamespace = current_schema()::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.f || ' CASCADE';
    END LOOP;
END $$;
"""


def load_postgresql(dump: Path, *, clear: bool, folder: Path) -> None:
    major = _pg_version() // 10000
    db = connection.settings_dict
    connection.close()
    try:
        psql = _pg_tool("psql", major, exact=True)
    except BackupError:
        psql = _pg_tool("psql", major, exact=False)
    command = [psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
               "--dbname", db["NAME"]]  # fmt: skip
    if clear:
        clear_sql = folder / "clear.sql"
        clear_sql.write_text(PG_CLEAR)
        command += ["--file", str(clear_sql)]
    command += ["--file", str(dump)]
    result = subprocess.run(command, env=_pg_env(db), capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(
            "Loading the database failed; it was left as it was. psql said: "
            + result.stderr.strip()[-2000:]
        )


def load_sqlite(dump: Path) -> None:
    source = sqlite3.connect(dump)
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(
                "The SQLite database in the archive is damaged. Nothing was restored."
            )
        connection.ensure_connection()
        # Replaces the whole target database in one transaction of the target (SQLite's
        # backup API), through the application's own connection (WAL mode).
        source.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(
            f"Loading the database failed; it was left as it was ({error})."
        ) from None
    finally:
        source.close()
        connection.close()


def pending_migrations(applied: list[str]) -> list[str]:
    known = {
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    return sorted(known - set(applied))
