"""Model fields that keep client data encrypted at rest (see core.crypto; files: core.storage).

An encrypted field holds ciphertext in the database and plaintext on the model instance. It is
decrypted lazily, on first access, because the associated data binds it to its row (the row's
`crypto_id`), which is only known on the instance. Writing goes through `pre_save`, so a
`QuerySet.update()` with plaintext is refused instead of storing clear text.
"""

import datetime
import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.text import capfirst

from core import crypto

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    # The mixin is only ever combined with a Field (text or date, so of any value type); mypy
    # needs to know that to check the Field attributes and hooks it uses and overrides.
    _FieldBase = models.Field[Any, Any]
    # Django's fields are generic only in the stubs (no runtime `__class_getitem__`).
    _TextField = models.TextField[str | Combinable, str]
    _DateField = models.DateField[str | datetime.date | Combinable, datetime.date]
else:
    _FieldBase = object
    _TextField = models.TextField
    _DateField = models.DateField


class _Encrypted(Protocol):
    """A row with encrypted fields: every model that has one also has a `crypto_id_field()`."""

    crypto_id: uuid.UUID


class _Stored(str):
    """A value as read from the database: still ciphertext."""


class _Descriptor:
    def __init__(self, field: "EncryptedMixin") -> None:
        self.field = field

    def __get__(
        self, instance: models.Model | None, owner: type[models.Model] | None = None
    ) -> object:
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, _Stored):
            value = self.field.decrypt(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: models.Model, value: object) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedMixin(_FieldBase):
    """Stores `encode_plain(value)` encrypted in a text column; empty values stay empty."""

    def get_internal_type(self) -> str:
        return "TextField"

    def contribute_to_class(
        self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _Descriptor(self))

    def context(self, instance: models.Model) -> str:
        crypto_id = cast(_Encrypted, instance).crypto_id
        return f"{self.model._meta.label_lower}.{self.name}:{crypto_id}"

    def encode_plain(self, value: object) -> str:
        return str(value)

    def decode_plain(self, text: str) -> object:
        return text

    def decrypt(self, instance: models.Model, stored: str) -> object:
        if stored == "":
            return self.decode_plain("") if self.null is False else None
        return self.decode_plain(crypto.decrypt_text(stored, context=self.context(instance)))

    def from_db_value(
        self, value: str | None, expression: object, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return _Stored(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> object:
        value = getattr(model_instance, self.attname)
        if value in (None, ""):
            return value
        return crypto.encrypt_text(self.encode_plain(value), context=self.context(model_instance))

    def get_prep_value(self, value: object) -> object:
        if value in (None, "") or isinstance(value, _Stored):
            return value
        if isinstance(value, str) and value.startswith(crypto.PREFIX + ":"):
            return value
        raise ValueError(
            f"{self.model.__name__}.{self.name} is encrypted: write it with save(), "
            "never with update() or a lookup on its content."
        )

    def get_db_prep_value(
        self, value: object, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> object:
        return value if prepared else self.get_prep_value(value)

    def to_python(self, value: object) -> object:
        if isinstance(value, _Stored):
            raise ValueError("ciphertext cannot be converted without its row")
        return super().to_python(value)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else self.encode_plain(value)


class EncryptedTextField(EncryptedMixin, _TextField):
    """Encrypted text; `single_line=True` gives a one-line input in forms."""

    def __init__(self, *args: Any, single_line: bool = False, **kwargs: Any) -> None:
        self.single_line = single_line
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.single_line:
            kwargs["single_line"] = True
        return name, path, args, kwargs

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        if self.single_line:
            kwargs.setdefault("widget", forms.TextInput)
        return super().formfield(**kwargs)


class EncryptedDateField(EncryptedMixin, _DateField):
    """An encrypted date (stored as ISO text); cannot be filtered or ordered on."""

    def encode_plain(self, value: object) -> str:
        return value.isoformat() if isinstance(value, datetime.date) else str(value)

    def decode_plain(self, text: str) -> datetime.date | None:
        return datetime.date.fromisoformat(text) if text else None

    def get_prep_value(self, value: object) -> object:
        return EncryptedMixin.get_prep_value(self, value)

    def get_db_prep_value(
        self, value: object, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> object:
        return EncryptedMixin.get_db_prep_value(self, value, connection, prepared)

    def pre_save(self, model_instance: models.Model, add: bool) -> object:
        return EncryptedMixin.pre_save(self, model_instance, add)


def crypto_id_field() -> "models.UUIDField[str | uuid.UUID, uuid.UUID]":
    """The per-row identity that ciphertext is bound to (never changes, never reused)."""
    return models.UUIDField(default=uuid.uuid4, editable=False, unique=True)


class EncryptedChoiceListField(EncryptedMixin, _TextField):
    """A set of codes from a fixed list (`item_choices`), stored encrypted as one JSON list: a
    dump shows neither which codes a row has nor how many. The value is a list of codes in the
    order of `item_choices`; empty is []. It cannot be filtered on.

    Not `choices=`: Django would check the whole list against the choices, and a plain
    ManyToMany or choices column would reveal the codes in clear."""

    def __init__(self, *args: Any, item_choices: Sequence[tuple[str, Any]] = (), **kwargs: Any):
        self.item_choices = list(item_choices)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    # `item_choices` stays out of deconstruct(): the list lives in the code, and changing a
    # label needs no migration.

    def _ordered(self, codes: object) -> list[str]:
        chosen = {str(code) for code in cast(Sequence[object], codes or [])}
        return [code for code, _label in self.item_choices if code in chosen]

    def encode_plain(self, value: object) -> str:
        return json.dumps(self._ordered(value))

    def decode_plain(self, text: str) -> list[str]:
        return self._ordered(json.loads(text)) if text else []

    def pre_save(self, model_instance: models.Model, add: bool) -> object:
        value = getattr(model_instance, self.attname)
        if not value:
            return ""
        return crypto.encrypt_text(self.encode_plain(value), context=self.context(model_instance))

    def get_prep_value(self, value: object) -> object:
        # An empty set is stored as "" (a new column's default too); any other list must
        # have gone through pre_save, which encrypts it.
        return (
            "" if isinstance(value, list | tuple) and not value else super().get_prep_value(value)
        )

    def to_python(self, value: object) -> list[str]:
        if isinstance(value, _Stored):
            raise ValueError("ciphertext cannot be converted without its row")
        if value in (None, ""):
            return []
        if isinstance(value, str):
            return self.decode_plain(value)
        return [str(code) for code in cast(Sequence[object], value)]

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        known = {code for code, _label in self.item_choices}
        for code in value or []:
            if code not in known:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": code},
                )
        if not value and not self.blank:
            raise ValidationError(self.error_messages["blank"], code="blank")

    def labels(self, value: object) -> list[str]:
        """The labels of the codes in `value`, in the list's order."""
        names = dict(self.item_choices)
        return [str(names[code]) for code in self._ordered(value)]

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        defaults: dict[str, Any] = {
            "required": not self.blank,
            "label": capfirst(self.verbose_name),
            "help_text": self.help_text,
            "choices": self.item_choices,
            "widget": forms.CheckboxSelectMultiple,
        }
        defaults.update(kwargs)
        for unused in ("max_length", "form_class", "choices_form_class"):
            defaults.pop(unused, None)
        # Django admin offers every TextField its textarea: a list needs a list's widget.
        if not getattr(defaults["widget"], "allow_multiple_selected", False):
            defaults["widget"] = forms.CheckboxSelectMultiple
        return forms.MultipleChoiceField(**defaults)
