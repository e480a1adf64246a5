"""The access log, keyed and chained per organisation (casework.audit).

The entries already there keep their unkeyed hashes: `seq` and `chain` stay empty, which marks
them as the "legacy" chain; `verify_access_log` checks them with the old hash, and the first
keyed entry of every organisation's chain links to their last hash. Nothing is rewritten (the
table refuses UPDATE anyway).

On SQLite, adding a column with a default copies the table into a new one, which loses the
append-only triggers of 0003: they are created again (after this migration, and after undoing
it).
"""

from django.db import migrations, models

# As in 0003.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS casework_accessevent_no_update BEFORE UPDATE
       ON casework_accessevent
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS casework_accessevent_no_delete BEFORE DELETE
       ON casework_accessevent
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only (DELETE refused)'); END;""",
]


def sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0009_admin_log_ids_only'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers),
        migrations.AddField(
            model_name='accessevent',
            name='chain',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='accessevent',
            name='key_id',
            field=models.CharField(blank=True, max_length=8),
        ),
        migrations.AddField(
            model_name='accessevent',
            name='seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddConstraint(
            model_name='accessevent',
            constraint=models.UniqueConstraint(condition=models.Q(('seq__isnull', False)), fields=('chain', 'seq'), name='casework_accessevent_chain_seq'),
        ),
        migrations.RunPython(sqlite_triggers, migrations.RunPython.noop),
    ]
