"""Grounds and the authorities every installation needs from the start (admins can edit them)."""

from django.db import migrations

GROUNDS = ["political", "religion", "ethnicity", "sogi", "military", "business", "other"]

AUTHORITIES = [
    # code, short name, name, kind, country, language, address
    ("ofpra", "OFPRA", "Office français de protection des réfugiés et apatrides", "asylum_office",
     "FR", "fr", "201 rue Carnot\n94136 Fontenay-sous-Bois Cedex\nFrance"),
    ("cnda", "CNDA", "Cour nationale du droit d'asile", "court",
     "FR", "fr", "35 rue Cuvier\n93558 Montreuil Cedex\nFrance"),
    ("ta-nancy", "TA Nancy", "Tribunal administratif de Nancy", "court",
     "FR", "fr", "5 place de la Carrière\nCO 20038\n54036 Nancy Cedex\nFrance"),
    ("bamf", "BAMF", "Bundesamt für Migration und Flüchtlinge", "asylum_office",
     "DE", "de", "Frankenstraße 210\n90461 Nürnberg\nDeutschland"),
    ("vg-berlin", "VG Berlin", "Verwaltungsgericht Berlin", "court",
     "DE", "de", "Kirchstraße 7\n10557 Berlin\nDeutschland"),
    ("uscis", "USCIS", "U.S. Citizenship and Immigration Services, Asylum Division", "asylum_office",
     "US", "en", "5900 Capital Gateway Drive\nCamp Springs, MD 20588-0009\nUnited States"),
    ("eoir", "EOIR", "Executive Office for Immigration Review", "court",
     "US", "en", "5107 Leesburg Pike\nFalls Church, VA 22041\nUnited States"),
    ("uk-home-office", "UK Home Office", "Home Office, Asylum and Protection", "asylum_office",
     "GB", "en", "2 Marsham Street\nLondon SW1P 4DF\nUnited Kingdom"),
    ("unhcr-central-asia", "UNHCR Central Asia", "UNHCR Multi-Country Office for Central Asia",
     "unhcr", "KZ", "ru", "Almaty\nKazakhstan"),
    ("unhcr-georgia", "UNHCR Georgia", "UNHCR Representation in Georgia",
     "unhcr", "GE", "en", "Tbilisi\nGeorgia"),
    ("unhcr-armenia", "UNHCR Armenia", "UNHCR Representation in Armenia",
     "unhcr", "AM", "en", "Yerevan\nArmenia"),
    ("unhcr-turkiye", "UNHCR Türkiye", "UNHCR Representation in Türkiye",
     "unhcr", "TR", "en", "Ankara\nTürkiye"),
]  # fmt: skip


def forwards(apps, schema_editor):
    Ground = apps.get_model("casework", "Ground")
    Authority = apps.get_model("casework", "Authority")
    for code in GROUNDS:
        Ground.objects.get_or_create(code=code)
    for code, short, name, kind, country, language, address in AUTHORITIES:
        Authority.objects.get_or_create(
            code=code,
            defaults={
                "short_name": short,
                "name": name,
                "kind": kind,
                "country": country,
                "language": language,
                "address": address,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
