"""Load the default letter templates shipped in letters/default_templates/.

Each file is named `<slug>.<language>.txt` and starts with a few header lines:

    Name: Lettre de soutien à l'OFPRA
    Kind: support
    For: asylum_office
    Subject: Lettre de soutien … {{ client.full_name }}

then an empty line, then the body. A template whose name and language already exist is left as
it is (an administrator may have edited it), so running this again changes nothing.
"""

from pathlib import Path

from django.db import migrations

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "default_templates"
LANGUAGES = {"ru", "en", "fr", "de"}
KINDS = {"support", "confirmation", "character", "urgent"}
AUTHORITY_KINDS = {"", "asylum_office", "court", "unhcr", "other"}
HEADERS = {"name", "kind", "for", "subject"}


def parse_template_file(path: Path) -> dict:
    """The fields of one template file; raises ValueError on anything it cannot make sense of."""
    parts = path.name.split(".")
    if len(parts) != 3 or parts[2] != "txt" or parts[1].lower() not in LANGUAGES:
        raise ValueError(f"{path.name}: expected a name like <slug>.<ru|en|fr|de>.txt")
    language = parts[1].lower()

    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    headers: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or key not in HEADERS:
            # No empty line after the headers: the body starts here.
            break
        headers[key] = value.strip()
        index += 1
    body = "\n".join(lines[index:]).strip("\n").rstrip()

    name = headers.get("name", "")
    kind = headers.get("kind", "").lower()
    authority_kind = headers.get("for", "").lower()
    if not name:
        raise ValueError(f"{path.name}: the “Name:” line is missing")
    if kind not in KINDS:
        raise ValueError(f"{path.name}: “Kind: {kind}” is not one of {sorted(KINDS)}")
    if authority_kind not in AUTHORITY_KINDS:
        raise ValueError(f"{path.name}: “For: {authority_kind}” is not one of {AUTHORITY_KINDS}")
    if not body:
        raise ValueError(f"{path.name}: the body is empty")
    return {
        "name": name[:200],
        "kind": kind,
        "language": language,
        "authority_kind": authority_kind,
        "subject": headers.get("subject", "")[:300],
        "body": body,
    }


def load_default_templates(apps, schema_editor):
    LetterTemplate = apps.get_model("letters", "LetterTemplate")
    LetterTemplateVersion = apps.get_model("letters", "LetterTemplateVersion")
    if not TEMPLATES_DIR.is_dir():
        return
    for path in sorted(TEMPLATES_DIR.glob("*.txt")):
        fields = parse_template_file(path)
        if LetterTemplate.objects.filter(name=fields["name"], language=fields["language"]).exists():
            continue
        template = LetterTemplate.objects.create(is_active=True, **fields)
        LetterTemplateVersion.objects.create(
            template=template,
            number=1,
            subject=template.subject,
            body=template.body,
            created_by=None,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_default_templates, migrations.RunPython.noop),
    ]
