"""The default letter templates shipped in letters/default_templates/, and their loader.

Each file is named `<code>.<language>.txt` and starts with header lines:

    Name: Lettre de soutien à l'OFPRA
    Kind: support
    For: asylum_office
    Countries: FR
    Requires: ofpra
    Subject: Demande d'asile de {{ client.identity }} – lettre de soutien

then an empty line, then the body. `For`, `Countries` and `Requires` are comma-separated lists,
empty for "any" / "none". The loader is used by data migrations (with their historical models)
and by the tests' reference data; it never changes a template that already exists (an
administrator may have edited it).
"""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent / "default_templates"
LANGUAGES = {"ru", "en", "fr", "de"}
KINDS = {"support", "confirmation", "character", "urgent"}
AUTHORITY_KINDS = {
    "asylum_office",
    "appeal_court",
    "administrative_court",
    "immigration_court",
    "ministry",
    "unhcr",
    "court",
    "other",
}
REFERENCE_KINDS = {
    "ofpra",
    "cnda",
    "bamf",
    "vg",
    "a_number",
    "uscis_receipt",
    "eoir",
    "home_office",
    "unhcr",
    "other",
}
HEADERS = {"name", "kind", "for", "countries", "requires", "subject"}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_template_file(path: Path) -> dict:
    """The fields of one template file; raises ValueError on anything it cannot make sense of."""
    parts = path.name.split(".")
    if len(parts) != 3 or parts[2] != "txt" or parts[1].lower() not in LANGUAGES:
        raise ValueError(f"{path.name}: expected a name like <code>.<ru|en|fr|de>.txt")
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
            break  # no empty line after the headers: the body starts here
        headers[key] = value.strip()
        index += 1
    body = "\n".join(lines[index:]).strip("\n").rstrip()

    name = headers.get("name", "")
    kind = headers.get("kind", "").lower()
    authority_kinds = [k.lower() for k in _list(headers.get("for", ""))]
    countries = [c.upper() for c in _list(headers.get("countries", ""))]
    requires = [r.lower() for r in _list(headers.get("requires", ""))]
    if not name:
        raise ValueError(f"{path.name}: the “Name:” line is missing")
    if kind not in KINDS:
        raise ValueError(f"{path.name}: “Kind: {kind}” is not one of {sorted(KINDS)}")
    if unknown := set(authority_kinds) - AUTHORITY_KINDS:
        raise ValueError(f"{path.name}: “For:” names unknown kinds {sorted(unknown)}")
    if unknown := {c for c in countries if len(c) != 2 or not c.isalpha()}:
        raise ValueError(f"{path.name}: “Countries:” takes ISO codes, not {sorted(unknown)}")
    if unknown := set(requires) - REFERENCE_KINDS:
        raise ValueError(f"{path.name}: “Requires:” names unknown references {sorted(unknown)}")
    if not body:
        raise ValueError(f"{path.name}: the body is empty")
    return {
        "name": name[:200],
        "kind": kind,
        "language": language,
        "authority_kinds": authority_kinds,
        "countries": countries,
        "requires": requires,
        "subject": headers.get("subject", "")[:300],
        "body": body,
    }


def default_template_files() -> list[Path]:
    return sorted(TEMPLATES_DIR.glob("*.txt"))


def load_default_templates(apps) -> int:
    """Create the default templates that do not exist yet (by name and language), each with its
    first version. Returns how many were created."""
    LetterTemplate = apps.get_model("letters", "LetterTemplate")
    LetterTemplateVersion = apps.get_model("letters", "LetterTemplateVersion")
    created = 0
    for path in default_template_files():
        fields = parse_template_file(path)
        if LetterTemplate.objects.filter(name=fields["name"], language=fields["language"]).exists():
            continue
        template = LetterTemplate.objects.create(is_active=True, **fields)
        LetterTemplateVersion.objects.create(
            template=template, number=1, subject=template.subject, body=template.body
        )
        created += 1
    return created
