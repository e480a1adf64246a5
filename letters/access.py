"""Who may see which letter and batch: through the case's scope (casework.access), with the same
logged 404 for what is out of scope as for what does not exist."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from casework.access import Forbidden, OutOfScope, membership_of, same_organisation, user_can
from casework.capabilities import Capability
from core.users import AnyUser
from letters.models import Batch, Letter, Paragraph


def get_letter_for_user(
    user: AnyUser, letter_id: int, *, capability: Capability | None = None
) -> Letter:
    """A letter through its case's scope: 404 outside it (or without the right to see letters),
    403 for a visible letter the user may not act on. Both are logged as denials."""
    letter = None
    if user_can(user, Capability.VIEW_LETTERS):
        letter = (
            Letter.objects.visible_to(user)
            .select_related(
                "case",
                "case__client",
                "case__organisation",
                "authority",
                "author",
                "approved_by",
                "last_edited_by",
            )
            .filter(pk=letter_id)
            .first()
        )
    if letter is None:
        hidden = (
            Letter.objects.filter(pk=letter_id).values("case_id", "case__organisation_id").first()
        )
        if hidden is None or not same_organisation(user, hidden["case__organisation_id"]):
            raise OutOfScope("letter")
        raise OutOfScope("letter", letter_id, case_id=hidden["case_id"])
    if capability is not None and not user_can(user, capability):
        raise Forbidden(letter)
    return letter


def get_batch_for_user(
    user: AnyUser, batch_id: int, *, capability: Capability | None = None
) -> Batch:
    """A batch of the user's organisation, for those who run batches; else a (logged) 404. A
    visible batch the user may not act on (`capability`) is a (logged) 403."""
    membership = membership_of(user)
    batch = (
        Batch.objects.filter(pk=batch_id, organisation_id=membership.organisation_id)
        .select_related("template", "authority", "created_by", "approved_by")
        .first()
        if membership
        else None
    )
    if batch is None or not user_can(user, Capability.RUN_BATCHES):
        raise OutOfScope("batch", batch.pk if batch else "")
    if capability is not None and not user_can(user, capability):
        raise Forbidden(batch)
    return batch


def get_letters_for_batch(user: Any, letter_ids: list[int]) -> list[Letter]:
    """The selected letters, for a batch of approved letters: those in the user's scope, for
    those who run batches and issue letters (else 403). Ids out of scope are left out, as if
    they did not exist."""
    if not (user_can(user, Capability.RUN_BATCHES) and user_can(user, Capability.ISSUE_LETTERS)):
        raise PermissionDenied
    return list(Letter.objects.visible_to(user).filter(pk__in=letter_ids))


def get_paragraph_for_letter(letter: Letter, paragraph_id: int) -> Paragraph:
    """A library paragraph that may go into this letter (active, in its language, shared or of
    its organisation), else a logged 404 — whether it exists elsewhere or not at all."""
    paragraph = Paragraph.objects.filter(
        Q(organisation__isnull=True) | Q(organisation_id=letter.case.organisation_id),
        pk=paragraph_id,
        language=letter.language,
        is_active=True,
    ).first()
    if paragraph is None:
        raise OutOfScope("paragraph", case_id=letter.case_id)
    return paragraph
