"""Indexes for 100,000 cases (bench/pages.py).

On PostgreSQL also: a GIN index of the clients' blind-index hashes as an array (name search,
see casework.models.NameTokens), and, where the pg_trgm extension can be created, trigram
indexes that serve `icontains` on case references and pseudonyms. Without pg_trgm (a database
user who may not create extensions) the search works the same, reading those columns in full.
SQLite gets none of these: it runs the same queries without them.
"""

import logging

from django.db import DatabaseError, migrations, models, transaction

logger = logging.getLogger(__name__)

POSTGRES_INDEXES = [
    "CREATE INDEX IF NOT EXISTS casework_client_name_tokens ON casework_client "
    "USING gin (string_to_array(name_index, ' '))",
]
TRIGRAM_INDEXES = [
    "CREATE INDEX IF NOT EXISTS casework_case_reference_trgm ON casework_case "
    "USING gin (upper(reference::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS casework_client_pseudonym_trgm ON casework_client "
    "USING gin (upper(pseudonym::text) gin_trgm_ops)",
]
NAMES = [
    "casework_client_name_tokens",
    "casework_case_reference_trgm",
    "casework_client_pseudonym_trgm",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in POSTGRES_INDEXES:
        schema_editor.execute(sql)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        logger.warning(
            "pg_trgm could not be created (it needs a superuser or the database owner): "
            "searching references and pseudonyms reads the tables in full."
        )
        return
    for sql in TRIGRAM_INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in NAMES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0004_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("done", False), ("is_deadline", True)),
                fields=["date", "case"],
                name="event_open_deadline",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["organisation", "updated_at"], name="case_org_updated"),
        ),
        migrations.RunPython(create, drop),
    ]
