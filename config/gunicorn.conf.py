"""gunicorn settings (the image's command and bench/load.py pass --config config/gunicorn.conf.py;
the command line sets the rest)."""

import gc


def post_worker_init(worker) -> None:
    """Freeze what start-up made (Django, the apps, the URLconf) out of the garbage collector's
    sight: each full collection would otherwise walk those objects again, about 9 ms of a case
    list's request in the profiles. Objects made by requests are collected as before."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (loads every view module before the freeze)
    gc.freeze()
