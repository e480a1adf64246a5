"""The deadline digest, sent by a real Celery worker (not eagerly in the test process)."""

import email
import email.policy

import pytest

from casework.models import Membership
from casework.tasks import send_deadline_reminders
from tests.factories import make_case, make_event, make_organisation, make_user
from tests.integration.helpers import wait_until

SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # written by the file-based backend after each message

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def worker_env(mail_dir):
    return {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
    }


def test_deadline_reminder_is_sent_by_the_worker(celery_worker_process, mail_dir):
    org = make_organisation()
    caseworker = make_user(organisation=org, role=Membership.Role.CASEWORKER, username="cw")
    case = make_case(organisation=org, assignees=[caseworker])
    make_event(case=case, days=-2)  # an overdue appeal deadline

    send_deadline_reminders.delay()

    def written_messages():
        return [
            path.read_bytes()
            for path in sorted(mail_dir.iterdir())
            if path.read_bytes().endswith(SEPARATOR)
        ]

    files = wait_until(
        written_messages,
        timeout=60,
        message=lambda: f"an email file in {mail_dir}; worker log:\n{celery_worker_process.tail()}",
    )
    assert len(files) == 1
    raw = files[0].removesuffix(SEPARATOR)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == caseworker.email
    body = message.get_body(preferencelist=("plain",)).get_content()
    text = f"{message['Subject']}\n{body}"
    assert case.reference in body
    assert "overdue" in body
    for name in ("Zuganshin", "Rustam", "Зуганшин", "Рустам", case.client.pseudonym):
        assert name not in text
        assert name.encode() not in raw
