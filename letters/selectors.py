"""Reads for the letter pages: the register, a batch's progress, the rows of the CSV exports.
Nothing here writes."""

from collections.abc import Iterable, Iterator

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from casework.models import Authority
from core.users import AnyUser
from letters.models import Batch, Letter

REGISTER_COLUMNS = ["number", "date", "case", "authority", "language", "signer", "status"]


def register_letters(
    user: AnyUser, *, year: int | None = None, authority: Authority | None = None
) -> QuerySet[Letter]:
    """The outgoing-letter register as this user may see it, newest first."""
    letters = (
        Letter.objects.visible_to(user)
        .filter(status__in=[Letter.Status.ISSUED, Letter.Status.REVOKED])
        .select_related("case", "authority", "issued_by")
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
    expected = len(batch.case_ids)
    done = counts["ready"] + counts["failed"]
    return {
        **counts,
        "expected": expected,
        "remaining": max(expected - done, 0),
        "percent": int(100 * done / expected) if expected else 100,
        "finished": batch.status in (Batch.Status.FINISHED, Batch.Status.FAILED),
    }


def batch_failed_letters(batch: Batch) -> QuerySet[Letter]:
    return batch.letters.filter(render_status=Letter.RenderStatus.FAILED).select_related("case")
