"""Test settings: the real settings with a fast password hasher (hashing costs ~2 s here),
runtime files under var/test/, and Celery tasks run eagerly unless a test starts a real worker
(tests/integration does, and switches eager mode off for itself)."""

import os
from pathlib import Path

# A developer's .env (debug on) must not make local test runs differ from CI.
os.environ["PRISTAN_IGNORE_DOTENV"] = "1"
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# Fixed test keys (never used anywhere else).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=")
os.environ.setdefault("SEARCH_INDEX_KEY", "test-search-index-key")
os.environ.setdefault("ACCESS_LOG_KEY", "dGVzdC1hY2Nlc3MtbG9nLWtleS0wMDAwMDAwMDAwMDA=")
os.environ.setdefault("BACKUP_KEY", "dGVzdC1iYWNrdXAta2V5LTAwMDAwMDAwMDAwMDAwMDA=")
# Tests seal the access log when they mean to, and need no grace before an absent id counts
# as missing (tests/casework/test_access_log_chain.py sets one where it matters).
os.environ.setdefault("ACCESS_LOG_SEAL_GRACE", "0")
os.environ.setdefault(
    "PRISTAN_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test")
)

from config.settings import *  # noqa: E402, F403
from config.settings import env  # noqa: E402

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns otherwise)
