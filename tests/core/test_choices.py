"""The O(1) choice labels give what Django's get_FOO_display gives, in every language."""

import pytest
from django.apps import apps
from django.db.models import Model
from django.utils import translation

from casework.models import Case, Ground
from core.choices import FastChoiceDisplay, choice_labels

FAST_MODELS = [m for m in apps.get_models() if issubclass(m, FastChoiceDisplay)]


def test_the_case_pages_models_use_the_fast_lookup():
    names = {m.__name__ for m in FAST_MODELS}
    assert {"Case", "Ground", "Event", "Letter", "Membership", "CaseLogEntry"} <= names


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("model", FAST_MODELS, ids=lambda m: m.__name__)
def test_labels_are_djangos_for_every_value_and_language(model, language):
    for field in model._meta.concrete_fields:
        if not isinstance(field.choices, list):
            continue  # (countries: Django's own lookup)
        obj = model()
        with translation.override(language):
            for value, _label in list(field.flatchoices) + [("no-such-value", "")]:
                setattr(obj, field.attname, value)
                fast = getattr(obj, f"get_{field.name}_display")()
                django = Model._get_FIELD_display(obj, field)
                assert fast == django, (model, field.name, value)
                assert type(fast) is type(django)


def test_a_label_follows_the_active_language():
    case = Case(status=Case.Status.ACTIVE)
    with translation.override("en"):
        assert case.get_status_display() == "Active"
    with translation.override("ru"):
        assert case.get_status_display() == "В работе"
    with translation.override("en"):
        assert str(Ground(code=Ground.Code.RELIGION)) == "Religion"


def test_labels_are_translated_once_per_language(monkeypatch):
    field = Case._meta.get_field("risk")
    with translation.override("ru"):
        labels = choice_labels(field)
        assert choice_labels(field) is labels
    with translation.override("en"):
        assert choice_labels(field) is not labels
