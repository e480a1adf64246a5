"""The access log without a lock on the request path (casework.audit): requests append bare
entries, a background sealer chains them in a separate, append-only table of seals.

Nothing already written changes: the entries chained by the old append (`seq` set) and the
legacy entries (`chain` empty) verify as before, and each organisation's sealed chain continues
their numbering and links to their last hash, so anchors taken before the upgrade still check.

The seals get the log's append-only triggers (the function of 0003 on PostgreSQL).
"""

import django.utils.timezone
from django.db import migrations, models

POSTGRES = """
CREATE TRIGGER casework_accessseal_no_update BEFORE UPDATE OR DELETE ON casework_accessseal
    FOR EACH ROW EXECUTE FUNCTION casework_accessevent_append_only();
CREATE TRIGGER casework_accessseal_no_truncate BEFORE TRUNCATE ON casework_accessseal
    FOR EACH STATEMENT EXECUTE FUNCTION casework_accessevent_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS casework_accessseal_no_update ON casework_accessseal;
DROP TRIGGER IF EXISTS casework_accessseal_no_truncate ON casework_accessseal;
"""
SQLITE = [
    """CREATE TRIGGER casework_accessseal_no_update BEFORE UPDATE ON casework_accessseal
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER casework_accessseal_no_delete BEFORE DELETE ON casework_accessseal
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (DELETE refused)'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS casework_accessseal_no_update;",
    "DROP TRIGGER IF EXISTS casework_accessseal_no_delete;",
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

    dependencies = [
        ('casework', '0019_assignment_user_case_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccessSeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('chain', models.BigIntegerField()),
                ('seq', models.BigIntegerField()),
                ('event_id', models.BigIntegerField()),
                ('missing', models.BooleanField(default=False)),
                ('upto', models.BigIntegerField()),
                ('sealed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('key_id', models.CharField(max_length=8)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64)),
            ],
            options={
                'verbose_name': 'access log seal',
                'verbose_name_plural': 'access log seals',
                'constraints': [models.UniqueConstraint(fields=('chain', 'seq'), name='casework_accessseal_chain_seq'), models.UniqueConstraint(fields=('event_id', 'missing'), name='casework_accessseal_event')],
                'indexes': [models.Index(condition=models.Q(('missing', True)), fields=['event_id'], name='casework_accessseal_missing')],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
