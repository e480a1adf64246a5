# Pristan production image: gunicorn (web), Celery worker and Celery beat all run from it.
FROM python:3.12-slim-bookworm

# (DL3064 takes "PRIVATE" in PRISTAN_PRIVATE_MEDIA_ROOT, a folder name, for a secret.)
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PRISTAN_VAR_DIR=/app/var \
    PRISTAN_PRIVATE_MEDIA_ROOT=/data/private \
    PRISTAN_IGNORE_DOTENV=1 \
    XDG_CACHE_HOME=/tmp/cache \
    WEB_CONCURRENCY=3

# WeasyPrint's system libraries, the fonts the print CSS names, gettext for compilemessages, and
# pg_dump/psql for `manage.py backup`/`restore` (bookworm's 15, the version of the postgres image).
# Not pinned (DL3008): each rebuild must pick up bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 pristan \
    && useradd --system --uid 10001 --gid pristan --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin pristan

WORKDIR /app

# Dependencies first, in their own layer, from the lock file (every package pinned with its
# hashes), so this layer is rebuilt only when the lock changes. The code is run from /app, not
# installed (a wheel would not carry migrations, templates, static files or translations).
COPY requirements/base.lock requirements/base.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/base.lock
ENV PYTHONPATH=/app

COPY . .

# Compile translations (if there are any yet) and collect static files into the image, where
# they stay: the containers run with a read-only root. The secret key and encryption keys here
# are throwaways that exist only for this step (settings refuse to load without keys, and
# nothing is encrypted at build time); the real ones come at run time as compose secrets.
RUN export DJANGO_SECRET_KEY=build-only-throwaway-key-not-used-at-runtime-0123456789abcdef \
    && set -a && eval "$(python scripts/generate-keys.py)" && set +a \
    && if [ -n "$(find . -name '*.po' -print -quit)" ]; then \
        python manage.py compilemessages --verbosity 0; \
    fi \
    && python manage.py collectstatic --noinput --verbosity 0

# Writable at run time, everything else read-only (compose: read_only with a tmpfs on /tmp):
# the private files (a volume) and the beat schedule (a volume, so that a recreated scheduler
# remembers when each job last ran). Docker copies this ownership into new named volumes.
RUN mkdir -p /app/var /data/private /var/lib/pristan \
    && chown -R 10001:10001 /app/var /data/private /var/lib/pristan \
    && chmod 0700 /data/private /var/lib/pristan

USER 10001:10001
EXPOSE 8000

# The web service. Workers: WEB_CONCURRENCY (gunicorn reads it). Each worker is replaced after
# about 1,000 requests (jitter: not all at once), so a slow leak cannot grow for ever; a request
# silent for 60 s is killed (letters render in the Celery worker, not here). The heartbeat file
# and the control socket go to memory-backed, writable places: the root file system is read-only
# and /app (the user's home, gunicorn's default for its socket) belongs to root. No access log
# here: the proxy (Caddy) keeps one without tokens or query strings (deploy/Caddyfile).
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.conf.py", \
     "--bind", "0.0.0.0:8000", \
     "--max-requests", "1000", "--max-requests-jitter", "100", \
     "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5", \
     "--worker-tmp-dir", "/dev/shm", "--control-socket", "/tmp/gunicorn.ctl"]
