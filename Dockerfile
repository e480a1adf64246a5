# Pristan production image: gunicorn (web), Celery worker and Celery beat all run from it.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PRISTAN_VAR_DIR=/app/var \
    PRISTAN_PRIVATE_MEDIA_ROOT=/data/private

# WeasyPrint's system libraries, the fonts the print CSS names, gettext for compilemessages, and
# pg_dump/psql for `manage.py backup`/`restore` (bookworm's 15, the version of the postgres image).
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

# Compile translations (if there are any yet) and collect static files into the image. The secret
# key here is a throwaway that exists only for this build step; the real one comes at run time.
RUN if find . -name '*.po' -print -quit | grep -q .; then \
        DJANGO_SECRET_KEY=build-only-throwaway-key-not-used-at-runtime-0123456789abcdef \
        env $(python scripts/generate-keys.py) python manage.py compilemessages --verbosity 0; \
    fi
# (Throwaway encryption keys too: settings refuse to load without keys, and nothing is encrypted
# at build time.)
RUN DJANGO_SECRET_KEY=build-only-throwaway-key-not-used-at-runtime-0123456789abcdef \
    env $(python scripts/generate-keys.py) python manage.py collectstatic --noinput --verbosity 0

RUN mkdir -p /app/var /data/private \
    && chown -R pristan:pristan /app/var /data/private \
    && chmod 0700 /data/private

USER pristan
EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]
