"""The user guide ("Help" in the menu): one page per interface language.

The two guides are written directly in their language (templates/guide/guide_ru.html and
guide_en.html), not through gettext: a guide is prose that is written, not a list of strings to
translate. The page shows no case data, so it records nothing in the access log; like every page
that is not listed in config.urls.PUBLIC_URL_NAMES, it needs a logged-in, verified user.
"""

from django.shortcuts import render
from django.utils.translation import get_language

GUIDES = {"ru": "guide/guide_ru.html", "en": "guide/guide_en.html"}
DEFAULT = "en"


def guide(request):
    language = (get_language() or DEFAULT).split("-")[0].lower()
    return render(request, GUIDES.get(language, GUIDES[DEFAULT]))
