"""The precise kinds of the seeded courts, two immigration courts, and the name index rebuilt.

Courts: the CNDA is an appeal court, the Tribunal administratif de Nancy and the
Verwaltungsgericht Berlin are administrative courts; the EOIR is the immigration courts'
headquarters, not a court, so letters to a judge go to the immigration courts added here.
Only rows still as seeded ("court") are changed: an administrator's choice is kept.

The name search now folds French and German spellings of Russian sounds (ё: io/jo, е: ie/je,
casework.names), so every client's blind index is computed again from their names.
"""

from django.db import migrations

KINDS = {
    "cnda": "appeal_court",
    "ta-nancy": "administrative_court",
    "vg-berlin": "administrative_court",
    "eoir": "other",
}

IMMIGRATION_COURTS = [
    ("eoir-ny-broadway", "NY Broadway Immigration Court",
     "New York – Broadway Immigration Court",
     "290 Broadway, 12th Floor\nNew York, NY 10007\nUnited States"),
    ("eoir-sf", "San Francisco Immigration Court", "San Francisco Immigration Court",
     "100 Montgomery Street, Suite 800\nSan Francisco, CA 94104\nUnited States"),
]  # fmt: skip


def update_authorities(apps, schema_editor):
    """Also run by tests/conftest.py after 0002 when a flush removed the reference data."""
    Authority = apps.get_model("casework", "Authority")
    for code, kind in KINDS.items():
        Authority.objects.filter(code=code, kind="court").update(kind=kind)
    for code, short, name, address in IMMIGRATION_COURTS:
        Authority.objects.get_or_create(
            code=code,
            defaults={
                "short_name": short,
                "name": name,
                "kind": "immigration_court",
                "country": "US",
                "language": "en",
                "address": address,
            },
        )


def restore_kinds(apps, schema_editor):
    Authority = apps.get_model("casework", "Authority")
    Authority.objects.filter(code__in=KINDS, kind__in=set(KINDS.values())).update(kind="court")
    codes = [court[0] for court in IMMIGRATION_COURTS]
    Authority.objects.filter(code__in=codes, cases=None).delete()


def reindex_names(apps, schema_editor):
    from casework.names import name_index  # the folding of today, which this migration is for

    Client = apps.get_model("casework", "Client")
    ClientName = apps.get_model("casework", "ClientName")
    for client in Client.objects.exclude(name_index="").only("pk").iterator(chunk_size=500):
        full_names = [
            " ".join(p for p in (n.family_name, n.given_names, n.patronymic) if p)
            for n in ClientName.objects.filter(client=client).order_by("id")
        ]
        Client.objects.filter(pk=client.pk).update(name_index=name_index(full_names))


class Migration(migrations.Migration):
    dependencies = [("casework", "0006_references_statements_gender")]
    operations = [
        migrations.RunPython(update_authorities, restore_kinds),
        migrations.RunPython(reindex_names, migrations.RunPython.noop),
    ]
