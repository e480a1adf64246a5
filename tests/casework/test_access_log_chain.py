"""The access log's tamper evidence (casework.audit): keyed hashes, one chain per organisation,
anchors outside the database, the entries from before the key, and on PostgreSQL appends of
different organisations that do not wait for each other and an application role that cannot
rewrite the log.

Tampering is simulated as someone with the database's owner login would do it: the append-only
triggers dropped, rows deleted, changed or re-chained (the test's transaction restores them)."""

import contextlib
import hashlib
import importlib
import logging
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from casework import audit, audit_anchors
from casework.models import AccessEvent, Membership
from tests.factories import make_user

Action = AccessEvent.Action
Role = Membership.Role
append_only = importlib.import_module("casework.migrations.0003_access_log_append_only")


def log(user, action=Action.VIEW, **fields) -> AccessEvent:
    return audit.record(None, action, user=user, object_type="case", **fields)


@contextlib.contextmanager
def without_triggers():
    """Drop the append-only triggers, as the tables' owner can, and put them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(append_only.POSTGRES_REVERSE)
        else:
            for statement in append_only.SQLITE_REVERSE:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(append_only.POSTGRES, ())  # with parameters: %% is %
            else:
                for statement in append_only.SQLITE:
                    cursor.execute(statement)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rechain(entries: list[AccessEvent], *, start_seq: int, prev: str, make_hash) -> None:
    """Renumber and re-link `entries` from `start_seq` on, each hashed by `make_hash`."""
    for seq, entry in enumerate(entries, start=start_seq):
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = make_hash(entry, prev)
        sql(
            "UPDATE casework_accessevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.seq, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash


def problems(anchors=()) -> list[str]:
    return audit.verify_chain(anchors=anchors).problems


@pytest.fixture
def other_caseworker(other_org):
    return make_user(organisation=other_org, role=Role.CASEWORKER, username="elsewhere")


@pytest.fixture
def entries(caseworker) -> list[AccessEvent]:
    return [log(caseworker, object_id=str(i)) for i in range(6)]


# --- chains ----------------------------------------------------------------------------------


def test_each_organisation_has_its_own_chain(org, caseworker, other_org, other_caseworker):
    mine = [log(caseworker) for _ in range(3)]
    theirs = [log(other_caseworker) for _ in range(2)]
    anonymous = audit.record(None, Action.LOGIN_FAILED, object_type="user")

    assert [(e.chain, e.seq) for e in mine] == [(org.pk, 1), (org.pk, 2), (org.pk, 3)]
    assert [(e.chain, e.seq) for e in theirs] == [(other_org.pk, 1), (other_org.pk, 2)]
    assert (anonymous.chain, anonymous.seq) == (audit.NO_ORGANISATION, 1)
    assert mine[1].prev_hash == mine[0].hash and theirs[1].prev_hash == theirs[0].hash
    assert mine[0].key_id == audit._keys()[0][0]
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
    report = audit.verify_chain()
    assert report.ok, report.problems
    assert report.checked == AccessEvent.objects.count() >= 153


def test_an_empty_log_verifies(db):
    report = audit.verify_chain()
    assert report.ok and report.checked == 0 and report.heads == {}


# --- tampering -------------------------------------------------------------------------------


def test_an_edited_entry_is_detected(entries):
    with without_triggers():
        sql("UPDATE casework_accessevent SET object_id = '999' WHERE id = %s", [entries[2].pk])
    [problem] = problems()
    assert f"entry {entries[2].pk} (no. 3)" in problem and "keyed hash does not match" in problem


def test_a_deleted_entry_is_a_gap(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
    [problem] = problems()
    assert (
        f"entry {entries[3].pk} (no. 4)" in problem
        and "entry 3 of the chain is missing (deleted)" in problem
    )


def test_a_deleted_first_entry_is_a_gap(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[0].pk])
    [problem] = problems()
    assert "entry 1 of the chain is missing" in problem


def test_a_row_inserted_behind_the_applications_back_is_detected(org, entries):
    last = entries[-1]
    sql(
        "INSERT INTO casework_accessevent (at, organisation_id, action, object_type, object_id,"
        " path_name, chain, seq, key_id, prev_hash, hash)"
        " VALUES (%s, %s, 'view', 'case', '1', '', %s, %s, %s, %s, %s)",
        [last.at, org.pk, org.pk, 7, last.key_id, last.hash, hashlib.sha256(b"x").hexdigest()],
    )
    [problem] = problems()
    assert "(no. 7)" in problem and "keyed hash does not match" in problem


def test_a_chain_rechained_with_the_unkeyed_algorithm_is_detected(entries):
    """The old, unkeyed chain could be rebuilt by anyone after deleting an entry: no longer."""
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
        rechain(entries[3:], start_seq=3, prev=entries[1].hash, make_hash=audit.legacy_hash)
    [problem] = problems()
    assert f"entry {entries[3].pk} (no. 3)" in problem and "keyed hash does not match" in problem


def test_a_chain_rechained_with_another_key_is_detected(entries):
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
        rechain(
            entries[3:],
            start_seq=3,
            prev=entries[1].hash,
            make_hash=lambda e, prev: audit.entry_hash(e, prev, b"k" * 32),
        )
    [problem] = problems()
    assert "keyed hash does not match" in problem


def test_a_truncated_tail_is_detected_through_the_anchor(org, entries):
    anchor = audit.Anchor(org.pk, 6, entries[5].hash)
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE seq > 4")

    assert problems() == []  # a shorter chain is still a valid chain: the anchor shows it
    [problem] = problems([anchor])
    assert problem == (
        f"Chain {org.pk} ends at entry 4, but was anchored at entry 6: its tail was removed "
        "(truncated)."
    )


def test_a_removed_chain_is_detected_through_the_anchor(org, entries):
    anchor = audit.heads()[0]
    with without_triggers():
        sql("DELETE FROM casework_accessevent")
    assert problems() == []
    assert "ends at entry 0" in problems([anchor])[0]


def test_a_chain_rewritten_with_the_key_is_detected_through_the_anchor(org, entries):
    """Someone who had the key too (the server itself) can rebuild a valid chain, but not one
    that matches the anchors sent away before."""
    anchor = audit.Anchor(org.pk, 6, entries[5].hash)
    key = audit._keys()[0][1]
    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE id = %s", [entries[2].pk])
        rechain(
            entries[3:],
            start_seq=3,
            prev=entries[1].hash,
            make_hash=lambda e, prev: audit.entry_hash(e, prev, key),
        )
        # …and a filler at the end, so that the chain is as long as the anchor says.
        log(entries[0].user)

    assert problems() == []
    [problem] = problems([anchor])
    assert problem == (
        f"Chain {org.pk}, entry 6: its hash differs from the anchor (the chain was rewritten)."
    )


def test_anchors_of_an_intact_log_match(entries, other_caseworker):
    log(other_caseworker)
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
    settings.ACCESS_LOG_KEY = [NEW_KEY, *settings.ACCESS_LOG_KEY]
    audit.reset_keys()
    new = log(caseworker)
    assert new.key_id != old.key_id
    assert problems() == []

    settings.ACCESS_LOG_KEY = [NEW_KEY]  # the old key dropped: its entries cannot be checked
    audit.reset_keys()
    [problem] = problems()
    assert f"entry {old.pk} (no. 1)" in problem and f"(id {old.key_id})" in problem


def test_without_access_log_key_a_key_derived_from_search_index_key_signs(
    settings, fresh_keys, caseworker
):
    settings.ACCESS_LOG_KEY = []
    derived = log(caseworker)
    assert derived.key_id == audit._keys()[0][0]
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


# --- entries from before the key ------------------------------------------------------------


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


def test_keyed_chains_start_at_the_last_legacy_hash(caseworker, other_caseworker):
    old = legacy_rows(3)
    first, other = log(caseworker), log(other_caseworker)
    assert first.prev_hash == other.prev_hash == old[-1].hash
    report = audit.verify_chain()
    assert report.ok and (report.legacy, report.checked) == (3, 2)


def test_a_rewritten_legacy_chain_breaks_the_keyed_chains(caseworker):
    old = legacy_rows(4)
    log(caseworker)
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
    assert "(no. 1)" in problem and "does not follow the entry before it" in problem


def test_an_edited_legacy_entry_is_detected(caseworker):
    old = legacy_rows(3)
    with without_triggers():
        sql("UPDATE casework_accessevent SET action = 'list' WHERE id = %s", [old[1].pk])
    [problem] = problems()
    assert f"Entry {old[1].pk} (from before the log was keyed)" in problem


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_upgraded_database_verifies_and_stays_append_only(org, caseworker):
    """Migrating a log written by the unkeyed code: its entries verify, new ones chain on."""
    executor = MigrationExecutor(connection)
    [keyed] = [key for key in executor.loader.graph.nodes if key[1].endswith("keyed_chains")]
    [before] = executor.loader.graph.node_map[keyed].parents
    executor.migrate([before.key])
    try:
        prev = ""
        with connection.cursor() as cursor:
            for i in range(3):  # as the old record() wrote them
                entry = AccessEvent(
                    at=audit.timezone.now(),
                    action=Action.VIEW,
                    object_type="case",
                    object_id=str(i),
                )
                entry.hash = audit.legacy_hash(entry, prev)
                cursor.execute(
                    "INSERT INTO casework_accessevent (at, action, object_type, object_id,"
                    " path_name, prev_hash, hash) VALUES (%s, 'view', 'case', %s, '', %s, %s)",
                    [entry.at, str(i), prev, entry.hash],
                )
                prev = entry.hash
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    log(caseworker)
    report = audit.verify_chain()
    assert report.ok and (report.legacy, report.checked) == (3, 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(seq__isnull=True).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.update(object_id="x")


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
    with caplog.at_level(logging.INFO, logger="pristan.audit"):
        assert audit_anchors.anchors_log() == [audit.Anchor(org.pk, 6, entries[5].hash)]
    assert caplog.messages == [f"access log anchor {org.pk}:6:{entries[5].hash}"]


def test_celery_task_logs_the_anchors(caplog, entries):
    from casework.tasks import log_access_log_anchors

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


def test_verify_access_log_prints_anchors_and_checks_them(org, entries, capsys, tmp_path):
    call_command("verify_access_log")
    out = capsys.readouterr().out
    assert f"anchor {org.pk}:6:{entries[5].hash}" in out
    assert "6 entries in 1 chains: access log OK." in out

    saved = tmp_path / "syslog"
    saved.write_text(f"Dec  3 host pristan: access log anchor {org.pk}:6:{entries[5].hash}\n")
    call_command("verify_access_log", anchors_file=str(saved))
    assert "1 anchors compared: access log OK." in capsys.readouterr().out

    with without_triggers():
        sql("DELETE FROM casework_accessevent WHERE seq = 6")
    call_command("verify_access_log")  # without the anchor, nothing to see
    with pytest.raises(CommandError) as error:
        call_command("verify_access_log", anchor=[f"{org.pk}:6:{entries[5].hash}"])
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


# --- PostgreSQL: no global lock, and a role that cannot rewrite the log ---------------------

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="advisory locks and roles are PostgreSQL's"
)


def _waiting_for_a_chain_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s",
            [audit.CHAIN_LOCK],
        )
        return cursor.fetchone()[0] > 0


def _append_in_thread(user, done: threading.Event, failures: list) -> threading.Thread:
    def run():
        try:
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
def test_appends_of_two_organisations_do_not_wait_for_each_other(caseworker, other_caseworker):
    """One organisation's append holds its transaction (and its chain's lock) open; another
    organisation's append completes meanwhile. A colleague's append in the first organisation
    waits for it (its chain is locked), then follows it."""
    other_done, same_done, failures = threading.Event(), threading.Event(), []
    with transaction.atomic():
        held = log(caseworker)
        other = _append_in_thread(other_caseworker, other_done, failures)
        # A guard against a hang, not a timing: with a global lock it would never be set.
        assert other_done.wait(60), "the other organisation's append waited for this one"
        other.join()
        same = _append_in_thread(caseworker, same_done, failures)
        while not _waiting_for_a_chain_lock():  # the colleague is queued behind this one
            assert same.is_alive()
        assert not same_done.is_set()
    same.join()
    assert not failures and same_done.is_set()
    chain = list(AccessEvent.objects.filter(chain=held.chain).order_by("seq"))
    assert [e.seq for e in chain] == [1, 2] and chain[1].prev_hash == held.hash
    assert audit.verify_chain().ok


@postgresql_only
def test_the_application_role_can_append_but_not_rewrite_the_log(caseworker, capsys):
    """CREATE ROLE and the grants are transactional: the test's rollback removes them."""
    log(caseworker)
    role = "pristan_test_app_role"
    sql(f"CREATE ROLE {role} NOLOGIN")
    call_command("grant_app_role", role)
    assert "only INSERT and SELECT" in capsys.readouterr().out
    refused = [
        "DROP TRIGGER casework_accessevent_no_update ON casework_accessevent",
        "ALTER TABLE casework_accessevent DISABLE TRIGGER ALL",
        "DROP TABLE casework_accessevent",
        "TRUNCATE casework_accessevent",
        "DELETE FROM casework_accessevent",
        "UPDATE casework_accessevent SET object_id = 'x'",
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
        appended = log(caseworker)  # what the application does, it still can
        assert AccessEvent.objects.filter(pk=appended.pk).exists()
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
    assert 'GRANT SELECT, INSERT ON "casework_accessevent" TO "pristan_test_print";' in out


def test_grant_app_role_needs_postgresql(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("grant_app_role", "x")
