"""The default templates rewritten by genre and jurisdiction (letters/default_templates/README.md).

The first defaults (loaded by 0002 on databases made before this) are retired: deactivated and
renamed "… (retired)", so that their versions stay with the letters issued from them and the new
templates, some with the same names, can be loaded beside them."""

from django.db import migrations

from letters.defaults import load_default_templates

FIRST_DEFAULTS = [
    ("Unterstützungsschreiben an das BAMF", "de"),
    ("Lettre de soutien — recours devant la CNDA", "fr"),
    ("Bestätigung der Unterstützung", "de"),
    ("Confirmation of assistance", "en"),
    ("Attestation d'accompagnement", "fr"),
    ("Подтверждение оказания помощи", "ru"),
    ("Unterstützungsschreiben an das Verwaltungsgericht", "de"),
    ("Letter of support to the Immigration Court (EOIR)", "en"),
    ("Lettre de soutien à l'OFPRA", "fr"),
    ("Письмо поддержки", "ru"),
    ("Request for urgent consideration", "en"),
    ("Demande d'examen en urgence", "fr"),
    ("Letter of support to USCIS", "en"),
]


def forwards(apps, schema_editor):
    LetterTemplate = apps.get_model("letters", "LetterTemplate")
    for name, language in FIRST_DEFAULTS:
        for template in LetterTemplate.objects.filter(name=name, language=language):
            template.name = f"{name} (retired)"[:200]
            template.is_active = False
            template.save(update_fields=["name", "is_active"])
    load_default_templates(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0006_identity_signers_facts"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
