import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The scheduler's role lets settings load without the field keys (config/settings.py): a web
# server started under it would serve pages that fail on the first encrypted field.
if settings.PRISTAN_ROLE == "scheduler":
    raise ImproperlyConfigured("PRISTAN_ROLE=scheduler is for Celery beat only, not for web.")
