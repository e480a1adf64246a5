"""Pristan's side of the fault tests, run as a process of its own against the private servers
(the environment of `services.app_env`), as a management command would be:

    python -m tests.integration.fault_app batch SIZE      start a batch; prints JSON
    python -m tests.integration.fault_app sweep           the requeue sweep, sent as beat does
    python -m tests.integration.fault_app check BATCH     every letter rendered once; JSON

`batch` makes a new organisation, SIZE consenting cases and a batch, sends `prepare_batch`
(`start_batch` of tests/integration/helpers.py, as the worker tests do), and signs the
coordinator in: a session verified by a second factor, whose cookie the test gives the web
server. `sweep` makes the letters still waiting look 3 minutes older (time passing, past
STALE_CLAIM and the sweep's 2 minutes) and sends `requeue_stuck_letters` through the broker, as
beat does every minute. `check` runs the same checks as the worker tests
(`assert_rendered_once` of tests/integration/helpers.py) and exits non-zero with the reason if
one fails.
"""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path


def batch(size: int) -> dict:
    from django.conf import settings
    from django.test import Client

    from tests.helpers import otp_verify_session
    from tests.integration.helpers import start_batch

    batch, coordinator = start_batch(size)  # sends prepare_batch
    client = Client()
    client.force_login(coordinator)
    otp_verify_session(client, coordinator)
    return {
        "batch": batch.pk,
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "cookie": client.cookies[settings.SESSION_COOKIE_NAME].value,
    }


def sweep() -> dict:
    from django.db.models import F
    from django.utils import timezone

    from letters.models import Letter
    from letters.services import STALE_CLAIM
    from letters.tasks import requeue_stuck_letters

    later = STALE_CLAIM + timedelta(minutes=1)
    waiting = Letter.objects.filter(
        status=Letter.Status.ISSUED,
        render_status__in=[Letter.RenderStatus.PENDING, Letter.RenderStatus.RENDERING],
    )
    pending = waiting.filter(render_status=Letter.RenderStatus.PENDING).count()
    claimed = waiting.filter(render_status=Letter.RenderStatus.RENDERING).count()
    waiting.update(issued_at=F("issued_at") - later)
    waiting.exclude(render_claimed_at=None).update(render_claimed_at=F("render_claimed_at") - later)
    assert not waiting.filter(issued_at__gt=timezone.now() - later).exists()
    requeue_stuck_letters.delay()  # as beat sends it
    return {"pending": pending, "claimed": claimed}


def check(batch_id: int) -> dict:
    from letters.models import Batch
    from tests.integration.helpers import assert_rendered_once

    batch = Batch.objects.get(pk=batch_id)
    size = len(batch.case_ids)
    media_root = Path(os.environ["PRISTAN_PRIVATE_MEDIA_ROOT"])
    letters = assert_rendered_once(batch, media_root, size)
    attempts = sorted({letter.render_attempts for letter in letters})
    assert attempts == [1], f"render attempts recorded: {attempts}"
    return {"letters": size, "numbers": [letter.number for letter in letters]}


def main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    command, *args = argv
    try:
        if command == "batch":
            result = batch(int(args[0]))
        elif command == "sweep":
            result = sweep()
        elif command == "check":
            result = check(int(args[0]))
        else:
            raise SystemExit(f"unknown command {command!r}")
    except AssertionError as error:
        print(json.dumps({"error": str(error) or repr(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
