"""The first default letter templates were loaded here. They were rewritten by genre and
jurisdiction in issue 11 and are now loaded by 0007 through letters.defaults, whose loader writes
the template fields as they are today; on a database that ran this migration already, 0007
retires the first templates. Kept, empty, so that the migration graph stays as it was."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
    ]
