"""What the user sees while a dependency is down.

- The database does not answer: every page is a calm 503 page (config/errors.py,
  templates/503.html) in the browser's language, with Retry-After, never a traceback; pages
  come back by themselves when the database does. The database is made really unreachable
  here: the connection is pointed at a closed port (PostgreSQL) or a file that cannot be
  opened (SQLite).
- The broker does not answer when a letter or a batch is issued: the letter keeps its number,
  the user is told the PDF will be made when the queue is back, and the sweep sends it later.
  The broker is a Redis address where nothing listens.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from letters import services
from letters.models import Batch, Letter
from tests.letters.helpers import BATCH_NEW, FILTERS

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # port 1: nothing listens there


class Database:
    """Takes the default database down (unreachable) and brings it back."""

    def __init__(self, monkeypatch, tmp_path):
        self.monkeypatch, self.tmp_path = monkeypatch, tmp_path
        self.is_down = False

    def down(self):
        self.is_down = True
        connection.close()
        if connection.vendor == "postgresql":
            self.monkeypatch.setitem(connection.settings_dict, "PORT", "1")
        elif connection.vendor == "sqlite":
            missing = str(self.tmp_path / "missing" / "db.sqlite3")
            self.monkeypatch.setitem(connection.settings_dict, "NAME", missing)
        else:
            pytest.skip(f"no way to take a {connection.vendor} database down")

    def up(self):
        if self.is_down:
            self.is_down = False
            connection.close()
            self.monkeypatch.undo()


@pytest.fixture
def database(monkeypatch, tmp_path):
    database = Database(monkeypatch, tmp_path)
    yield database
    database.up()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_down_gives_a_calm_503_page_then_pages_come_back(coordinator, database):
    client = Client(raise_request_exception=False)
    client.force_login(coordinator)  # a session in the database, read on every request
    dashboard = reverse("casework:dashboard")
    assert client.get(dashboard).status_code == 200

    database.down()
    for path, method in [(dashboard, "get"), (reverse("letters:register"), "get"), ("/", "post")]:
        response = getattr(client, method)(path, headers={"accept-language": "ru"})
        assert response.status_code == 503, response.content[:500]
        assert response["Retry-After"] == "30"
        text = response.text
        assert 'lang="ru"' in text  # from the browser, not the user's profile (in the database)
        assert "The database is not answering just now" in text or "база" in text.lower()
        assert "Traceback" not in text and "OperationalError" not in text
        assert "psycopg" not in text and "sqlite" not in text.lower()
    # The public verification page too, for an anonymous visitor.
    response = Client(raise_request_exception=False).get("/v/abc/")
    assert response.status_code == 503

    database.up()
    assert client.get(dashboard).status_code == 200  # the same session: nothing was lost


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OperationalError("server closed the connection unexpectedly"), 503),
        (InterfaceError("connection already closed"), 503),
        (IntegrityError("duplicate key"), 500),  # a bug, not a database that is down
        (ValueError("a bug"), 500),
    ],
)
def test_only_a_database_that_does_not_answer_gives_503(rf, error, status):
    from config.errors import server_error

    try:
        raise error
    except Exception:
        response = server_error(rf.get("/"))
    assert response.status_code == status
    expected = b"is not answering just now" if status == 503 else b"Something went wrong"
    assert expected in response.content


@pytest.fixture
def broker_down(monkeypatch):
    """Tasks are sent (not run eagerly) to a broker where nothing listens."""
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    # Celery takes the broker's address from the environment first, then the settings.
    monkeypatch.setenv("CELERY_BROKER_URL", UNREACHABLE_BROKER)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    monkeypatch.setitem(app.conf, "CELERY_BROKER_URL", UNREACHABLE_BROKER)
    # The connection pool and the producer pool were made for the configured broker.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


# Transactional: as in a real request, the commit (and the sending after it) happens before
# the view chooses its message.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_letter_is_issued_and_the_user_told(
    client, approved_letter, coordinator, broker_down
):
    client.force_login(coordinator)
    response = client.post(reverse("letters:letter_issue", args=[approved_letter.pk]), follow=True)
    assert response.status_code == 200
    approved_letter.refresh_from_db()
    assert approved_letter.status == Letter.Status.ISSUED
    assert approved_letter.number and approved_letter.sequence == 1  # committed, numbered
    assert approved_letter.render_status == Letter.RenderStatus.PENDING
    assert "The queue that makes PDFs is not answering just now" in response.text
    assert approved_letter.number in response.text
    assert "Traceback" not in response.text


def test_broker_back_the_sweep_sends_the_letter(
    approved_letter, coordinator, broker_down, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.letters_issue(letters=[approved_letter], by=coordinator)
    assert issued.render_queued is False
    (letter,) = issued.letters
    # The broker is back (eager: the task runs here) and two minutes have passed.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    Letter.objects.filter(pk=letter.pk).update(issued_at=timezone.now() - timedelta(minutes=3))
    assert services.letters_requeue_stuck() == 1
    letter.refresh_from_db()
    assert letter.render_status == Letter.RenderStatus.READY
    assert letter.pdf_sha256 and letter.render_attempts == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("active_cases")
def test_broker_down_batch_is_saved_and_the_sweep_starts_it(
    client, coordinator, template_fr, ofpra, broker_down, monkeypatch, settings
):
    # The batch is prepared as soon as it is started (the second person's approval of a batch
    # is tested in tests/letters/test_review.py).
    settings.LETTERS_BATCH_TWO_PERSON_RULE = False
    client.force_login(coordinator)
    response = client.post(
        BATCH_NEW + FILTERS,
        {
            "batch-template": template_fr.pk,
            "batch-authority": ofpra.pk,
            "batch-confirm": "on",
            "start": "1",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "The queue is not answering just now" in response.text
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.PREPARING and not batch.letters.exists()

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    assert services.batches_requeue_stuck() == 0  # not stuck yet: it may still be on its way
    Batch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert services.batches_requeue_stuck() == 1
    batch.refresh_from_db()
    # Every letter rendered (eager): the worker that rendered the last one marked it finished.
    assert batch.status == Batch.Status.FINISHED
    letters = list(batch.letters.order_by("sequence"))
    assert [letter.sequence for letter in letters] == [1, 2, 3, 4]
    assert all(letter.render_status == Letter.RenderStatus.READY for letter in letters)
    # A second task for it (sent again while the first ran) does nothing.
    duplicate = Batch.objects.get(pk=batch.pk)
    duplicate.status = Batch.Status.PREPARING  # as it was when that task read it
    services.batch_prepare(batch=duplicate)
    assert batch.letters.count() == 4
