"""The daily deadline digest: one email per person, references only, never a name; each
deadline 14, 7, 3 and 1 days before it and every day once due."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.utils import timezone

from casework.models import DailyRun, Membership
from casework.reminders import deadline_reminders_send
from casework.tasks import send_deadline_reminders
from tests.factories import make_case, make_event, make_user

Role = Membership.Role
CLIENT_NAMES = ["Зуганшин", "Рустам", "Zuganshin", "Rustam", "Falcon"]


@pytest.fixture
def outbox(db, mailoutbox):
    """pytest-django's `mailoutbox`, taken after the database fixture: setting up a test's
    database (TestCase._pre_setup) replaces `mail.outbox` with a new list."""
    return mailoutbox


@pytest.fixture
def assigned(org, caseworker):
    """A case of the caseworker's with one overdue and one upcoming deadline."""
    case = make_case(organisation=org, assignees=[caseworker], pseudonym="Falcon")
    make_event(case=case, days=-3, title="Appeal to the CNDA for Zuganshin")
    make_event(case=case, days=7)
    return case


def _mail_for(outbox, user):
    return [m for m in outbox if m.to == [user.email]]


def test_caseworker_gets_one_email_with_the_reference_and_no_name(outbox, caseworker, assigned):
    sent = deadline_reminders_send()

    assert sent == len(outbox) == 1
    (mail,) = _mail_for(outbox, caseworker)
    assert assigned.reference in mail.body
    assert mail.body.count(assigned.reference) == 2
    assert mail.body.count("(overdue)") == 1
    text = mail.subject + mail.body
    for name in CLIENT_NAMES:
        assert name not in text, name
    assert "2 deadlines" in mail.subject


def test_no_email_for_users_without_deadlines(outbox, personas, case):
    assert deadline_reminders_send() == 0
    assert outbox == []


@pytest.mark.parametrize("days", [15, 13, 8, 5, 2])
def test_deadlines_between_reminder_days_are_left_out(outbox, org, caseworker, assigned, days):
    later = make_case(organisation=org, assignees=[caseworker], reference="2026-6001")
    make_event(case=later, days=days)

    deadline_reminders_send()

    (mail,) = _mail_for(outbox, caseworker)
    assert "2026-6001" not in mail.body


def test_only_a_far_deadline_sends_nothing(outbox, org, caseworker):
    later = make_case(organisation=org, assignees=[caseworker])
    make_event(case=later, days=15)
    assert deadline_reminders_send() == 0


def test_reminders_escalate_14_7_3_1_days_before_then_daily(outbox, org, caseworker):
    case = make_case(organisation=org, assignees=[caseworker])
    event = make_event(case=case, days=14)
    due = event.date
    sent_on = {}
    for days_before in range(16, -3, -1):
        outbox.clear()
        deadline_reminders_send(today=due - timedelta(days=days_before))
        if outbox:
            (mail,) = outbox
            sent_on[days_before] = (mail.subject, mail.body)

    assert sorted(sent_on, reverse=True) == [14, 7, 3, 1, 0, -1, -2]
    assert "in 14 days" in sent_on[14][1]
    assert "in 7 days" in sent_on[7][1]
    assert "in 3 days" in sent_on[3][1]
    assert "tomorrow: last day before it" in sent_on[1][1]
    assert "(due today)" in sent_on[0][1]
    assert "(overdue)" in sent_on[-1][1]
    # The subject says "urgent" from three days before on, not earlier.
    assert [("urgent" in sent_on[d][0]) for d in (14, 7, 3, 1, 0, -1)] == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]


def test_done_events_and_non_deadlines_are_left_out(outbox, org, caseworker, assigned):
    finished = make_case(organisation=org, assignees=[caseworker], reference="2026-6002")
    make_event(case=finished, days=-1, done=True)
    make_event(case=finished, days=2, done=True)
    make_event(case=finished, days=1, kind="interview")

    deadline_reminders_send()

    (mail,) = _mail_for(outbox, caseworker)
    assert "2026-6002" not in mail.body


def test_each_assignee_gets_their_own_and_unassigned_people_none(
    outbox, personas, case, other_case
):
    make_event(case=case, days=1)
    make_event(case=other_case, days=3)

    assert deadline_reminders_send() == 3

    recipients = sorted(m.to[0] for m in outbox)
    assert recipients == sorted(personas[p].email for p in ("caseworker", "volunteer", "colleague"))
    (colleague_mail,) = _mail_for(outbox, personas["colleague"])
    assert other_case.reference in colleague_mail.body
    assert case.reference not in colleague_mail.body
    (caseworker_mail,) = _mail_for(outbox, personas["caseworker"])
    assert other_case.reference not in caseworker_mail.body


def test_no_email_after_losing_access(outbox, org, caseworker, assigned):
    caseworker.is_active = False
    caseworker.save()
    assert deadline_reminders_send() == 0


def test_no_email_for_a_user_without_an_address(outbox, caseworker, assigned):
    caseworker.email = ""
    caseworker.save()
    assert deadline_reminders_send() == 0


def test_assigned_case_of_another_organisation_is_not_reported(outbox, other_org, caseworker):
    # An assignment that crosses organisations (e.g. made in admin) must not leak the case.
    foreign = make_case(organisation=other_org, assignees=[caseworker], reference="2026-6003")
    make_event(case=foreign, days=1)
    assert deadline_reminders_send() == 0


def test_today_can_be_given(outbox, caseworker, assigned):
    far_future = timezone.localdate() + timedelta(days=400)
    deadline_reminders_send(today=far_future)
    (mail,) = _mail_for(outbox, caseworker)
    assert mail.body.count("(overdue)") == 2


def test_celery_task_sends_the_digest(outbox, caseworker, assigned):
    assert send_deadline_reminders.apply().get() == 1
    assert len(outbox) == 1


def test_the_digest_is_sent_once_a_day_however_often_the_task_runs(outbox, caseworker, assigned):
    """Two schedulers, or a restarted one catching up, send the task twice: one digest."""
    assert send_deadline_reminders.apply().get() == 1
    assert send_deadline_reminders.apply().get() is None
    assert len(outbox) == 1
    run = DailyRun.objects.get(job="deadline-reminders")
    assert run.day == timezone.localdate() and run.finished_at is not None


def test_the_digest_is_scheduled_at_a_fixed_local_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["deadline-reminders"]
    assert entry["task"] == "casework.tasks.send_deadline_reminders"
    assert entry["schedule"] == crontab(hour=7, minute=0)


def test_lawyer_with_a_share_gets_no_digest(outbox, org, lawyer, case):
    make_event(case=case, days=1)
    deadline_reminders_send()
    assert _mail_for(outbox, lawyer) == []


def test_user_with_special_access_gets_the_same_anonymous_email(outbox, org):
    special = make_user(organisation=org, role=Role.CASEWORKER, special=True)
    case = make_case(organisation=org, assignees=[special], pseudonym="Falcon")
    make_event(case=case, days=1)
    deadline_reminders_send()
    (mail,) = _mail_for(outbox, special)
    for marker in ("SPECIAL-ORIENTATION-MARKER", "SPECIAL-CRIMINAL-MARKER", *CLIENT_NAMES):
        assert marker not in mail.subject + mail.body
