"""The access log: one call, `record()`, used by every view that shows, lists, searches,
downloads, exports, issues or reveals, and by the login machinery.

Entries hold ids only (never names or content). The tables refuse UPDATE and DELETE (triggers,
casework migrations 0003 and 0020), and on PostgreSQL the application may run as a role that
can only INSERT and SELECT them (`manage.py grant_app_role`, docs/deployment.md).

Appending takes no lock. A request's `record()` is one INSERT of a bare entry (no chain
number, no hash), in the request's transaction or in autocommit: requests never wait for each
other, whatever their organisation. The chain is built afterwards by `seal()`, which one
sealer at a time runs (a Celery beat task every ACCESS_LOG_SEAL_SECONDS, and on demand before
anchors, backups and `verify_access_log`; with SQLite, where writers take turns anyway, at the
end of every append). Why not a per-organisation chain built on append, with a lock held for
a single statement? The next entry's HMAC needs the previous one's, so the lock would still
span a round trip, a Python HMAC and the commit of the request's transaction: a 50-caseworker
organisation would still be one queue, and a slow request would hold up every colleague's
page view. A sealer that is not on the request path chains in order at its own pace.

Tamper evidence, against someone who can write to the database:
- Keyed: each seal (AccessSeal, a table of its own, INSERT-only like the log, so the
  application's role never needs UPDATE) carries an HMAC-SHA256 of its entry's fields, the
  entry's id, its own number and the previous seal's hash, under ACCESS_LOG_KEY (from the
  environment, never the database). Without the key, a deleted, altered, inserted, reordered
  or re-chained entry or seal cannot be made to verify. Seals name their key (`key_id`), so
  keys rotate: a new key goes first, older ones stay listed.
- Chained per organisation: one chain per organisation and one (`chain` 0) for entries
  without one (failed logins of unknown names, system jobs) and for recorded gaps. `seq`
  numbers a chain's seals 1, 2, 3…: a missing number is a deleted seal.
- Gaps: entry ids come from the table's sequence. The sealer walks them in order; an id that
  is still absent ACCESS_LOG_SEAL_GRACE seconds after a later entry was appended is sealed as
  missing (deleted before it was sealed, or appended in a transaction that was rolled back),
  and `verify_access_log` reports it. Each seal also records up to which id everything was
  accounted for (`upto`): an unsealed entry below it was inserted afterwards.
- The window: until an entry is sealed (normally a few seconds, at most the seal interval
  plus the grace for a gap), someone with the owner's database login can alter it, or delete
  it (which then shows as a gap, unless they also rewrite the id sequence's history, i.e. every
  later entry up to the next seal). Entries left unsealed for ACCESS_LOG_SEAL_ALARM seconds
  are reported as an alarm: a sealer that stopped is noticed.
- Anchored: the newest seal of each chain (`chain:seq:hash`) is written where the database
  cannot reach it: a log line every few minutes (casework.audit_anchors, for the host's
  syslog), the daily email to each organisation's administrators and auditors, and every
  backup's manifest. `verify_access_log --anchor …` then shows a truncated or rewritten tail
  even to someone who had the key.
- Earlier entries keep their own hashes and are checked as they were written: those chained
  on append before the sealer existed (`seq` set on the entry itself; each organisation's
  sealed chain continues their numbering from their last hash, so old anchors still check),
  and before them the "legacy" entries (`chain` empty: one unkeyed SHA-256 chain over the
  whole log, whose last hash starts every keyed chain; rewriting them breaks those too).
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import timedelta
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from casework.models import AccessEvent, AccessSeal
from core.net import client_ip

Action = AccessEvent.Action
# The sealer's PostgreSQL advisory lock: one sealer at a time (never taken by a request).
SEAL_LOCK = 7_310_002
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
    last = AccessEvent.objects.filter(chain__isnull=True).order_by("-id").only("hash").first()
    return last.hash if last else ""


def _event_fields(entry: AccessEvent) -> list:
    return [
        entry.at.isoformat(),
        entry.user_id,
        entry.organisation_id,
        entry.chain,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.case_id,
        entry.ip,
        entry.path_name,
    ]


def seal_hash(seal: AccessSeal, entry: AccessEvent | None, key: bytes) -> str:
    """HMAC-SHA256 of a seal, its entry's id and every field of the entry (none for a missing
    one), and the previous seal's hash."""
    payload = json.dumps(
        [
            seal.key_id,
            seal.chain,
            seal.seq,
            seal.prev_hash,
            seal.event_id,
            seal.missing,
            seal.upto,
            *(_event_fields(entry) if entry is not None else []),
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


# Appending ----------------------------------------------------------------------------------

_INSERT = (
    "INSERT INTO casework_accessevent (at, user_id, organisation_id, action, object_type,"
    " object_id, case_id, ip, path_name, chain, seq, key_id, prev_hash, hash)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, '', '', '') RETURNING id"
)


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
        chain=organisation_id or NO_ORGANISATION,
    )
    # The hot path of every page: one INSERT, no lock, no SELECT, in the caller's transaction
    # (or autocommit: one round trip). Raw SQL saves the ORM's per-save work (signals, field
    # preparation, the atomic block of save()); the values are adapted as the ORM would.
    # In autocommit the commit's WAL flush is most of an append's time (measured: ~0.4 ms of
    # CPU, ~5 ms wall on a busy disk); ACCESS_LOG_ASYNC_COMMIT skips waiting for it
    # (docs/deployment.md: a database crash may then lose the last fraction of a second of
    # entries, which the sealer then reports as missing ids).
    asynchronous = (
        settings.ACCESS_LOG_ASYNC_COMMIT
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )
    inline = settings.ACCESS_LOG_SEAL_INLINE
    with transaction.atomic() if asynchronous or inline else nullcontext():
        with connection.cursor() as cursor:
            if asynchronous:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                _INSERT,
                [
                    connection.ops.adapt_datetimefield_value(entry.at),
                    entry.user_id,
                    organisation_id,
                    action,
                    object_type,
                    entry.object_id,
                    case_id,
                    entry.ip,
                    entry.path_name,
                    entry.chain,
                ],
            )
            entry.pk = cursor.fetchone()[0]
        entry._state.adding = False
        if inline:
            _seal_inline(entry)
    return entry


def _seal_inline(entry: AccessEvent) -> None:
    """Seal the entry just appended, in its transaction (SQLite: which holds the database's
    write lock, so nobody appends or seals in between). Two queries when everything before
    it is sealed (the usual case: the last seal, the new seal); else the sealer's full run."""
    last = AccessSeal.objects.order_by("-id").values_list("upto", "chain", "seq", "hash").first()
    if last is None or last[0] != entry.pk - 1:
        seal()
        return
    chain = entry.chain or NO_ORGANISATION
    seq, prev = (last[2], last[3]) if last[1] == chain else _chain_head(chain)
    key_id, key = _keys()[0]
    item = AccessSeal(
        chain=chain,
        seq=seq + 1,
        event_id=entry.pk,
        upto=entry.pk,
        sealed_at=entry.at,
        key_id=key_id,
        prev_hash=prev,
    )
    item.hash = seal_hash(item, entry, key)  # the values as stored (verified in the tests)
    item.save(force_insert=True)


# Sealing ------------------------------------------------------------------------------------


def _chain_head(chain: int) -> tuple[int, str]:
    """(seq, hash) of a chain's newest seal, else of its newest entry chained on append, else
    (0, the legacy chain's last hash)."""
    last = AccessSeal.objects.filter(chain=chain).order_by("-seq").values_list("seq", "hash")
    found = last.first() or _inline_head(chain)
    return found if found else (0, _legacy_head())


def _inline_head(chain: int) -> tuple[int, str] | None:
    rows = AccessEvent.objects.filter(chain=chain, seq__isnull=False).order_by("-seq")
    found = rows.values_list("seq", "hash").first()
    return (found[0] or 0, found[1]) if found else None


def _floor(cutoff) -> int | None:
    """Every entry id up to this one is sealed, recorded missing, or from before the sealer.
    None: not known yet (a new log whose first entry is younger than the grace)."""
    last = AccessSeal.objects.order_by("-id").values_list("upto", flat=True).first()
    if last is not None:
        return last
    # Before the first seal: the last entry from before the sealer, else the id before the
    # first bare entry (ids that a sequence spent on rolled-back transactions are no gaps).
    before = AccessEvent.objects.filter(Q(chain__isnull=True) | Q(seq__isnull=False))
    last = before.aggregate(last=Max("id"))["last"]
    if last is not None:
        return last
    # An id below the first one seen may belong to a transaction still open: wait for the grace.
    first = AccessEvent.objects.order_by("id").values_list("id", "at").first()
    if first is None:
        return 0
    if first[1] > cutoff and not settings.ACCESS_LOG_SEAL_INLINE:
        return None
    return first[0] - 1


def _open_gaps() -> set[int]:
    """Ids sealed as missing that no entry has filled since (a late commit may still)."""
    filled = AccessSeal.objects.filter(event_id=OuterRef("event_id"), missing=False)
    gaps = AccessSeal.objects.filter(missing=True).exclude(Exists(filled))
    return set(gaps.values_list("event_id", flat=True))


def seal(*, batch: int = 5000) -> int:
    """Chain every entry appended since the last run (in batches); returns the number of seals
    written. One sealer at a time: on PostgreSQL the others wait for its advisory lock."""
    total = 0
    while True:
        written, more = _seal_batch(batch)
        total += written
        if not more:
            return total


def _seal_batch(limit: int) -> tuple[int, bool]:
    key_id, key = _keys()[0]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])
        now = timezone.now()
        cutoff = now - timedelta(seconds=settings.ACCESS_LOG_SEAL_GRACE)
        floor = _floor(cutoff)
        if floor is None:
            return 0, False
        gaps = _open_gaps()
        sealed = Exists(AccessSeal.objects.filter(event_id=OuterRef("pk"), missing=False))
        pending = list(
            AccessEvent.objects.filter(hash="", chain__isnull=False)
            .filter(Q(pk__gt=floor) | Q(pk__in=gaps))
            .exclude(sealed)
            .order_by("pk")[:limit]
        )
        # Walk the ids above the floor: each is sealed, about to be, from before the sealer,
        # or missing. One absent for longer than the grace after a later entry is sealed as
        # missing; a younger one may be a transaction still open: the floor waits for it.
        covered = {e.pk for e in pending if e.pk > floor}
        covered.update(
            AccessSeal.objects.filter(event_id__gt=floor).values_list("event_id", flat=True)
        )
        covered.update(
            AccessEvent.objects.filter(pk__gt=floor).exclude(hash="").values_list("pk", flat=True)
        )
        old = AccessEvent.objects.filter(pk__gt=floor, at__lte=cutoff).aggregate(top=Max("id"))
        old_top = old["top"] or 0
        top = max(covered, default=floor)
        missing, upto = [], floor
        for event_id in range(floor + 1, top + 1):
            if event_id not in covered:
                if event_id >= old_top:
                    break
                missing.append(event_id)
            upto = event_id
        if not pending and not missing:
            return 0, False
        heads: dict[int, tuple[int, str]] = {}
        seals = []
        items: list[tuple[int, int, AccessEvent | None]] = [
            (e.pk, e.chain or NO_ORGANISATION, e) for e in pending
        ]
        items += [(event_id, NO_ORGANISATION, None) for event_id in missing]
        for event_id, chain, entry in sorted(items, key=lambda item: item[0]):
            if chain not in heads:
                heads[chain] = _chain_head(chain)
            seq, prev = heads[chain]
            item = AccessSeal(
                chain=chain,
                seq=seq + 1,
                event_id=event_id,
                missing=entry is None,
                upto=upto,
                sealed_at=now,
                key_id=key_id,
                prev_hash=prev,
            )
            item.hash = seal_hash(item, entry, key)
            heads[chain] = (item.seq, item.hash)
            seals.append(item)
        AccessSeal.objects.bulk_create(seals)
    return len(seals), len(pending) == limit


# Anchors and verification -------------------------------------------------------------------


def heads() -> list[Anchor]:
    """The newest seal (or entry chained on append) of every chain that has one. Call `seal()`
    first for the entries appended since the sealer's last run."""
    from casework.models import Organisation

    chains = [NO_ORGANISATION, *Organisation.objects.order_by("pk").values_list("pk", flat=True)]
    found = []
    for chain in chains:
        last = (
            AccessSeal.objects.filter(chain=chain).order_by("-seq").values_list("seq", "hash")
        ).first() or _inline_head(chain)
        if last:
            found.append(Anchor(chain, last[0] or 0, last[1]))
    return found


@dataclasses.dataclass
class Report:
    checked: int = 0  # keyed entries and seals that verify
    legacy: int = 0  # entries from before the key that verify
    unsealed: int = 0  # recent entries the sealer has not reached yet (not an alarm)
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


def _seal_problem(
    seal: AccessSeal, entry: AccessEvent | None, seq: int, prev: str, keys: dict[str, bytes]
) -> str:
    if seal.seq != seq:
        if seal.seq > seq:
            if seal.seq == seq + 1:
                return f"entry {seq} of the chain is missing (its seal was deleted)"
            return f"entries {seq} to {seal.seq - 1} of the chain are missing (seals deleted)"
        return f"out of order (expected entry {seq})"
    if seal.prev_hash != prev:
        return "does not follow the entry before it (inserted, re-chained or reordered)"
    key = keys.get(seal.key_id)
    if key is None:
        return f"signed with a key that is not configured (id {seal.key_id or 'none'})"
    if entry is None and not seal.missing:
        return f"its entry (id {seal.event_id}) was deleted"
    if entry is not None and entry.chain != seal.chain:
        return f"its entry (id {seal.event_id}) was moved to another chain"
    if not hmac.compare_digest(
        seal.hash, seal_hash(seal, entry if not seal.missing else None, key)
    ):
        return (
            f"its keyed hash does not match its entry (id {seal.event_id}) "
            "(altered, or written without the key)"
        )
    return ""


def verify_chain(*, anchors: Iterable[Anchor] = ()) -> Report:
    """Walk every chain in order, then the entries not sealed yet, then compare the anchors.
    Each chain is reported at its first broken entry; the others are still checked. Checks
    only: call `seal()` first (verify_access_log does) to include the newest entries."""
    report = Report()
    prev = ""
    for entry in AccessEvent.objects.filter(chain__isnull=True).order_by("id").iterator(2000):
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
    broken: set[int] = set()
    seq = 1
    for entry in (
        AccessEvent.objects.filter(seq__isnull=False).order_by("chain", "seq").iterator(2000)
    ):
        if entry.chain != chain:
            chain, seq, prev = entry.chain, 1, start
        if chain in broken:
            continue
        problem = _entry_problem(entry, seq, prev, keys)
        if problem:
            report.problems.append(f"Chain {chain}, entry {entry.pk} (no. {entry.seq}): {problem}.")
            broken.add(chain or 0)
            continue
        report.heads[entry.chain or 0] = Anchor(entry.chain or 0, seq, entry.hash)
        prev = entry.hash
        seq += 1
        report.checked += 1
    _verify_seals(report, start, keys)
    _verify_unsealed(report)
    for anchor in anchors:
        report.problems.extend(_anchor_problems(anchor))
    return report


def _seal_batches(size: int = 2000):
    """Seals in chain order with their entries (None where the entry is gone)."""
    batch: list[AccessSeal] = []
    for seal in AccessSeal.objects.order_by("chain", "seq").iterator(size):
        batch.append(seal)
        if len(batch) == size:
            yield from _with_entries(batch)
            batch = []
    yield from _with_entries(batch)


def _with_entries(seals: list[AccessSeal]):
    entries = AccessEvent.objects.in_bulk([s.event_id for s in seals])
    for seal in seals:
        yield seal, entries.get(seal.event_id)


def _verify_seals(report: Report, start: str, keys: dict[str, bytes]) -> None:
    chain = -1  # none yet
    broken = False
    seq, prev = 1, start
    filled, gaps = set(), []
    for seal, entry in _seal_batches():
        if seal.chain != chain:
            chain, broken = seal.chain, False
            inline = _inline_head(chain)
            seq, prev = (inline[0] + 1, inline[1]) if inline else (1, start)
        if seal.missing:
            gaps.append(seal.event_id)
        else:
            filled.add(seal.event_id)
        if broken:
            continue
        if seal.missing:
            entry = None  # a late commit may have filled the id since: that entry has its own
        problem = _seal_problem(seal, entry, seq, prev, keys)
        if problem:
            report.problems.append(f"Chain {chain}, entry no. {seal.seq}: {problem}.")
            broken = True
            continue
        report.heads[chain] = Anchor(chain, seq, seal.hash)
        prev = seal.hash
        seq += 1
        report.checked += 1
    present = set(AccessEvent.objects.filter(pk__in=gaps).values_list("pk", flat=True))
    for event_id in gaps:
        if event_id not in filled and event_id not in present:
            report.problems.append(
                f"Entry id {event_id} is missing: deleted before it was sealed, or appended in a "
                "transaction that was rolled back."
            )


def _verify_unsealed(report: Report) -> None:
    floor = AccessSeal.objects.order_by("-id").values_list("upto", flat=True).first() or 0
    gaps = set(AccessSeal.objects.filter(missing=True).values_list("event_id", flat=True))
    sealed = Exists(AccessSeal.objects.filter(event_id=OuterRef("pk"), missing=False))
    alarm = timezone.now() - timedelta(seconds=settings.ACCESS_LOG_SEAL_ALARM)
    stale = 0
    unsealed = AccessEvent.objects.filter(hash="", chain__isnull=False).exclude(sealed)
    for event_id, at in unsealed.order_by("id").values_list("id", "at").iterator(2000):
        if event_id <= floor and event_id not in gaps:
            report.problems.append(
                f"Entry id {event_id} appeared after its place in the log was sealed "
                "(inserted behind the application's back)."
            )
        elif at < alarm:
            stale += 1
        else:
            report.unsealed += 1
    if stale:
        minutes = settings.ACCESS_LOG_SEAL_ALARM // 60
        report.problems.append(
            f"{stale} entries have not been sealed for more than {minutes} minutes: is the "
            "sealer running (the seal-access-log task of the scheduler)?"
        )


def _anchor_problems(anchor: Anchor) -> list[str]:
    seals = AccessSeal.objects.filter(chain=anchor.chain)
    rows = AccessEvent.objects.filter(chain=anchor.chain, seq__isnull=False)
    found = seals.filter(seq=anchor.seq).values_list("hash", flat=True).first()
    if found is None:
        found = rows.filter(seq=anchor.seq).values_list("hash", flat=True).first()
    if found is None:
        last = max(
            seals.aggregate(last=Max("seq"))["last"] or 0,
            rows.aggregate(last=Max("seq"))["last"] or 0,
        )
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
