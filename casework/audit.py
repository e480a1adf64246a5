"""The access log: one call, `record()`, used by every view that shows, lists, searches,
downloads, exports, issues or reveals, and by the login machinery.

Entries hold ids only (never names or content). The table refuses UPDATE and DELETE (triggers,
casework migration 0003), and on PostgreSQL the application may run as a role that can only
INSERT and SELECT it (`manage.py grant_app_role`, docs/deployment.md).

Tamper evidence, against someone who can write to the database:
- Keyed: each entry carries an HMAC-SHA256 of its fields and of the previous entry's hash, under
  ACCESS_LOG_KEY (from the environment, never the database). Without the key, a deleted,
  altered, inserted or re-chained entry cannot be made to verify. Each entry names its key's id
  (`key_id`), so keys can be rotated: a new key goes first, older ones stay listed.
- Chained per organisation: one chain per organisation and one (`chain` 0) for entries without
  one (failed logins of unknown names, system jobs). `seq` numbers a chain's entries 1, 2, 3…:
  a gap is a deleted entry. Appends in one organisation take turns (a PostgreSQL advisory lock
  per chain, held to the end of the transaction; SQLite's IMMEDIATE transactions serialise all
  writers anyway); appends of different organisations never wait for each other.
- Anchored: the newest entry of each chain (`chain:seq:hash`) is written where the database
  cannot reach it: a log line every few minutes (casework.audit_anchors, for the host's
  syslog), the daily email to each organisation's administrators and auditors, and every
  backup's manifest. `verify_access_log --anchor …` then shows a truncated or rewritten tail
  even to someone who had the key.
- Entries from before the key (`seq` empty: the "legacy" chain, one unkeyed SHA-256 chain over
  the whole log) are still checked with their old hashes, and the first entry of every keyed
  chain links to the legacy chain's last hash: rewriting the old entries now breaks the keyed
  chains too.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from casework.models import AccessEvent
from core.net import client_ip

Action = AccessEvent.Action
# Advisory-lock class of the log's chains (PostgreSQL's two-key form: this, and the chain).
CHAIN_LOCK = 7_310_001
NO_ORGANISATION = 0  # the chain of entries without an organisation


@dataclasses.dataclass(frozen=True)
class Anchor:
    """A chain's newest entry, as written outside the database: `chain:seq:hash`."""

    chain: int
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.chain}:{self.seq}:{self.hash}"


ANCHOR_PATTERN = re.compile(r"(?<![\w:])(\d+):(\d+):([0-9a-f]{64})(?![\w:])")


def parse_anchors(text: str) -> list[Anchor]:
    """Every `chain:seq:hash` in a text: a line of the server log, the daily email or a backup's
    summary can be given as it is."""
    return [Anchor(int(c), int(s), h) for c, s, h in ANCHOR_PATTERN.findall(text)]


# Keys ---------------------------------------------------------------------------------------


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"pristan-access-log-key-id" + key).hexdigest()[:8]


@cache
def _keys() -> tuple[tuple[str, bytes], ...]:
    """(id, key) pairs, the signing key first: ACCESS_LOG_KEY's keys (base64, 32 bytes, newest
    first), then a key derived from SEARCH_INDEX_KEY with HKDF. The derived key signs only
    while ACCESS_LOG_KEY is not set (an upgraded installation is keyed at once) and stays
    listed so that the entries it signed still verify after ACCESS_LOG_KEY is added."""
    keys = []
    for item in settings.ACCESS_LOG_KEY:
        try:
            key = base64.b64decode(item.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured("ACCESS_LOG_KEY: a key is not valid base64.") from None
        if len(key) != 32:
            raise ImproperlyConfigured("ACCESS_LOG_KEY: every key must be 32 bytes.")
        keys.append(key)
    if settings.SEARCH_INDEX_KEY:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pristan-access-log-v1")
        keys.append(hkdf.derive(settings.SEARCH_INDEX_KEY.encode()))
    if not keys:
        raise ImproperlyConfigured("ACCESS_LOG_KEY (or SEARCH_INDEX_KEY) must be set.")
    return tuple((_key_id(key), key) for key in keys)


def reset_keys() -> None:
    """Forget the cached keys (tests that change the settings)."""
    _keys.cache_clear()


# Hashes -------------------------------------------------------------------------------------


def entry_hash(entry: AccessEvent, prev_hash: str, key: bytes) -> str:
    """HMAC-SHA256 of every field and the previous entry's hash. JSON keeps the fields apart:
    no value can borrow characters from its neighbour."""
    payload = json.dumps(
        [
            entry.key_id,
            entry.chain,
            entry.seq,
            prev_hash,
            entry.at.isoformat(),
            entry.user_id,
            entry.organisation_id,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.case_id,
            entry.ip,
            entry.path_name,
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def legacy_hash(entry: AccessEvent, prev_hash: str) -> str:
    """The unkeyed hash of the entries written before the log was keyed (checked, never made)."""
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


def _legacy_head() -> str:
    """The last hash of the legacy chain: where every keyed chain starts."""
    last = AccessEvent.objects.filter(seq__isnull=True).order_by("-id").only("hash").first()
    return last.hash if last else ""


# Appending ----------------------------------------------------------------------------------


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
    organisation_id = membership.organisation_id if membership else None
    chain = organisation_id or NO_ORGANISATION
    key_id, key = _keys()[0]
    entry = AccessEvent(
        at=timezone.now(),
        user=user,
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        case_id=case_id,
        ip=client_ip(request),
        path_name=(match.view_name if match else "")[:80],
        chain=chain,
        key_id=key_id,
    )
    with transaction.atomic():
        # Appends to one chain take turns (the next needs the previous hash); other chains do
        # not wait. PostgreSQL: an advisory lock per chain, to the end of the transaction. SQLite:
        # the IMMEDIATE transaction already serialises writers.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s::int4, %s::int4)",
                    [CHAIN_LOCK, chain % 2**31],
                )
        last = (
            AccessEvent.objects.filter(chain=chain, seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        if last:
            entry.seq, entry.prev_hash = (last[0] or 0) + 1, last[1]
        else:
            entry.seq, entry.prev_hash = 1, _legacy_head()
        entry.hash = entry_hash(entry, entry.prev_hash, key)
        entry.save(force_insert=True)
    return entry


# Anchors and verification -------------------------------------------------------------------


def heads() -> list[Anchor]:
    """The newest entry of every chain that has one (one index lookup per organisation)."""
    from casework.models import Organisation

    chains = [NO_ORGANISATION, *Organisation.objects.order_by("pk").values_list("pk", flat=True)]
    found = []
    for chain in chains:
        last = (
            AccessEvent.objects.filter(chain=chain, seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        if last:
            found.append(Anchor(chain, last[0] or 0, last[1]))
    return found


@dataclasses.dataclass
class Report:
    checked: int = 0  # keyed entries that verify
    legacy: int = 0  # entries from before the key that verify
    heads: dict[int, Anchor] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entry_problem(entry: AccessEvent, seq: int, prev: str, keys: dict[str, bytes]) -> str:
    if entry.seq != seq:
        if entry.seq is not None and entry.seq > seq:
            if entry.seq == seq + 1:
                return f"entry {seq} of the chain is missing (deleted)"
            return f"entries {seq} to {entry.seq - 1} of the chain are missing (deleted)"
        return f"out of order (expected entry {seq})"
    if entry.prev_hash != prev:
        return (
            "does not follow the entry before it (inserted, re-chained, or its predecessor changed)"
        )
    key = keys.get(entry.key_id)
    if key is None:
        return f"signed with a key that is not configured (id {entry.key_id or 'none'})"
    if not hmac.compare_digest(entry.hash, entry_hash(entry, prev, key)):
        return "its keyed hash does not match its fields (altered, or written without the key)"
    return ""


def verify_chain(*, anchors: Iterable[Anchor] = ()) -> Report:
    """Walk every chain in order, then compare the anchors. Each chain is reported at its first
    broken entry; the others are still checked."""
    report = Report()
    prev = ""
    for entry in AccessEvent.objects.filter(seq__isnull=True).order_by("id").iterator(2000):
        if entry.prev_hash != prev or entry.hash != legacy_hash(entry, prev):
            report.problems.append(
                f"Entry {entry.pk} (from before the log was keyed) does not match its hash or "
                "the entry before it."
            )
            break
        prev = entry.hash
        report.legacy += 1
    start = _legacy_head()
    keys = dict(_keys())
    chain: int | None = None
    broken = False
    seq = 1
    for entry in (
        AccessEvent.objects.filter(seq__isnull=False).order_by("chain", "seq").iterator(2000)
    ):
        if entry.chain != chain:
            chain, broken, seq, prev = entry.chain, False, 1, start
        if broken:
            continue
        problem = _entry_problem(entry, seq, prev, keys)
        if problem:
            report.problems.append(f"Chain {chain}, entry {entry.pk} (no. {entry.seq}): {problem}.")
            broken = True
            continue
        report.heads[entry.chain or 0] = Anchor(entry.chain or 0, seq, entry.hash)
        prev = entry.hash
        seq += 1
        report.checked += 1
    for anchor in anchors:
        report.problems.extend(_anchor_problems(anchor))
    return report


def _anchor_problems(anchor: Anchor) -> list[str]:
    rows = AccessEvent.objects.filter(chain=anchor.chain, seq__isnull=False)
    found = rows.filter(seq=anchor.seq).values_list("hash", flat=True).first()
    if found is None:
        last = rows.aggregate(last=Max("seq"))["last"] or 0
        if last < anchor.seq:
            return [
                f"Chain {anchor.chain} ends at entry {last}, but was anchored at entry "
                f"{anchor.seq}: its tail was removed (truncated)."
            ]
        return [
            f"Chain {anchor.chain} has no entry {anchor.seq} although it was anchored (deleted)."
        ]
    if not hmac.compare_digest(found, anchor.hash):
        return [
            f"Chain {anchor.chain}, entry {anchor.seq}: its hash differs from the anchor "
            "(the chain was rewritten)."
        ]
    return []
