"""gunicorn's settings file: the image uses it, and each worker freezes its start-up objects."""

import gc
import runpy
from pathlib import Path

from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "config" / "gunicorn.conf.py"


def test_the_images_command_reads_the_settings_file():
    dockerfile = (Path(settings.BASE_DIR) / "Dockerfile").read_text()
    assert '"--config", "config/gunicorn.conf.py"' in dockerfile


def test_a_worker_freezes_what_start_up_made(monkeypatch):
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    hooks = runpy.run_path(str(CONFIG))
    hooks["post_worker_init"](worker=None)
    assert frozen == [True]
