"""The access log: one call, `record()`, used by every view that shows, lists, searches,
downloads, exports, issues or reveals, and by the login machinery.

Entries hold ids only (never names or content). They are chained: each entry's hash covers
its own fields and the previous entry's hash, so removing or altering a row breaks the chain
(`manage.py verify_access_log` checks it). The table itself refuses UPDATE and DELETE.
"""

import hashlib

from django.db import connection, transaction
from django.utils import timezone

from casework.models import AccessEvent
from core.net import client_ip

Action = AccessEvent.Action
CHAIN_LOCK = 7_310_001  # an arbitrary, fixed advisory-lock id for the log's hash chain


def entry_hash(entry: AccessEvent, prev_hash: str) -> str:
    payload = "|".join(
        [
            prev_hash,
            entry.at.isoformat(),
            str(entry.user_id or ""),
            str(entry.organisation_id or ""),
            entry.action,
            entry.object_type,
            entry.object_id,
            str(entry.case_id or ""),
            entry.ip or "",
            entry.path_name,
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    request,
    action: str,
    obj=None,
    *,
    user=None,
    case_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
) -> AccessEvent:
    """Append one entry. `obj` is a model instance (its type and id are logged, and the case it
    belongs to, if any); `user` defaults to the request's user."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
        if case_id is None:
            case_id = obj.pk if object_type == "case" else getattr(obj, "case_id", None)
    membership = getattr(user, "membership", None) if user is not None else None
    match = getattr(request, "resolver_match", None) if request is not None else None
    entry = AccessEvent(
        at=timezone.now(),
        user=user,
        organisation_id=membership.organisation_id if membership else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        case_id=case_id,
        ip=client_ip(request),
        path_name=(match.view_name if match else "")[:80],
    )
    with transaction.atomic():
        # The chain needs the previous hash, so appends take turns: an advisory lock on
        # PostgreSQL (held to the end of the transaction); on SQLite the IMMEDIATE transaction
        # already serialises writers.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        last = AccessEvent.objects.order_by("-id").only("hash").first()
        entry.prev_hash = last.hash if last else ""
        entry.hash = entry_hash(entry, entry.prev_hash)
        entry.save(force_insert=True)
    return entry


def verify_chain() -> tuple[int, int | None]:
    """Walk the log in order; returns (entries checked, id of the first broken entry or None)."""
    prev = ""
    checked = 0
    for entry in AccessEvent.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != prev or entry.hash != entry_hash(entry, prev):
            return checked, entry.pk
        prev = entry.hash
        checked += 1
    return checked, None
