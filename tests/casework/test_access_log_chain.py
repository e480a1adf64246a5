"""The access log's tamper evidence (casework.audit): bare entries appended without a lock,
sealed afterwards into keyed chains, one per organisation; gaps, edits, insertions,
reorderings and foreign keys detected; anchors outside the database; the entries chained on
append before the sealer and the legacy ones from before the key; on PostgreSQL, appends that
never wait for each other and an application role that cannot rewrite the log.

With SQLite every append is sealed at once (ACCESS_LOG_SEAL_INLINE); the `deferred` fixture
turns that off, as on PostgreSQL, where the sealer runs apart. Tampering is simulated as
someone with the database's owner login would do it: the append-only triggers dropped, rows
deleted, changed or re-chained (the test's transaction restores them)."""

import contextlib
import importlib
import logging
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from casework import audit, audit_anchors
from casework.models import AccessEvent, AccessSeal, Membership
from tests.factories import make_user

Action = AccessEvent.Action
Role = Membership.Role
append_only = importlib.import_module("casework.migrations.0003_access_log_append_only")
sealed_append_only = importlib.import_module("casework.migrations.0020_access_log_seals")


def log(user, action=Action.VIEW, **fields) -> AccessEvent:
    return audit.record(None, action, user=user, object_type="case", **fields)


def seal_of(entry: AccessEvent) -> AccessSeal:
    return AccessSeal.objects.get(event_id=entry.pk, missing=False)


@contextlib.contextmanager
def without_triggers():
    """Drop the append-only triggers of the log and its seals, as the tables' owner can, and
    put them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sealed_append_only.POSTGRES_REVERSE)
            cursor.execute(append_only.POSTGRES_REVERSE)
        else:
            for statement in append_only.SQLITE_REVERSE + sealed_append_only.SQLITE_REVERSE:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(append_only.POSTGRES, ())  # with parameters: %% is %
                cursor.execute(sealed_append_only.POSTGRES)
            else:
                for statement in append_only.SQLITE + sealed_append_only.SQLITE:
                    cursor.execute(statement)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rechain(seals: list[AccessSeal], *, start_seq: int, prev: str, key: bytes) -> None:
    """Renumber and re-link `seals` from `start_seq` on, each signed with `key`."""
    for seq, item in enumerate(seals, start=start_seq):
        item.seq, item.prev_hash = seq, prev
        entry = AccessEvent.objects.filter(pk=item.event_id).first()
        item.hash = audit.seal_hash(item, entry, key)
        sql(
            "UPDATE casework_accessseal SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [item.seq, item.prev_hash, item.hash, item.pk],
        )
        prev = item.hash


def problems(anchors=()) -> list[str]:
    audit.seal()
    return audit.verify_chain(anchors=anchors).problems


@pytest.fixture
def other_caseworker(other_org):
    return make_user(organisation=other_org, role=Role.CASEWORKER, username="elsewhere")


@pytest.fixture
def entries(caseworker) -> list[AccessEvent]:
    written = [log(caseworker, object_id=str(i)) for i in range(6)]
    audit.seal()
    return written


@pytest.fixture
def deferred(settings):
    """Appends left unsealed until `audit.seal()` runs, as with PostgreSQL; no grace before
    an absent id counts as missing."""
    settings.ACCESS_LOG_SEAL_INLINE = False
    settings.ACCESS_LOG_SEAL_GRACE = 0


# --- chains ----------------------------------------------------------------------------------


def test_an_append_is_a_bare_entry_and_the_sealer_chains_it(deferred, org, caseworker):
    entry = log(caseworker, object_id="7")
    stored = AccessEvent.objects.get(pk=entry.pk)
    assert (stored.chain, stored.seq, stored.hash, stored.object_id) == (org.pk, None, "", "7")
    assert stored.user_id == caseworker.pk and stored.organisation_id == org.pk
    assert not AccessSeal.objects.exists()
    report = audit.verify_chain()
    assert report.ok and (report.checked, report.unsealed) == (0, 1)

    assert audit.seal() == 1
    assert audit.seal() == 0  # nothing new
    item = seal_of(entry)
    assert (item.chain, item.seq, item.upto, item.key_id) == (
        org.pk,
        1,
        entry.pk,
        audit._keys()[0][0],
    )
    report = audit.verify_chain()
    assert report.ok and (report.checked, report.unsealed) == (1, 0)


def test_each_organisation_has_its_own_chain(org, caseworker, other_org, other_caseworker):
    mine = [log(caseworker) for _ in range(3)]
    theirs = [log(other_caseworker) for _ in range(2)]
    anonymous = audit.record(None, Action.LOGIN_FAILED, object_type="user")
    audit.seal()

    mine, theirs, anonymous = (
        [seal_of(e) for e in mine],
        [seal_of(e) for e in theirs],
        seal_of(anonymous),
    )
    assert [(s.chain, s.seq) for s in mine] == [(org.pk, 1), (org.pk, 2), (org.pk, 3)]
    assert [(s.chain, s.seq) for s in theirs] == [(other_org.pk, 1), (other_org.pk, 2)]
    assert (anonymous.chain, anonymous.seq) == (audit.NO_ORGANISATION, 1)
    assert mine[1].prev_hash == mine[0].hash and theirs[1].prev_hash == theirs[0].hash
    report = audit.verify_chain()
    assert report.ok and report.checked == 6
    assert report.heads == {
        org.pk: audit.Anchor(org.pk, 3, mine[2].hash),
        other_org.pk: audit.Anchor(other_org.pk, 2, theirs[1].hash),
        0: audit.Anchor(0, 1, anonymous.hash),
    }
    assert sorted(map(str, audit.heads())) == sorted(map(str, report.heads.values()))


def test_the_chains_verify_after_many_entries(client, case, caseworker, other_caseworker):
    client.force_login(caseworker)
    for _ in range(3):
        client.get(f"/cases/{case.reference}/")
    for i in range(150):
        log(caseworker if i % 2 else other_caseworker, object_id=str(i))
    assert problems() == []
    assert audit.verify_chain().checked == AccessEvent.objects.count() >= 153


def test_the_sealer_works_in_batches(deferred, caseworker, other_caseworker):
    for i in range(7):
        log(caseworker if i % 3 else other_caseworker, object_id=str(i))
    assert audit.seal(batch=2) == 7
    assert problems() == [] and audit.verify_chain().checked == 7


def test_an_inline_seal_seals_what_was_left_unsealed_too(deferred, settings, caseworker):
    """SQLite seals each append at once; entries appended while that was off are sealed with
    the next one, in order."""
    left = [log(caseworker) for _ in range(2)]
    settings.ACCESS_LOG_SEAL_INLINE = True
    new = log(caseworker)
    assert [seal_of(e).seq for e in [*left, new]] == [1, 2, 3]
    log(caseworker)
    assert problems() == [] and audit.verify_chain().checked == 4


def test_an_empty_log_verifies(db):
    assert audit.seal() == 0
    report = audit.verify_chain()
    assert report.ok and report.checked == 0 and report.heads == {}


# --- tampering -------------------------------------------------------------------------------


def test_an_edited_entry_is_detected(org, entries):
    with without_triggers():
        sql("UPDATE casework_accessevent SET object_id = '999' WHERE id = %s", [entries[2].pk])
    [problem] = problems()
    assert problem == (
        f"Chain {org.pk}, entry no. 3: its keyed hash does not match its entry "
        f"(id {entries[2].pk}) (altered, or written without the key)."
    )


def test_an_entry_moved_to_another_organisation_is_detected(other_org, entries):
    with without_triggers():
        sql(
            "UPDATE casework_accessevent SET chain = %s, organisation_id = %s WHERE id = %s",
            [other_org.pk, other_org.pk, entries[1].pk],
        )
    [problem] = problems()
    assert "entry no. 2" in problem and "moved to another chain" in problem


def test_a_deleted_sealed_entry_is_detected(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
    [problem] = problems()
    assert "entry no. 3" in problem and f"its entry (id {entries[2].pk}) was deleted" in problem


def test_a_deleted_seal_is_a_gap(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE event_id = %s", [entries[2].pk])
    found = problems()  # the entry is sealed again, at the end: the chain still shows the gap
    assert "entry no. 4" in found[0] and "entry 3 of the chain is missing" in found[0]


def test_a_deleted_first_seal_is_a_gap(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE event_id = %s", [entries[0].pk])
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[0].pk])
    [problem] = problems()
    assert "entry 1 of the chain is missing" in problem


def test_an_entry_deleted_before_it_was_sealed_is_a_recorded_gap(deferred, caseworker):
    first, gone, last = log(caseworker), log(caseworker), log(caseworker)
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [gone.pk])
    assert audit.seal() == 3  # two entries, and the missing id
    missing = AccessSeal.objects.get(event_id=gone.pk)
    assert missing.missing and missing.chain == audit.NO_ORGANISATION
    assert seal_of(first).upto == seal_of(last).upto == last.pk
    assert problems() == [
        f"Entry id {gone.pk} is missing: deleted before it was sealed, or appended in a "
        "transaction that was rolled back."
    ]


def test_an_absent_id_waits_for_the_grace_before_it_counts_as_missing(
    deferred, settings, caseworker
):
    """A younger gap may be a request whose transaction is still open: the sealer seals what
    it sees and leaves its floor below the gap."""
    log(caseworker)
    audit.seal()  # a log in use
    settings.ACCESS_LOG_SEAL_GRACE = 3600
    first, gone, last = log(caseworker), log(caseworker), log(caseworker)
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [gone.pk])
    assert audit.seal() == 2
    assert seal_of(last).upto == first.pk
    assert audit.seal() == 0
    assert audit.verify_chain().ok

    settings.ACCESS_LOG_SEAL_GRACE = 0  # later: the id is still absent
    assert audit.seal() == 1
    assert "is missing" in audit.verify_chain().problems[0]


def test_a_late_commit_fills_its_recorded_gap(deferred, org, caseworker):
    """A transaction open for longer than the grace: its id was sealed as missing, then the
    entry appears and is sealed in its turn; the log verifies."""
    late = [log(caseworker) for _ in range(3)][1]
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [late.pk])
    audit.seal()
    sql(
        "INSERT INTO casework_accessevent (id, at, organisation_id, action, object_type,"
        " object_id, path_name, chain, key_id, prev_hash, hash)"
        " VALUES (%s, %s, %s, 'view', 'case', '', '', %s, '', '', '')",
        [late.pk, late.at, org.pk, org.pk],
    )
    report = audit.verify_chain()
    assert report.ok and report.unsealed == 1
    assert audit.seal() == 1 and seal_of(late).seq == 3
    assert problems() == []


def test_a_new_log_is_sealed_once_its_first_entry_is_older_than_the_grace(
    deferred, settings, caseworker
):
    """Ids below the first one seen may belong to transactions still open."""
    settings.ACCESS_LOG_SEAL_GRACE = 3600
    entry = log(caseworker)
    assert audit.seal() == 0 and audit.verify_chain().ok
    with without_triggers():
        sql(
            "UPDATE casework_accessevent SET at = %s WHERE id = %s",
            [timezone.now() - timedelta(hours=2), entry.pk],
        )
    assert audit.seal() == 1


def test_entries_left_unsealed_too_long_are_an_alarm(deferred, settings, caseworker):
    old, recent = log(caseworker), log(caseworker)
    with without_triggers():
        sql(
            "UPDATE casework_accessevent SET at = %s WHERE id = %s",
            [timezone.now() - timedelta(minutes=11), old.pk],
        )
    report = audit.verify_chain()
    assert report.unsealed == 1
    assert report.problems == [
        "1 entries have not been sealed for more than 10 minutes: is the sealer running "
        "(the seal-access-log task of the scheduler)?"
    ]
    audit.seal()
    assert audit.verify_chain().ok  # the sealer's own view of time: it seals them all
    assert recent.pk in set(AccessSeal.objects.values_list("event_id", flat=True))


def test_a_row_inserted_behind_the_applications_back_is_detected(org, entries):
    """Below the sealer's floor, where every id is accounted for already (here, in the place
    of a deleted entry whose seal was deleted too)."""
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE event_id = %s", [entries[2].pk])
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
    sql(
        "INSERT INTO casework_accessevent (id, at, organisation_id, action, object_type,"
        " object_id, path_name, chain, key_id, prev_hash, hash)"
        " VALUES (%s, %s, %s, 'view', 'case', '1', '', %s, '', '', '')",
        [entries[2].pk, entries[2].at, org.pk, org.pk],
    )
    found = problems()
    assert "entry 3 of the chain is missing" in found[0]
    assert found[1] == (
        f"Entry id {entries[2].pk} appeared after its place in the log was sealed (inserted "
        "behind the application's back)."
    )


def test_reordered_seals_are_detected(org, entries):
    a, b = seal_of(entries[2]), seal_of(entries[3])
    with without_triggers():
        sql("UPDATE casework_accessseal SET seq = -1 WHERE id = %s", [a.pk])
        sql("UPDATE casework_accessseal SET seq = %s WHERE id = %s", [a.seq, b.pk])
        sql("UPDATE casework_accessseal SET seq = %s WHERE id = %s", [b.seq, a.pk])
    [problem] = problems()
    assert f"Chain {org.pk}, entry no. 3: does not follow the entry before it" in problem


def test_swapped_entries_are_detected(entries):
    """Two entries' contents exchanged (who did what, in which order)."""
    a, b = entries[1], entries[4]
    with without_triggers():
        sql("UPDATE casework_accessevent SET object_id = 'x' WHERE id = %s", [a.pk])
        sql("UPDATE casework_accessevent SET object_id = %s WHERE id = %s", [a.object_id, b.pk])
        sql("UPDATE casework_accessevent SET object_id = %s WHERE id = %s", [b.object_id, a.pk])
    [problem] = problems()
    assert "entry no. 2" in problem and "keyed hash does not match" in problem


def test_a_chain_rechained_with_another_key_is_detected(entries):
    seals = [seal_of(e) for e in entries]
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE id = %s", [seals[2].pk])
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
        rechain(seals[3:], start_seq=3, prev=seals[1].hash, key=b"k" * 32)
    [problem] = problems()
    assert "entry no. 3" in problem and "keyed hash does not match" in problem


def test_a_truncated_tail_is_detected_through_the_anchor(org, entries):
    anchor = audit.Anchor(org.pk, 6, seal_of(entries[5]).hash)
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE seq > 4")
        sql("DELETE FROM casework_accessevent WHERE id > %s", [entries[3].pk])

    assert problems() == []  # a shorter chain is still a valid chain: the anchor shows it
    [problem] = problems([anchor])
    assert problem == (
        f"Chain {org.pk} ends at entry 4, but was anchored at entry 6: its tail was removed "
        "(truncated)."
    )


def test_a_removed_chain_is_detected_through_the_anchor(org, entries):
    anchor = audit.heads()[0]
    with without_triggers():
        sql("DELETE FROM casework_accessseal")
        sql("DELETE FROM casework_accessevent")
    assert problems() == []
    assert "ends at entry 0" in problems([anchor])[0]


def test_a_chain_rewritten_with_the_key_is_detected_through_the_anchor(org, entries):
    """Someone who had the key too (the server itself) can rebuild a valid chain, but not one
    that matches the anchors sent away before."""
    anchor = audit.Anchor(org.pk, 6, seal_of(entries[5]).hash)
    seals = [seal_of(e) for e in entries]
    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE id = %s", [seals[2].pk])
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
        rechain(seals[3:], start_seq=3, prev=seals[1].hash, key=audit._keys()[0][1])
        log(entries[0].user)  # …and a filler, so that the chain is as long as the anchor says

    assert problems() == []
    [problem] = problems([anchor])
    assert problem == (
        f"Chain {org.pk}, entry 6: its hash differs from the anchor (the chain was rewritten)."
    )


def test_anchors_of_an_intact_log_match(entries, other_caseworker):
    log(other_caseworker)
    audit.seal()
    anchors = audit.heads()
    log(entries[0].user)  # the log goes on after the anchor
    assert len(anchors) == 2 and problems(anchors) == []


# --- keys ------------------------------------------------------------------------------------

NEW_KEY = "bmV3LWFjY2Vzcy1sb2cta2V5LTAwMDAwMDAwMDAwMDA="


@pytest.fixture
def fresh_keys():
    audit.reset_keys()
    yield
    audit.reset_keys()


def test_rotation_new_entries_use_the_new_key_and_old_ones_still_verify(
    settings, fresh_keys, caseworker
):
    old = log(caseworker)
    audit.seal()
    settings.ACCESS_LOG_KEY = [NEW_KEY, *settings.ACCESS_LOG_KEY]
    audit.reset_keys()
    new = log(caseworker)
    audit.seal()
    assert seal_of(new).key_id != seal_of(old).key_id
    assert problems() == []

    settings.ACCESS_LOG_KEY = [NEW_KEY]  # the old key dropped: its entries cannot be checked
    audit.reset_keys()
    [problem] = problems()
    assert "entry no. 1" in problem and f"(id {seal_of(old).key_id})" in problem


def test_without_access_log_key_a_key_derived_from_search_index_key_signs(
    settings, fresh_keys, caseworker
):
    settings.ACCESS_LOG_KEY = []
    derived = log(caseworker)
    audit.seal()
    assert seal_of(derived).key_id == audit._keys()[0][0]
    settings.ACCESS_LOG_KEY = [NEW_KEY]  # set later: the derived key's entries still verify
    audit.reset_keys()
    log(caseworker)
    assert problems() == []
    settings.SEARCH_INDEX_KEY = "another-search-key"
    audit.reset_keys()
    assert "not configured" in problems()[0]


def test_a_malformed_key_is_refused(settings, fresh_keys):
    settings.ACCESS_LOG_KEY = ["c2hvcnQ="]
    with pytest.raises(Exception, match="32 bytes"):
        audit._keys()


# --- entries from before the sealer, and from before the key ---------------------------------


def legacy_rows(n: int) -> list[AccessEvent]:
    """Rows as the unkeyed log wrote them (one global chain, no seq)."""
    rows, prev = [], ""
    for i in range(n):
        entry = AccessEvent(action=Action.VIEW, object_type="case", object_id=str(i))
        entry.prev_hash, entry.hash = prev, audit.legacy_hash(entry, prev)
        entry.save(force_insert=True)
        rows.append(entry)
        prev = entry.hash
    return rows


def chained_on_append(user, n: int) -> list[AccessEvent]:
    """Rows as the keyed log wrote them before the sealer (`seq` and `hash` on the entry)."""
    chain = user.membership.organisation_id
    last = AccessEvent.objects.filter(chain=chain, seq__isnull=False).order_by("-seq").first()
    seq, prev = (last.seq, last.hash) if last else (0, audit._legacy_head())
    key_id, key = audit._keys()[0]
    rows = []
    for i in range(n):
        entry = AccessEvent(
            user=user, organisation_id=chain, chain=chain, action=Action.VIEW,
            object_type="case", object_id=str(i), seq=seq + 1, key_id=key_id, prev_hash=prev,
        )  # fmt: skip
        entry.hash = audit.entry_hash(entry, prev, key)
        entry.save(force_insert=True)
        rows.append(entry)
        seq, prev = entry.seq, entry.hash
    return rows


def test_keyed_chains_start_at_the_last_legacy_hash(caseworker, other_caseworker):
    old = legacy_rows(3)
    first, other = log(caseworker), log(other_caseworker)
    audit.seal()
    assert seal_of(first).prev_hash == seal_of(other).prev_hash == old[-1].hash
    report = audit.verify_chain()
    assert report.ok and (report.legacy, report.checked) == (3, 2)


def test_sealed_chains_continue_the_entries_chained_on_append(org, caseworker):
    before = chained_on_append(caseworker, 3)
    anchor = audit.heads()[0]
    assert anchor == audit.Anchor(org.pk, 3, before[-1].hash)
    new = log(caseworker)
    audit.seal()
    new = seal_of(new)
    assert (new.seq, new.prev_hash) == (4, before[-1].hash)
    report = audit.verify_chain(anchors=[anchor])
    assert report.ok and report.checked == 4
    assert report.heads[org.pk] == audit.Anchor(org.pk, 4, new.hash)


def test_an_edited_entry_chained_on_append_is_still_detected(caseworker):
    before = chained_on_append(caseworker, 3)
    log(caseworker)
    with without_triggers():
        sql("UPDATE casework_accessevent SET object_id = 'x' WHERE id = %s", [before[1].pk])
    [problem] = problems()
    assert f"entry {before[1].pk} (no. 2)" in problem and "keyed hash does not match" in problem


def test_a_rewritten_legacy_chain_breaks_the_keyed_chains(caseworker):
    old = legacy_rows(4)
    log(caseworker)
    audit.seal()
    with without_triggers():  # the unkeyed part can be rebuilt by anyone…
        sql("DELETE FROM casework_accessevent WHERE id = %s", [old[1].pk])
        prev = old[0].hash
        for entry in old[2:]:
            entry.prev_hash, entry.hash = prev, audit.legacy_hash(entry, prev)
            sql(
                "UPDATE casework_accessevent SET prev_hash = %s, hash = %s WHERE id = %s",
                [entry.prev_hash, entry.hash, entry.pk],
            )
            prev = entry.hash
    [problem] = problems()  # …but the keyed chain holds its last hash
    assert "entry no. 1" in problem and "does not follow the entry before it" in problem


def test_an_edited_legacy_entry_is_detected(caseworker):
    old = legacy_rows(3)
    with without_triggers():
        sql("UPDATE casework_accessevent SET action = 'list' WHERE id = %s", [old[1].pk])
    [problem] = problems()
    assert f"Entry {old[1].pk} (from before the log was keyed)" in problem


def _migrate_to(suffix: str) -> None:
    executor = MigrationExecutor(connection)
    [node] = [key for key in executor.loader.graph.nodes if key[1].endswith(suffix)]
    [before] = executor.loader.graph.node_map[node].parents
    executor.migrate([before.key])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_upgraded_database_verifies_and_stays_append_only(org, caseworker):
    """A log written by the unkeyed code, then by the keyed code that chained on append:
    after migrating, both verify, the sealed chain continues them, old anchors still check."""
    _migrate_to("keyed_chains")
    try:
        prev = ""
        with connection.cursor() as cursor:
            for i in range(3):  # as the unkeyed record() wrote them
                entry = AccessEvent(
                    at=timezone.now(), action=Action.VIEW, object_type="case", object_id=str(i)
                )
                entry.hash = audit.legacy_hash(entry, prev)
                cursor.execute(
                    "INSERT INTO casework_accessevent (at, action, object_type, object_id,"
                    " path_name, prev_hash, hash) VALUES (%s, 'view', 'case', %s, '', %s, %s)",
                    [entry.at, str(i), prev, entry.hash],
                )
                prev = entry.hash
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        _migrate_to("access_log_seals")
        # As the keyed record() wrote them (its columns exist from here on).
        chained = chained_on_append(caseworker, 2)
        old_anchor = audit.Anchor(org.pk, 2, chained[-1].hash)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    log(caseworker)
    audit.seal()
    report = audit.verify_chain(anchors=[old_anchor])
    assert report.ok, report.problems
    assert (report.legacy, report.checked) == (3, 3) and report.heads[org.pk].seq == 3
    for model in (AccessEvent, AccessSeal):
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.update(object_id="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessSeal.objects.update(hash="x")


# --- anchors out of the database ------------------------------------------------------------


def test_parse_anchors_reads_log_lines_and_emails():
    h = "a" * 64
    text = (
        f"Dec  3 09:40:00 host pristan[12]: access log anchor 3:1842:{h}\n"
        f"    python manage.py verify_access_log --anchor 0:7:{h}\n"
        f"not one: 3:1842:{h}0 1:2:{h[:-1]}"
    )
    assert audit.parse_anchors(text) == [audit.Anchor(3, 1842, h), audit.Anchor(0, 7, h)]


def test_anchors_go_to_the_server_log(caplog, org, entries):
    """Sealed first: the anchor covers the entries appended since the sealer's last run."""
    newest = seal_of(entries[5])
    with caplog.at_level(logging.INFO, logger="pristan.audit"):
        assert audit_anchors.anchors_log() == [audit.Anchor(org.pk, 6, newest.hash)]
    assert caplog.messages == [f"access log anchor {org.pk}:6:{newest.hash}"]


def test_anchors_are_taken_after_sealing(deferred, caplog, org, caseworker):
    entry = log(caseworker)
    with caplog.at_level(logging.INFO, logger="pristan.audit"):
        assert audit_anchors.anchors_log() == [audit.Anchor(org.pk, 1, seal_of(entry).hash)]


def test_celery_tasks_seal_and_log_the_anchors(deferred, caplog, caseworker):
    from casework.tasks import log_access_log_anchors, seal_access_log

    log(caseworker)
    assert seal_access_log.delay().get() == 1
    with caplog.at_level(logging.INFO, logger="pristan.audit"):
        assert log_access_log_anchors.delay().get() == 1


def test_administrators_and_auditors_get_their_own_chains_anchor_daily(
    org, administrator, auditor, caseworker, other_org, other_caseworker, superadmin
):
    other_admin = make_user(organisation=other_org, role=Role.ADMINISTRATOR, username="admin2")
    mine, theirs = log(caseworker), log(other_caseworker)
    system = audit.record(None, Action.LOGIN_FAILED, object_type="user")

    from casework.tasks import send_access_log_anchors

    assert send_access_log_anchors.delay().get() == 4
    mine, theirs, system = seal_of(mine), seal_of(theirs), seal_of(system)
    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {u.email for u in (administrator, auditor, other_admin, superadmin)}
    for user in (administrator, auditor):
        body = sent[user.email].body
        assert f"verify_access_log --anchor {org.pk}:1:{mine.hash}" in body
        assert theirs.hash not in body and system.hash not in body
    assert f"{other_org.pk}:1:{theirs.hash}" in sent[other_admin.email].body
    assert mine.hash not in sent[other_admin.email].body
    assert f"0:1:{system.hash}" in sent[superadmin.email].body  # and their organisation's
    assert audit.parse_anchors(sent[superadmin.email].body)[0] == audit.Anchor(org.pk, 1, mine.hash)
    assert all(not problems(audit.parse_anchors(m.body)) for m in mail.outbox)


# --- the command -----------------------------------------------------------------------------


def test_verify_access_log_seals_prints_anchors_and_checks_them(
    deferred, org, caseworker, capsys, tmp_path
):
    entries = [log(caseworker) for _ in range(6)]
    call_command("verify_access_log", seal=False)
    assert "0 entries in 0 chains, 6 recent entries not sealed yet: access log OK." in (
        capsys.readouterr().out
    )
    call_command("verify_access_log")
    out = capsys.readouterr().out
    head = seal_of(entries[5]).hash
    assert f"anchor {org.pk}:6:{head}" in out
    assert "6 entries in 1 chains: access log OK." in out

    saved = tmp_path / "syslog"
    saved.write_text(f"Dec  3 host pristan: access log anchor {org.pk}:6:{head}\n")
    call_command("verify_access_log", anchors_file=str(saved))
    assert "1 anchors compared: access log OK." in capsys.readouterr().out

    with without_triggers():
        sql("DELETE FROM casework_accessseal WHERE seq = 6")
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[5].pk])
    call_command("verify_access_log", seal=False)  # without the anchor, nothing to see
    with pytest.raises(CommandError) as error:
        call_command("verify_access_log", anchor=[f"{org.pk}:6:{head}"], seal=False)
    assert error.value.returncode == 1
    assert "truncated" in str(error.value)


def test_verify_access_log_exit_status(entries, monkeypatch):
    """Run as a program: exit status 0, then 1 after tampering."""
    from casework.management.commands.verify_access_log import Command

    # run_from_argv closes the connections when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    Command().run_from_argv(["manage.py", "verify_access_log"])  # returns: exit status 0
    with without_triggers():
        sql("UPDATE casework_accessevent SET action = 'list' WHERE id = %s", [entries[0].pk])
    with pytest.raises(SystemExit) as broken:
        Command().run_from_argv(["manage.py", "verify_access_log"])
    assert broken.value.code == 1


def test_verify_access_log_refuses_a_malformed_anchor(db):
    with pytest.raises(CommandError, match="Not an anchor"):
        call_command("verify_access_log", anchor=["3:abc"])


# --- PostgreSQL: appends that never wait, and a role that cannot rewrite the log -------------

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="concurrent connections and roles: PostgreSQL"
)


def _append_in_thread(user, *, done: threading.Event, failures: list) -> threading.Thread:
    """Append from a connection of its own that gives up after 5 s of waiting for any lock:
    were the append to queue behind another, the test fails instead of hanging."""

    def run():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")
                cursor.execute("SET statement_timeout = '30s'")
            log(user)
            done.set()
        except BaseException as error:  # reported by the test
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_do_not_wait_for_each_other(settings, org, caseworker, other_caseworker):
    """One request's append stays uncommitted in its open transaction; a colleague's append
    (same organisation) and another organisation's both complete meanwhile, and so does the
    sealer (which simply does not see the open one yet). After the commit, everything seals
    and verifies."""
    colleague = make_user(organisation=org, role=Role.CASEWORKER, username="colleague")
    first = log(caseworker)  # a log in use: sealed up to here
    audit.seal()
    settings.ACCESS_LOG_SEAL_GRACE = 3600  # the open transaction's id is not given up for lost
    failures: list = []
    with transaction.atomic():
        held = log(caseworker)
        for user in (colleague, other_caseworker):
            done = threading.Event()
            thread = _append_in_thread(user, done=done, failures=failures)
            thread.join()
            assert not failures, failures
            assert done.is_set()
        sealer_failures: list = []

        def seal_elsewhere():
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET lock_timeout = '5s'")
                audit.seal()
            except BaseException as error:
                sealer_failures.append(error)
            finally:
                connections.close_all()

        sealer = threading.Thread(target=seal_elsewhere)
        sealer.start()
        sealer.join()
        assert not sealer_failures, sealer_failures
        assert not AccessSeal.objects.filter(event_id=held.pk).exists()  # not visible to it
        assert AccessSeal.objects.filter(missing=False).count() == 3  # the two others
        assert AccessSeal.objects.order_by("-id").first().upto == first.pk  # waits for held
    audit.seal()
    assert AccessSeal.objects.filter(event_id=held.pk, missing=False).exists()
    assert AccessSeal.objects.filter(chain=org.pk).count() == 3
    report = audit.verify_chain()
    assert report.ok, report.problems
    assert report.checked == 4 and report.unsealed == 0


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_asynchronous_commit_applies_to_autocommit_appends_only(settings, caseworker):
    """ACCESS_LOG_ASYNC_COMMIT: an append on its own does not wait for the disk; inside a
    request's transaction it changes nothing (the request's other writes stay durable)."""
    settings.ACCESS_LOG_ASYNC_COMMIT = True
    alone = log(caseworker)
    assert _synchronous_commit() == "on"  # SET LOCAL: it ended with the append's transaction
    with transaction.atomic():
        inside = log(caseworker)
        assert _synchronous_commit() == "on"
    audit.seal()
    assert AccessSeal.objects.filter(event_id__in=[alone.pk, inside.pk]).count() == 2
    assert audit.verify_chain().ok


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_append_is_a_recorded_gap(deferred, caseworker):
    """What a request's rolled-back transaction leaves: an id never used, reported."""
    log(caseworker)
    audit.seal()
    with pytest.raises(RuntimeError), transaction.atomic():
        gone = log(caseworker)
        raise RuntimeError
    log(caseworker)
    audit.seal()
    assert any(f"Entry id {gone.pk} is missing" in p for p in audit.verify_chain().problems)


@postgresql_only
def test_the_application_role_can_append_and_seal_but_not_rewrite_the_log(caseworker, capsys):
    """CREATE ROLE and the grants are transactional: the test's rollback removes them."""
    log(caseworker)
    audit.seal()
    role = "pristan_test_app_role"
    sql(f"CREATE ROLE {role} NOLOGIN")
    call_command("grant_app_role", role)
    assert "only INSERT and SELECT" in capsys.readouterr().out
    refused = [
        "DROP TRIGGER casework_accessevent_no_update ON casework_accessevent",
        "DROP TRIGGER casework_accessseal_no_update ON casework_accessseal",
        "ALTER TABLE casework_accessevent DISABLE TRIGGER ALL",
        "ALTER TABLE casework_accessseal DISABLE TRIGGER ALL",
        "DROP TABLE casework_accessevent",
        "DROP TABLE casework_accessseal",
        "TRUNCATE casework_accessevent",
        "TRUNCATE casework_accessseal",
        "DELETE FROM casework_accessevent",
        "DELETE FROM casework_accessseal",
        "UPDATE casework_accessevent SET object_id = 'x'",
        "UPDATE casework_accessseal SET hash = 'x'",
        "CREATE OR REPLACE FUNCTION casework_accessevent_append_only() RETURNS trigger"
        " AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
    ]
    sql(f"SET ROLE {role}")
    try:
        for statement in refused:
            with (
                pytest.raises(DatabaseError, match="must be owner|permission denied"),
                transaction.atomic(),
            ):
                sql(statement)
        appended = log(caseworker)  # what the application does, it still can: append, seal
        assert audit.seal() == 1
        assert AccessSeal.objects.filter(event_id=appended.pk).exists()
        sql("UPDATE casework_case SET risk = risk")
        assert audit.verify_chain().ok
    finally:
        sql("RESET ROLE")


@postgresql_only
def test_grant_app_role_refuses_the_owner(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="superuser, the owner"):
        call_command("grant_app_role", owner)


@postgresql_only
def test_grant_app_role_prints_its_sql(db, capsys):
    sql("CREATE ROLE pristan_test_print NOLOGIN")
    call_command("grant_app_role", "pristan_test_print", print_only=True)
    out = capsys.readouterr().out
    assert (
        'GRANT SELECT, INSERT ON "casework_accessevent", "casework_accessseal" TO '
        '"pristan_test_print";'
    ) in out


def test_grant_app_role_needs_postgresql(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("grant_app_role", "x")
