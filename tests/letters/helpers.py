"""Constants shared by the letters tests (URLs: reversed when imported, so kept out of the
modules that conftest.py files import)."""

from django.urls import reverse

BATCH_NEW = reverse("letters:batch_new")
FILTERS = "?status=active"
