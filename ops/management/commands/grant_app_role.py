"""Give the application's PostgreSQL role what it needs at run time, and nothing over the access
log: run by the owner of the tables (the role migrations run as), after every `migrate`.

    psql -c "CREATE ROLE pristan_app LOGIN PASSWORD '…'"       # once, as the owner or a superuser
    DATABASE_URL=postgres://pristan_owner:…@db/pristan manage.py migrate
    DATABASE_URL=postgres://pristan_owner:…@db/pristan manage.py grant_app_role pristan_app

The application then runs with DATABASE_URL=postgres://pristan_app:…@db/pristan: it reads and
writes every table, but on the access log and its seals it may only INSERT and SELECT (the
sealer, casework.audit, runs as the same role: sealing only inserts). It owns nothing, so it
can neither ALTER nor DROP the table or its append-only triggers (only an owner can), nor
TRUNCATE, UPDATE or DELETE its rows. `--print` shows the SQL instead of running it.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from casework.models import AccessEvent, AccessSeal


def grant_statements(role: str, *, database: str, owner: str) -> list[sql.Composed]:
    r = sql.Identifier(role)
    log, seals = (
        sql.Identifier(AccessEvent._meta.db_table),
        sql.Identifier(AccessSeal._meta.db_table),
    )
    return [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), r),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            r
        ),
        sql.SQL("REVOKE ALL ON {}, {} FROM {}").format(log, seals, r),
        sql.SQL("GRANT SELECT, INSERT ON {}, {} TO {}").format(log, seals, r),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(r),
        # Tables that later migrations create; the next run of this command narrows the log again.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(sql.Identifier(owner), r),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(sql.Identifier(owner), r),
    ]


class Command(BaseCommand):
    help = "PostgreSQL: grant the application's role its rights (only INSERT/SELECT on the log)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the application connects as, e.g. pristan_app")
        parser.add_argument(
            "--print", dest="print_only", action="store_true", help="print the SQL, run nothing"
        )

    def handle(self, *args, role, print_only=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, database = cursor.fetchone()
            cursor.execute(
                "SELECT rolsuper, pg_has_role(%s, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                [role, owner, role],
            )
            found = cursor.fetchone()
        if found is None:
            raise CommandError(
                f'There is no role "{role}". Create it first, e.g. '
                f"CREATE ROLE {role} LOGIN PASSWORD '…';"
            )
        if role == owner or found[0] or found[1]:
            raise CommandError(
                f'"{role}" is a superuser, the owner ({owner}) or a member of it: it could alter '
                "the access log. The application needs a role of its own."
            )
        statements = grant_statements(role, database=database, owner=owner)
        if print_only:
            for statement in statements:
                self.stdout.write(statement.as_string(connection.connection) + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            self.style.SUCCESS(
                f'"{role}" may read and write the tables; the access log only INSERT and SELECT.'
            )
        )
