"""Choice labels looked up in O(1).

Django's `get_FOO_display()` builds `dict(make_hashable(field.flatchoices))` on every call, which
translates every label of the field each time: a case list of 25 rows made ~900 gettext calls
for its statuses, kinds and risks. Here the labels of a field are translated once per language
and kept for the life of the process (the choices of a model field are fixed in code, and so
are their translations until the next deploy)."""

from collections.abc import Hashable
from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language

_labels: dict[tuple[int, str | None], dict[Hashable, Any]] = {}


def choice_labels(field: "models.Field[Any, Any]") -> dict[Hashable, Any]:
    """{value: label} of a model field with fixed choices, in the active language."""
    key = (id(field), get_language())
    labels = _labels.get(key)
    if labels is None:
        labels = {
            make_hashable(value): force_str(label, strings_only=True)
            for value, label in field.flatchoices
        }
        _labels[key] = labels
    return labels


class FastChoiceDisplay:
    """Mixin for models: `get_FOO_display()` through `choice_labels`, with Django's result.

    Put it before `models.Model` in the bases. Fields whose choices are not a fixed list
    (django-countries' CountryField, whose list depends on settings) keep Django's lookup."""

    def _get_FIELD_display(self, field: "models.Field[Any, Any]") -> Any:
        if not isinstance(field.choices, list | tuple):
            return super()._get_FIELD_display(field)  # type: ignore[misc]
        value = getattr(self, field.attname)
        return choice_labels(field).get(make_hashable(value), value)
