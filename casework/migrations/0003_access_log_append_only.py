"""The access log is append-only, enforced by the database itself: a compromised or careless
application cannot rewrite or delete what it recorded."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION casework_accessevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER casework_accessevent_no_update BEFORE UPDATE OR DELETE ON casework_accessevent
    FOR EACH ROW EXECUTE FUNCTION casework_accessevent_append_only();
CREATE TRIGGER casework_accessevent_no_truncate BEFORE TRUNCATE ON casework_accessevent
    FOR EACH STATEMENT EXECUTE FUNCTION casework_accessevent_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS casework_accessevent_no_update ON casework_accessevent;
DROP TRIGGER IF EXISTS casework_accessevent_no_truncate ON casework_accessevent;
DROP FUNCTION IF EXISTS casework_accessevent_append_only();
"""
SQLITE = [
    """CREATE TRIGGER casework_accessevent_no_update BEFORE UPDATE ON casework_accessevent
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER casework_accessevent_no_delete BEFORE DELETE ON casework_accessevent
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (DELETE refused)'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS casework_accessevent_no_update;",
    "DROP TRIGGER IF EXISTS casework_accessevent_no_delete;",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("casework", "0002_reference_data")]
    operations = [migrations.RunPython(forwards, backwards)]
