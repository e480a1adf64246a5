"""Pristan settings: one module; whatever differs between machines comes from the environment.

With no environment at all this is the embedded mode: SQLite under var/ and Celery on kombu's
filesystem transport, so a laptop runs the whole product without servers. DATABASE_URL and
CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

import contextlib
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from core.net import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent


class _SecretFiles(environ.FileAwareMapping):
    """The environment, where NAME_FILE (a file, e.g. a compose secret under /run/secrets)
    stands for NAME, so that secrets never sit in `docker inspect` or a process's environment.
    The file's final newline is not part of the value (`echo secret > file` writes one)."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key).rstrip("\r\n")


env = environ.Env()
env.ENVIRON = _SecretFiles()
# `make run` writes a .env (a generated secret key, debug on) for the embedded mode; production
# sets real environment variables instead, which take precedence.
if not env.bool("PRISTAN_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The scheduler (Celery beat) only puts task names on the queue at set times: it reads no client
# data, so docker-compose.yml gives it no keys and no database, and this role lets it start
# without them. Every other process (web, worker, manage.py) refuses to start without them, and
# config.wsgi and config.celery refuse to serve or work under this role.
PRISTAN_ROLE = env.str("PRISTAN_ROLE", default="")
_SCHEDULER = PRISTAN_ROLE == "scheduler"
if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-only-for-debug")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if _SCHEDULER else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges): the client's
# address, for the access log, every rate limit and django-axes, is core.net.client_ip(). Empty:
# nobody is trusted and REMOTE_ADDR is the client (loopback included).
PRISTAN_TRUSTED_PROXIES = env.list("PRISTAN_TRUSTED_PROXIES", default=[])
try:
    parse_networks(PRISTAN_TRUSTED_PROXIES)
except ValueError as error:
    raise ImproperlyConfigured(f"PRISTAN_TRUSTED_PROXIES: {error}") from None

VAR_DIR = Path(env.str("PRISTAN_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _private_dir(path: Path) -> None:
    """Mode 0700, also for a folder an older version made 0755 (unless someone else owns it)."""
    with contextlib.suppress(PermissionError):
        path.chmod(0o700)


def _private_sqlite_file(path: Path) -> None:
    """The SQLite database made empty with mode 0600 before SQLite first opens it: SQLite gives
    its -wal and -shm files the database's mode, whatever the umask. Files an older version
    made 0644 are tightened."""
    if not path.parent.is_dir():  # ":memory:", or a folder still to be made
        return
    path.touch(mode=0o600, exist_ok=True)
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            file.chmod(0o600)


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "django_filters",
    "django_htmx",
    # django-otp's framework only: the devices are accounts.TOTPDevice and RecoveryCodeDevice,
    # which keep the seed encrypted and the codes hashed (its otp_totp and otp_static do not).
    "django_otp",
    "axes",
    # Dependencies run one way: core (a plain package) <- casework <- accounts, letters
    # <- privacy, reports, ops, demo (README, "Where things live").
    "accounts",
    "casework",
    "letters",
    "privacy",
    "reports",
    "ops",
    "demo",
]

MIDDLEWARE = [
    "core.middleware.PermissionsPolicyMiddleware",  # outermost: on every response
    "config.health.HealthCheckMiddleware",  # /health/, before host and HTTPS checks
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",  # before anything reads the body
    "core.middleware.NoStoreForAuthenticatedMiddleware",
    "casework.middleware.AccessDeniedLogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "casework.context_processors.membership",
                "letters.context_processors.review_queue",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default; IMMEDIATE transactions so that two writers queue
# instead of failing with "database is locked" half-way through a transaction.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pristan.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not _SCHEDULER:
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # The embedded mode keeps everything under var/: the database (ciphertext, but also who
    # worked on which case and when), the queue, the encrypted files. Only this user may read it.
    _private_dir(VAR_DIR)
    _private_sqlite_file(Path(DATABASES["default"]["NAME"]))
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # An unreachable server fails a request (and /health/) in seconds, not after TCP's minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
if _SCHEDULER:
    # Beat reads and writes nothing; any query is an error ("settings.DATABASES is improperly
    # configured"), not an empty SQLite file on a read-only disk.
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every process and replica: rate limits count there (core.ratelimit), so
# they hold however many gunicorn workers answer. CACHE_URL in production, e.g.
# redis://redis:6379/1 (another database than the broker's); without it the database keeps
# the cache in its own table, which `manage.py migrate` creates (accounts.apps).
CACHE_URL = env.str("CACHE_URL", default="")  # empty (compose passes it so) is unset
CACHES = {"default": env.cache_url_config(CACHE_URL or "dbcache://pristan_cache")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis that does not answer costs a request a second or two, not TCP's minutes.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", 2)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 2)

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "casework:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Accounts: password, then a TOTP or recovery code, for every account (accounts.views); nothing
# switches the second factor off. django-axes locks a username out after 5 failures (wrong
# passwords and wrong codes alike) for 30 minutes, whether or not the username exists.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.AccountBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the address as a lockout key too. Deliberately not: behind one NAT (an
# office, a shelter) five typos would lock every colleague out, and the second factor already
# makes password spraying from one address useless.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # casework.audit keeps the access log
AXES_ENABLE_ADMIN = False  # not scoped to an organisation; the user admin's "Unlock" resets
AXES_VERBOSE = False  # its log lines name the username
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"  # a keyed hash, never the name
AXES_SENSITIVE_PARAMETERS = ["password", "code", "username"]
AXES_CLIENT_IP_CALLABLE = "core.net.client_ip"  # PRISTAN_TRUSTED_PROXIES, as everywhere
OTP_TOTP_ISSUER = "Pristan"
# Idle timeout: 30 minutes without a request that a person made (polling does not count).
# The idle clock is kept in the session and moved, with the session saved, at most once a
# minute; absolute lifetime: 12 hours after the login, whatever happens (accounts.middleware).
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False
PRISTAN_SESSION_MAX_AGE = 12 * 60 * 60
# With a cache server (CACHE_URL), sessions are read from it and written through to the
# database; accounts.sessions keeps them working from the database alone when it is down.
SESSION_ENGINE = "accounts.sessions" if CACHE_URL else "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # __Host- cookies: Secure, Path=/, no Domain, so no subdomain can set or read them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# Internationalisation: Russian and English, every user-visible string translatable.
LANGUAGE_CODE = "en"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
# Languages a letter can be written in (the UI itself is Russian and English).
LETTER_LANGUAGES = [("ru", "Русский"), ("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
FORMAT_MODULE_PATH = ["config.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("PRISTAN_TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Uploaded case documents live outside the web root and are only ever served by an
# access-checked view; there is deliberately no MEDIA_URL route for them.
PRIVATE_MEDIA_ROOT = Path(env.str("PRISTAN_PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
# Files are encrypted wherever they live (core.fields). PRISTAN_STORAGE=s3 keeps them in an
# S3-compatible bucket instead of a local folder, so that web and worker hosts share them.
if env.str("PRISTAN_STORAGE", default="filesystem") == "s3":
    _s3_options = {
        "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
        "location": env.str("AWS_LOCATION", default=""),  # a prefix inside the bucket
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
        # Empty for stores that reject ACL headers; the bucket itself must be private anyway.
        "default_acl": env.str("AWS_DEFAULT_ACL", default="private") or None,
        # e.g. AES256 or aws:kms, on top of Pristan's own encryption.
        "object_parameters": (
            {"ServerSideEncryption": env.str("AWS_S3_SERVER_SIDE_ENCRYPTION")}
            if env.str("AWS_S3_SERVER_SIDE_ENCRYPTION", default="")
            else {}
        ),
    }
    # Without keys, boto3's own chain applies (an instance role, ~/.aws/credentials).
    if env.str("AWS_ACCESS_KEY_ID", default=""):
        _s3_options["access_key"] = env.str("AWS_ACCESS_KEY_ID")
        _s3_options["secret_key"] = env.str("AWS_SECRET_ACCESS_KEY")
    _default_storage = {"BACKEND": "core.storage_s3.EncryptedS3Storage", "OPTIONS": _s3_options}
else:
    _default_storage = {
        "BACKEND": "core.storage.EncryptedFileSystemStorage",
        # Readable by the application's user only (Django's default for files is 0644).
        "OPTIONS": {
            "location": PRIVATE_MEDIA_ROOT,
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
# Encryption at rest (core.crypto): base64 32-byte keys, newest first; never SECRET_KEY.
# `python manage.py generate_keys` prints new ones. There is no way to run without them.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
SEARCH_INDEX_KEY = env.str("SEARCH_INDEX_KEY", default="")
if not _SCHEDULER and (not FIELD_ENCRYPTION_KEYS or not SEARCH_INDEX_KEY):
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY must be set (see README, Security model); "
        "`make run` writes development keys to .env."
    )
# Backups (ops.backup, manage.py backup/restore): base64 32-byte keys, newest first, apart
# from the field keys; only the backup and restore commands need them.
BACKUP_KEY = env.list("BACKUP_KEY", default=[])
# The access log's HMAC keys (casework.audit): base64 32-byte keys, newest first; keep every key
# that signed entries. Unset, a key derived from SEARCH_INDEX_KEY signs (README, Security model).
ACCESS_LOG_KEY = env.list("ACCESS_LOG_KEY", default=[])
# Requests append the log's entries without a lock; a sealer chains them (casework.audit):
# every ACCESS_LOG_SEAL_SECONDS in the beat schedule, and on demand before anchors, backups and
# verify_access_log. With SQLite (one writer at a time anyway) each append is sealed at once.
# An entry id still missing ACCESS_LOG_SEAL_GRACE seconds after a later one was appended is
# sealed as missing; verify_access_log raises the alarm over entries left unsealed for
# ACCESS_LOG_SEAL_ALARM seconds (the sealer is not running).
# PostgreSQL: an append made outside a transaction does not wait for its commit to reach the
# disk (docs/deployment.md, "Access log": faster, at the risk of losing the last fraction of a
# second of entries in a database crash).
ACCESS_LOG_ASYNC_COMMIT = env.bool("ACCESS_LOG_ASYNC_COMMIT", default=False)
ACCESS_LOG_SEAL_INLINE = env.bool(
    "ACCESS_LOG_SEAL_INLINE", default=DATABASES["default"]["ENGINE"].endswith("sqlite3")
)
ACCESS_LOG_SEAL_SECONDS = env.int("ACCESS_LOG_SEAL_SECONDS", default=5)
ACCESS_LOG_SEAL_GRACE = env.int("ACCESS_LOG_SEAL_GRACE", default=60)
ACCESS_LOG_SEAL_ALARM = env.int("ACCESS_LOG_SEAL_ALARM", default=10 * 60)
DOCUMENT_MAX_BYTES = env.int("PRISTAN_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
# A request body larger than a document and its form is refused from its Content-Length,
# before a byte of it is read (core.middleware.RequestSizeLimitMiddleware); the reverse proxy
# should refuse it too (docs/deployment.md). Form fields alone: 2.5 MiB.
PRISTAN_REQUEST_MAX_BYTES = DOCUMENT_MAX_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Every upload that passes that limit stays in memory: a scan spilled to a temporary file would
# sit in clear on the server's disk until its blocks are reused.
FILE_UPLOAD_MAX_MEMORY_SIZE = PRISTAN_REQUEST_MAX_BYTES

# Importing a client sheet (casework.import_views): the largest upload, the most rows of data,
# and how far an XLSX or ODS (a zip) may unpack before it is refused as a zip bomb. An upload
# nobody imports is deleted after PRISTAN_IMPORT_KEEP_HOURS (casework.tasks.delete_stale_imports).
IMPORT_MAX_BYTES = env.int("PRISTAN_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("PRISTAN_IMPORT_MAX_ROWS", default=5000)
IMPORT_MAX_UNZIPPED_BYTES = env.int("PRISTAN_IMPORT_MAX_UNZIPPED_BYTES", default=50_000_000)
PRISTAN_IMPORT_KEEP_HOURS = env.int("PRISTAN_IMPORT_KEEP_HOURS", default=24)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security headers. Django's own CSP: no inline script, no third-party origin.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Celery: tasks take ids only; a letter is acknowledged only when it is rendered, and a worker
# process that dies puts its task back on the queue instead of losing it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _processed_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        # The default of one second caps the embedded mode at a few letters per second.
        "polling_interval": 0.1,
        "store_processed": False,
    }
else:
    # Redis redelivers the unacknowledged task of a dead worker after this many seconds; the
    # longest task (preparing a batch of 2,000 letters) takes about a minute.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
        # A Redis that does not answer must not hold a request (issuing a letter) for long.
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
CELERY_TASK_ACKS_LATE = True
# Sending a task while the broker is down gives up after about a second: what was being sent
# is committed in the database already, and the requeue sweep sends it again later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the database connection around every task unless told to keep it: a new
# PostgreSQL connection per letter. Kept instead, as for web requests (CONN_MAX_AGE, health checks);
# letters/tasks.py closes a failed or old one around each task as Django does around a request.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Daily jobs run at fixed local hours (TIME_ZONE), not "24 hours after beat started": a
# restarted scheduler neither moves them nor skips a day (beat's schedule file, on a volume in
# docker-compose.yml, remembers the last run and catches up a missed one). Each daily job runs at
# most once per day whatever sends it (casework.services.daily_run_claim), so a second beat or a
# caught-up run sends no second digest.
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-letters": {
        "task": "letters.tasks.requeue_stuck_letters",
        "schedule": 60,
    },
    "erase-expired-cases": {
        "task": "casework.tasks.erase_expired_cases",
        "schedule": crontab(hour=3, minute=30),
    },
    "deadline-reminders": {
        "task": "casework.tasks.send_deadline_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    # The newest hash of each access-log chain, out of the database's reach (casework.audit).
    "seal-access-log": {
        "task": "casework.tasks.seal_access_log",
        "schedule": ACCESS_LOG_SEAL_SECONDS,
        "options": {"expires": ACCESS_LOG_SEAL_SECONDS},  # a busy worker skips, never queues up
    },
    "anchor-access-log": {
        "task": "casework.tasks.log_access_log_anchors",
        "schedule": 5 * 60,
    },
    "email-access-log-anchors": {
        "task": "casework.tasks.send_access_log_anchors",
        "schedule": crontab(hour=6, minute=45),
    },
    "delete-stale-imports": {
        "task": "casework.tasks.delete_stale_imports",
        "schedule": 60 * 60,
    },
    # Access already ends at the end date (visible_to); this marks and notifies.
    "expire-referrals": {
        "task": "casework.tasks.expire_referrals",
        "schedule": 60 * 60,
    },
}

# Email (Django 6.1 mailers). DJANGO_EMAIL_BACKEND is "smtp" (the default in production),
# "console" (the default with DJANGO_DEBUG=1: printed by the worker), "file", "locmem" or a
# dotted backend path.
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = env.str("DJANGO_EMAIL_BACKEND", default="console" if DEBUG else "smtp")
_email_backend = _EMAIL_BACKENDS.get(_email_backend, _email_backend)
_email_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env.str("DJANGO_EMAIL_HOST", default="localhost"),
        "port": env.int("DJANGO_EMAIL_PORT", default=587),
        "username": env.str("DJANGO_EMAIL_USER", default=""),
        "password": env.str("DJANGO_EMAIL_PASSWORD", default=""),
        "use_tls": env.bool("DJANGO_EMAIL_USE_TLS", default=True),
        "timeout": 20,
    }
elif _email_backend.endswith("filebased.EmailBackend"):
    _email_options = {"file_path": env.str("DJANGO_EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="pristan@localhost")

LOGGING: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # WeasyPrint logs every rendering step at INFO, and warnings that may quote content.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
        # django-axes names usernames in its INFO and WARNING lines.
        "axes": {"level": "ERROR"},
        "pristan.audit": {"level": "INFO"},
    },
}
# The access log's anchor lines also go to a syslog server, e.g. /dev/log or logs.example.org:514
# (UDP): a copy the application's own host cannot take back.
_anchor_syslog = env.str("PRISTAN_ANCHOR_SYSLOG", default="")
if _anchor_syslog:
    _host, _, _port = _anchor_syslog.rpartition(":")
    LOGGING["handlers"]["anchor_syslog"] = {
        "class": "logging.handlers.SysLogHandler",
        "address": (_host, int(_port)) if _host and _port.isdigit() else _anchor_syslog,
    }
    LOGGING["loggers"]["pristan.audit"]["handlers"] = ["anchor_syslog"]  # and the console (root)

# Retention: a closed case is kept this many days after closing (its "keep until" date), then
# the daily job casework.tasks.erase_expired_cases erases it, and its client once every case of
# theirs is erased (privacy.erasure). Re-opening a case clears the date.
PRISTAN_RETENTION_DAYS = env.int("PRISTAN_RETENTION_DAYS", default=5 * 365)

# Letters.
# Whoever wrote or last edited a letter's text cannot approve it; approval holds for the text
# the reviewer saw (its hash), and a letter whose text changed since cannot be issued.
LETTERS_TWO_PERSON_RULE = env.bool("PRISTAN_LETTERS_TWO_PERSON_RULE", default=True)
# A batch that fills one template over many cases waits for a second coordinator's (or an
# administrator's) approval before its letters are drafted, numbered and rendered; whoever
# started it cannot approve it. Off: the batch is prepared at once, as its starter's approval.
LETTERS_BATCH_TWO_PERSON_RULE = env.bool("PRISTAN_LETTERS_BATCH_TWO_PERSON_RULE", default=True)
# The address printed on letters (QR code and short URL of the verification page). It is on
# paper: it must keep working for as long as the letters exist.
PRISTAN_PUBLIC_URL = env.str("PRISTAN_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
