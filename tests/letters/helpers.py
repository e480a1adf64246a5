"""Constants shared by the letters tests (URLs: reversed when imported, so kept out of the
modules that conftest.py files import)."""

from django.urls import reverse

from casework.models import Authority
from letters.models import LetterTemplate

BATCH_NEW = reverse("letters:batch_new")
FILTERS = "?status=active"


def fitting_authority(template: LetterTemplate) -> Authority:
    """The addressee a default template is written for (any one that fits it)."""
    return next(a for a in Authority.objects.order_by("code") if template.fits(a))
