"""Reads for the letter pages: the register, a batch's progress, the rows of the CSV exports.
Nothing here writes."""

from collections.abc import Iterable, Iterator

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from casework.models import Authority, Case
from core.users import AnyUser
from letters.models import Batch, Letter, Paragraph, Signer

REGISTER_COLUMNS = ["number", "date", "case", "authority", "language", "signer", "status"]


def register_letters(
    user: AnyUser, *, year: int | None = None, authority: Authority | None = None
) -> QuerySet[Letter]:
    """The outgoing-letter register as this user may see it, newest first."""
    letters = (
        Letter.objects.visible_to(user)
        .filter(status__in=[Letter.Status.ISSUED, Letter.Status.REVOKED])
        .select_related("case", "authority")
        # What the register shows: not each letter's (encrypted, long) text, nor its case's.
        .only(
            "number",
            "issued_at",
            "language",
            "signer_name",
            "status",
            "case__reference",
            "authority__short_name",
        )
        .order_by("-issued_at", "-sequence")
    )
    if year:
        letters = letters.filter(register__year=year)
    if authority:
        letters = letters.filter(authority=authority)
    return letters


def register_rows(letters: Iterable[Letter]) -> Iterator[list[str]]:
    """One CSV row per letter, in REGISTER_COLUMNS order."""
    for letter in letters:
        yield [
            letter.number,
            timezone.localdate(letter.issued_at).isoformat(),
            letter.case.reference,
            letter.authority.short_name,
            letter.language,
            letter.signer_name,
            letter.status,
        ]


def letters_in_review(user: AnyUser) -> QuerySet[Letter]:
    """The review queue: the letters waiting for review in the user's scope, oldest first."""
    return (
        Letter.objects.visible_to(user)
        .filter(status=Letter.Status.IN_REVIEW)
        .select_related("case", "authority", "author", "last_edited_by")
        .order_by(F("submitted_at").asc(nulls_first=True), "pk")
    )


def letters_in_review_count(user: AnyUser) -> int:
    """How many letters wait for review (the navigation's badge): one COUNT query."""
    return Letter.objects.visible_to(user).filter(status=Letter.Status.IN_REVIEW).count()


def letters_approved(user: AnyUser) -> QuerySet[Letter]:
    """Approved letters not yet issued in the user's scope, the longest-waiting first."""
    return (
        Letter.objects.visible_to(user)
        .filter(status=Letter.Status.APPROVED)
        .select_related("case", "authority", "author", "approved_by")
        .order_by("approved_at", "pk")
    )


def batch_letters(user: AnyUser, batch: Batch, *, ready: bool) -> QuerySet[Letter]:
    """The batch's letters this user may see in register order: the issued ones, or (`ready`)
    only those with a PDF to download."""
    letters = Letter.objects.visible_to(user).filter(batch=batch).order_by("sequence")
    if ready:
        # An erased letter keeps its register row, not its file.
        letters = letters.filter(render_status=Letter.RenderStatus.READY).exclude(pdf="")
    else:
        letters = letters.filter(status=Letter.Status.ISSUED)
    return letters.select_related("case", "authority")


def batch_progress(batch: Batch) -> dict[str, int | bool]:
    """How far the batch's rendering has come (the workers mark it finished)."""
    counts = batch.letters.aggregate(
        total=Count("pk"),
        ready=Count("pk", filter=Q(render_status=Letter.RenderStatus.READY)),
        failed=Count("pk", filter=Q(render_status=Letter.RenderStatus.FAILED)),
    )
    # A template batch makes one letter per case; an approved-letters batch has its letters.
    expected = len(batch.case_ids) if batch.kind == Batch.Kind.TEMPLATE else counts["total"]
    done = counts["ready"] + counts["failed"]
    return {
        **counts,
        "expected": expected,
        "remaining": max(expected - done, 0),
        "percent": int(100 * done / expected) if expected else 100,
        "finished": batch.status in (Batch.Status.FINISHED, Batch.Status.FAILED),
        "waiting": batch.status == Batch.Status.AWAITING_APPROVAL,
    }


def batch_cases(batch: Batch) -> QuerySet[Case]:
    """The cases of a batch's own organisation it makes letters for (what its approver checks)."""
    return Case.objects.filter(pk__in=batch.case_ids, organisation=batch.organisation).order_by(
        "reference"
    )


def batch_failed_letters(batch: Batch) -> QuerySet[Letter]:
    return batch.letters.filter(render_status=Letter.RenderStatus.FAILED).select_related("case")


def signers_for(letter: Letter) -> list[Signer]:
    """Who may sign this letter: the organisation's active signers with a title in its
    language, the default first."""
    signers = Signer.objects.filter(organisation_id=letter.case.organisation_id, is_active=True)
    return [signer for signer in signers if signer.signs_in(letter.language)]


def issuer_name(letter: Letter, language: str) -> str:
    """The issuing organisation's name as the verification page shows it: in the page's
    language, else in the letter's, else its own name."""
    identities = {i.language: i.name for i in letter.case.organisation.identities.all()}
    return (
        identities.get(language) or identities.get(letter.language) or letter.case.organisation.name
    )


def _country_code(country: object) -> str:
    """The ISO code of a django-countries value ("" when blank)."""
    return str(getattr(country, "code", "") or "")


def _tagged_with(field: str, codes: set[str]) -> Q:
    """The paragraph's country list (stored "DE,FR") names one of `codes`. Two-letter codes
    joined by commas: a code can only be found as itself."""
    condition = Q(pk__in=[])
    for code in codes:
        condition |= Q(**{f"{field}__contains": code})
    return condition


def paragraphs_for_letter(letter: Letter) -> QuerySet[Paragraph]:
    """The library paragraphs a letter's drafter may insert: active, in the letter's language,
    shared or of the letter's organisation. Those that fit the case come first, with `fits`
    set: each tag the paragraph has (grounds, countries of origin, destinations) meets the
    case — one of its grounds, the client's citizenship, the case's destination or the
    addressee's country — and it has at least one tag. `ground_match`, `origin_match` and
    `destination_match` say which did. One query."""
    case = letter.case
    origins = {_country_code(country) for country in case.client.citizenships}
    destinations = {
        _country_code(case.destination_country),
        _country_code(letter.authority.country),
    } - {""}
    through = Paragraph.grounds.through
    has_grounds = Exists(through.objects.filter(paragraph_id=OuterRef("pk")))
    ground_match = Exists(
        through.objects.filter(
            paragraph_id=OuterRef("pk"),
            ground_id__in=Case.grounds.through.objects.filter(case_id=case.pk).values("ground_id"),
        )
    )
    origin_match = _tagged_with("origin_countries", origins)
    destination_match = _tagged_with("destination_countries", destinations)
    no_origin, no_destination = Q(origin_countries=""), Q(destination_countries="")
    fits = (
        (~Q(has_grounds=True) | Q(ground_match=True))
        & (no_origin | origin_match)
        & (no_destination | destination_match)
        & ~(~Q(has_grounds=True) & no_origin & no_destination)
    )
    return (
        Paragraph.objects.filter(
            Q(organisation__isnull=True) | Q(organisation_id=case.organisation_id),
            language=letter.language,
            is_active=True,
        )
        .annotate(has_grounds=has_grounds, ground_match=ground_match)
        .annotate(
            origin_match=ExpressionWrapper(origin_match, output_field=BooleanField()),
            destination_match=ExpressionWrapper(destination_match, output_field=BooleanField()),
            fits=ExpressionWrapper(fits, output_field=BooleanField()),
        )
        .order_by("-fits", "title", "pk")
    )
