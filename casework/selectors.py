"""Reads shared by views, forms and filters. Nothing here writes."""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, Max, Prefetch, QuerySet
from django.utils import timezone

from casework.capabilities import Capability
from casework.models import (
    Assignment,
    Case,
    CaseProcedure,
    ChecklistEntry,
    ChecklistItem,
    Client,
    ClientName,
    Document,
    DuplicateAlert,
    Event,
    Membership,
    Organisation,
    Share,
)
from casework.names import icao_9303, query_index_tokens
from core.expressions import InIds
from core.users import User

logger = logging.getLogger(__name__)


def assignable_users(organisation: Organisation) -> QuerySet[User]:
    """Members who can be put on a case: caseworkers, volunteers and coordinators."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            membership__organisation=organisation,
            membership__role__in=[
                Membership.Role.CASEWORKER,
                Membership.Role.VOLUNTEER,
                Membership.Role.COORDINATOR,
            ],
        )
        .order_by("username")
    )


DASHBOARD_OVERDUE = 20
DASHBOARD_UPCOMING = 30


def dashboard(user: User) -> dict[str, Any]:
    """What the dashboard shows a member: their open cases, deadlines and the status counts."""
    cases = Case.objects.visible_to(user)
    overdue, upcoming = open_deadlines(user)
    # The ten ids first, then their rows: joined before the LIMIT, the client and authority of
    # every open case of the user were read (2,000 of them for a caseworker at 100,000 cases).
    newest = ("-opened_at", "-pk")
    mine = cases.filter(assignments__user=user).exclude(status=Case.Status.CLOSED)
    my_cases = (
        Case.objects.filter(pk__in=mine.order_by(*newest).values("pk")[:10])
        .select_related("client", "authority")
        .order_by(*newest)
    )
    counts = status_counts(user, cases)
    return {
        "my_cases": my_cases,
        # One more than shown is read, so that the badge can say "20+".
        "overdue": overdue[:DASHBOARD_OVERDUE],
        "overdue_more": len(overdue) > DASHBOARD_OVERDUE,
        "upcoming": upcoming[:DASHBOARD_UPCOMING],
        "upcoming_more": len(upcoming) > DASHBOARD_UPCOMING,
        "status_counts": [
            (value, label, counts.get(value, 0)) for value, label in Case.Status.choices
        ],
        "total": sum(counts.values()),
    }


def open_deadlines(user: User) -> tuple[list[Event], list[Event]]:
    """The open deadlines of the cases this user may see: overdue (oldest first) and due in
    the next 14 days, one more of each than the dashboard shows. One query (a UNION ALL of the
    two limited parts) where the database allows a LIMIT in each part, as PostgreSQL does;
    else two."""
    today = timezone.localdate()
    scope = Case.objects.assigned_scope(user)
    if scope is None:
        in_scope = Event.objects.filter(case__in=Case.objects.visible_to(user))
    else:
        organisation_id, case_ids = scope
        in_scope = Event.objects.filter(
            InIds("case_id", case_ids, filter_only=True), case__organisation_id=organisation_id
        )
    deadlines = (
        in_scope.filter(is_deadline=True, done=False)
        .select_related("case", "case__client")
        # What the lists show (a computed deadline its explanation): not the client's encrypted
        # columns, fifty times over.
        .only(
            "case",
            "kind",
            "date",
            "time",
            "rule",
            "title",
            "case__reference",
            "case__client__pseudonym",
        )
        .order_by("date", "time")
    )
    overdue = deadlines.filter(date__lt=today)[: DASHBOARD_OVERDUE + 1]
    upcoming = deadlines.filter(date__gte=today, date__lte=today + timedelta(days=14))[
        : DASHBOARD_UPCOMING + 1
    ]
    if not connections[deadlines.db].features.supports_slicing_ordering_in_compound:
        return list(overdue), list(upcoming)
    events = sorted(overdue.union(upcoming, all=True), key=lambda e: (e.date, e.time or time()))
    return [e for e in events if e.date < today], [e for e in events if e.date >= today]


STATUS_COUNTS_SECONDS = 60


def status_counts(user: User, cases: QuerySet[Case]) -> dict[str, int]:
    """The user's cases by status, cached for at most a minute under a key that changes with
    whatever changes the figures: the newest change to any case of the organisation (an index
    read; 100,000 cases for a coordinator), and for those who see their assigned cases only,
    also the number and the newest of their assignments (an assignment does not touch the
    case: any addition raises the newest, any removal alone lowers the number). A cache that
    does not answer costs the counting, not the page."""

    def count() -> dict[str, int]:
        counts = cases.order_by().values_list("status").annotate(n=Count("pk"))
        return dict(counts.values_list("status", "n"))

    membership = user.membership
    sees_all = membership.can(Capability.VIEW_ALL_CASES)
    if not (sees_all or membership.can(Capability.VIEW_ASSIGNED_CASES)):
        return count()  # (shares expire by the clock: not worth a key)
    latest = Case.objects.filter(organisation_id=membership.organisation_id).aggregate(
        at=Max("updated_at")
    )["at"]
    key = f"casework:status-counts:{membership.organisation_id}:{latest and latest.isoformat()}"
    if not sees_all:
        mine = Assignment.objects.filter(user=user).aggregate(n=Count("pk"), last=Max("pk"))
        key += f":user:{user.pk}:{mine['n']}:{mine['last']}"
    try:
        counts: dict[str, int] | None = cache.get_or_set(key, count, timeout=STATUS_COUNTS_SECONDS)
    except Exception:
        logger.warning("status counts: cache unavailable", exc_info=True)
        counts = None
    # None also if something else stored None under the key: count afresh.
    return count() if counts is None else counts


def icao_name(client: Client) -> str:
    """The ICAO 9303 transliteration of the client's legal name in Cyrillic (family name,
    given names, patronymic), or "" when there is none: the Latin spelling letters use when
    the case names no other (Case.letter_name)."""
    names = list(client.names.all())
    legal = [n for n in names if n.script == "cyrl" and n.kind == ClientName.Kind.LEGAL]
    cyrillic = legal or [n for n in names if n.script == "cyrl"]
    return icao_9303(cyrillic[0].full_name) if cyrillic else ""


@dataclass
class ChecklistRow:
    item: ChecklistItem
    state: str
    documents: list[Document]

    @property
    def state_label(self) -> str:
        return str(ChecklistEntry.State(self.state).label)


def case_checklists(case: Case) -> list[tuple[CaseProcedure, list[ChecklistRow]]]:
    """Each procedure of the case with its checklist: every item, its state (missing until
    someone says otherwise) and the documents linked to it."""
    case_procedures = case.procedures.select_related("procedure").prefetch_related(
        "procedure__items",
        Prefetch("entries", queryset=ChecklistEntry.objects.prefetch_related("documents")),
    )
    result = []
    for case_procedure in case_procedures:
        entries = {entry.item_id: entry for entry in case_procedure.entries.all()}
        rows = []
        for item in case_procedure.procedure.items.all():
            entry = entries.get(item.pk)
            rows.append(
                ChecklistRow(
                    item=item,
                    state=entry.state if entry else ChecklistEntry.State.MISSING,
                    documents=list(entry.documents.all()) if entry else [],
                )
            )
        result.append((case_procedure, rows))
    return result


def enclosures_by_case(case_ids: Iterable[int]) -> dict[tuple[int, str], list[str]]:
    """What letters list as enclosed, by (case id, letter language): the checklist items each
    case has, of its procedures in that language, as letters name them, each once, in
    checklist order. One query for any number of cases (a batch issues hundreds)."""
    rows = (
        ChecklistEntry.objects.filter(
            case_procedure__case_id__in=list(case_ids), state=ChecklistEntry.State.HAVE
        )
        .exclude(item__enclosure="")
        .order_by("case_procedure__added_at", "case_procedure_id", "item__position", "item_id")
        .values_list(
            "case_procedure__case_id", "case_procedure__procedure__language", "item__enclosure"
        )
    )
    result: dict[tuple[int, str], list[str]] = {}
    for case_id, language, enclosure in rows:
        items = result.setdefault((case_id, language), [])
        if enclosure not in items:
            items.append(enclosure)
    return result


def enclosures(case: Case, language: str) -> list[str]:
    """What a letter in `language` on this case lists as enclosed (enclosures_by_case)."""
    return enclosures_by_case([case.pk]).get((case.pk, language), [])


# How many names one statement of the duplicate check looks for, and how many clients' cases
# it reads: a few statements for a sheet of thousands of rows.
DUPLICATE_BATCH = 500

Person = tuple[Iterable[tuple[str, str]], date | None]


def possible_duplicates(
    *, organisation_id: int, names: Iterable[tuple[str, str]], birth_date: date | None
) -> list[Client]:
    """The organisation's clients who may be this person: one of `names` (family name, given
    names) matches theirs through the blind index, in any script or spelling, and the date of
    birth is the same. Without a date of birth nothing matches (a name alone is too common)."""
    (matches,) = possible_duplicates_many(
        organisation_id=organisation_id, people=[(names, birth_date)]
    )
    return matches


def possible_duplicates_many(
    *, organisation_id: int, people: Sequence[Person]
) -> list[list[Client]]:
    """`possible_duplicates` of each of `people` (names, date of birth), in the same order:
    the rows of a sheet in one statement per DUPLICATE_BATCH distinct names, not one per name.

    The index narrows the clients down in the database to those who match one of the names at
    least. Which of the names each matches is then read here from their index (the hashes
    `with_name_tokens` looks for, as a set), and the date of birth, encrypted, compared here,
    decrypted once per client. A person's matches come name by name, each name's by id."""
    searches = [
        [hashes for hashes in (_name_hashes(family, given) for family, given in names) if hashes]
        if birth_date is not None
        else []
        for names, birth_date in people
    ]
    distinct = list(dict.fromkeys(hashes for person in searches for hashes in person))
    clients = Client.objects.filter(organisation_id=organisation_id).only(
        "pk", "pseudonym", "birth_date", "crypto_id", "name_index"
    )
    candidates: dict[int, Client] = {}
    for batch in _name_batches(distinct, clients.db):
        candidates.update((c.pk, c) for c in clients.with_any_name_tokens(batch))

    wanted = {h for hashes in distinct for h in hashes}
    holding: dict[str, set[int]] = {}  # hash -> the candidates whose index holds it
    for pk, client in candidates.items():
        for h in wanted.intersection(client.name_index.split()):
            holding.setdefault(h, set()).add(pk)
    matching = {
        hashes: sorted(set.intersection(*(holding.get(h, set()) for h in hashes)))
        for hashes in distinct
    }

    result = []
    for (_names, birth_date), person in zip(people, searches, strict=True):
        found: dict[int, Client] = {}
        for hashes in person:
            for pk in matching[hashes]:
                if candidates[pk].birth_date == birth_date:
                    found[pk] = candidates[pk]
        result.append(list(found.values()))
    return result


def _name_hashes(family: str, given: str) -> tuple[str, ...]:
    return tuple(query_index_tokens(f"{family} {given}"))


def _name_batches(searches: list[tuple[str, ...]], using: str) -> Iterable[list[tuple[str, ...]]]:
    """The searches by DUPLICATE_BATCH, fewer when their hashes would pass the database's
    limit on parameters (SQLite's: a hash is a parameter there, and old builds allow 999)."""
    # One parameter is the organisation's id.
    limit = (connections[using].features.max_query_params or 2**16) - 1
    batch: list[tuple[str, ...]] = []
    params = 0
    for search in searches:
        if batch and (len(batch) == DUPLICATE_BATCH or params + len(search) > limit):
            yield batch
            batch, params = [], 0
        batch.append(search)
        params += len(search)
    if batch:
        yield batch


@dataclass
class DuplicateWarning:
    """What a user may be told about `possible_duplicates`: the cases of the matches they may
    see, and whether there are matches they may not (told only that a coordinator will check)."""

    visible_cases: list[Case] = field(default_factory=list)
    hidden_clients: list[Client] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.visible_cases or self.hidden_clients)


def duplicate_warning(user: User, matches: list[Client]) -> DuplicateWarning:
    return duplicate_warnings(user, [matches])[0]


def duplicate_warnings(user: User, matches: Sequence[list[Client]]) -> list[DuplicateWarning]:
    """`duplicate_warning` for each list of matches (the rows of a sheet), in the same order,
    through the same rule, `visible_to(user)`: one statement per DUPLICATE_BATCH clients. A
    list's clients are never split between two statements, so its cases come in the order the
    database gives them (by reference), as when it is asked alone."""
    warnings = []
    for group in _client_groups(matches):
        visible = (
            Case.objects.visible_to(user)
            .filter(client__in=sorted({c.pk for clients in group for c in clients}))
            .select_related("client")
            .order_by("reference")
        )
        by_client: dict[int, list[tuple[int, Case]]] = {}
        for position, case in enumerate(visible):
            by_client.setdefault(case.client_id, []).append((position, case))
        for clients in group:
            cases = sorted(
                (found for pk in {c.pk for c in clients} for found in by_client.get(pk, [])),
                key=lambda found: found[0],
            )
            warnings.append(
                DuplicateWarning(
                    visible_cases=[case for _position, case in cases],
                    hidden_clients=[c for c in clients if c.pk not in by_client],
                )
            )
    return warnings


def _client_groups(matches: Sequence[list[Client]]) -> Iterable[list[list[Client]]]:
    """The lists in order, in groups of at most DUPLICATE_BATCH distinct clients (but never
    fewer than one list, however many clients it has)."""
    group: list[list[Client]] = []
    pks: set[int] = set()
    for clients in matches:
        more = pks | {c.pk for c in clients}
        if group and len(more) > DUPLICATE_BATCH:
            yield group
            group, more = [], {c.pk for c in clients}
        group.append(clients)
        pks = more
    if group:
        yield group


def open_duplicate_alerts(user: User) -> list[DuplicateAlert]:
    """The possible duplicates a coordinator is asked to check: only for those who see every
    case of the organisation (they can open both sides)."""
    membership = getattr(user, "membership", None)
    if membership is None or not membership.can(Capability.VIEW_ALL_CASES):
        return []
    alerts = (
        DuplicateAlert.objects.filter(organisation_id=membership.organisation_id, resolved_at=None)
        .select_related("new_case", "raised_by")
        .prefetch_related("existing_client__cases")[:20]
    )
    return list(alerts)


def referral_offers_count(user: User) -> int:
    """How many referrals wait for this partner lawyer's answer (the dashboard's card)."""
    membership = getattr(user, "membership", None)
    if membership is None or membership.role != Membership.Role.LAWYER:
        return 0
    return Share.objects.filter(
        lawyer=user, status=Share.Status.OFFERED, expires_at__gt=timezone.now()
    ).count()
