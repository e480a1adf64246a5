"""A letter lists the enclosed documents from the case's checklists: "P.J." in French,
"Anlagen" in German, "Enclosures" in English, below the signature; frozen when issued."""

import io
import os
import re
from pathlib import Path

import pypdf
import pytest

from casework import services as casework_services
from casework.defaults import load_defaults
from casework.models import ChecklistEntry, ChecklistItem, DeadlineRule, Procedure
from letters import services
from letters.defaults import TEMPLATES_DIR, parse_template_file
from letters.models import Letter, LetterTemplate
from letters.rendering import fill_markers
from tests.helpers import approve, draft, get_authority

State = ChecklistEntry.State
# Set to a folder to keep the PDF, to look at it (pdftoppm -png …).
SAMPLES = os.environ.get("PRISTAN_LETTER_SAMPLES")


def _default(file: str) -> LetterTemplate:
    fields = parse_template_file(TEMPLATES_DIR / file)
    return LetterTemplate.objects.get(name=fields["name"], language=fields["language"])


def _procedure(case, name: str, by, states: dict[int, str]):
    load_defaults(DeadlineRule, Procedure, ChecklistItem)
    procedure = Procedure.objects.get(organisation=None, name=name)
    case_procedure = casework_services.case_procedure_add(case=case, procedure=procedure, by=by)
    items = list(procedure.items.all())
    casework_services.checklist_save(
        case_procedure=case_procedure,
        states={items[i].pk: (state, []) for i, state in states.items()},
        by=by,
    )
    return items


def _pdf_text(letter: Letter) -> str:
    with letter.pdf.open("rb") as f:
        data = f.read()
    if SAMPLES:
        Path(SAMPLES, f"enclosures-{letter.language}.pdf").write_bytes(data)
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


@pytest.fixture
def issue(caseworker, coordinator, django_capture_on_commit_callbacks):
    def issue(case, template, authority) -> Letter:
        letter = approve(
            draft(case, template, authority, caseworker), author=caseworker, approver=coordinator
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.letter_issue(letter=letter, by=coordinator)
        letter.refresh_from_db()
        assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
        return letter

    return issue


def test_a_french_letter_lists_the_documents_the_case_has_below_the_signature(
    full_case, caseworker, issue
):
    _procedure(
        full_case, "CNDA appeal", caseworker, {0: State.HAVE, 1: State.HAVE, 2: State.MISSING}
    )
    letter = issue(full_case, _default("cnda.fr.txt"), get_authority_cnda())

    text = _pdf_text(letter)
    assert "P.J. :" in text
    assert "– Copie de la décision de l'OFPRA" in text
    assert "– Preuve de la date de notification" in text
    assert "Demande d'aide juridictionnelle" not in text  # missing: not enclosed
    # Below the signature: after the closing formula and the signer.
    assert text.index("très haute considération") < text.index("P.J. :")
    assert letter.enclosures.splitlines() == [
        "Copie de la décision de l'OFPRA",
        "Preuve de la date de notification",
    ]


def test_the_list_is_frozen_when_the_letter_is_issued(full_case, caseworker, issue):
    items = _procedure(full_case, "BAMF hearing", caseworker, {1: State.HAVE})
    letter = issue(full_case, _default("bamf.de.txt"), get_authority("bamf"))
    assert fill_markers(letter)[-1] == "Anlagen:\n– Kopie des Reisepasses"

    casework_services.checklist_save(
        case_procedure=full_case.procedures.get(),
        states={items[3].pk: (State.HAVE, [])},
        by=caseworker,
    )
    letter.refresh_from_db()
    assert fill_markers(letter)[-1] == "Anlagen:\n– Kopie des Reisepasses"
    assert "Anlagen:" in _pdf_text(letter)


def test_nothing_to_enclose_prints_no_heading(full_case, caseworker, issue):
    _procedure(full_case, "USCIS Form I-589 filing", caseworker, {0: State.MISSING})
    uscis = _fitting("uscis")
    letter = issue(full_case, _default("uscis.en.txt"), uscis)
    assert "Enclosures:" not in _pdf_text(letter)
    assert letter.enclosures == ""


def test_a_draft_shows_the_checklist_as_it_is(full_case, caseworker):
    _procedure(full_case, "USCIS Form I-589 filing", caseworker, {0: State.HAVE})
    letter = draft(full_case, _default("uscis.en.txt"), _fitting("uscis"), caseworker)
    assert fill_markers(letter)[-1] == (
        "Enclosures:\n– Form I-589, Application for Asylum and for Withholding of Removal"
    )


def get_authority_cnda():
    return _fitting("cnda")


def _fitting(code: str):
    from casework.models import Authority

    return Authority.objects.get(code=code)
