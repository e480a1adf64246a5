"""The shared default paragraphs of the library (letters/default_paragraphs.py): fictional-use
demo passages, created once by title and language, never overwritten."""

from django.db import migrations

from letters.default_paragraphs import load_default_paragraphs


def forwards(apps, schema_editor):
    load_default_paragraphs(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0002_reference_data"),
        ("letters", "0011_paragraph_library"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
