"""Model fields that keep client data encrypted at rest (see core.crypto; files: core.storage).

An encrypted field holds ciphertext in the database and plaintext on the model instance. It is
decrypted lazily, on first access, because the associated data binds it to its row (the row's
`crypto_id`), which is only known on the instance. Writing goes through `pre_save`, so a
`QuerySet.update()` with plaintext is refused instead of storing clear text.
"""

import datetime
import uuid

from django import forms
from django.db import models

from core import crypto


class _Stored(str):
    """A value as read from the database: still ciphertext."""


class _Descriptor:
    def __init__(self, field: "EncryptedMixin"):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, _Stored):
            value = self.field.decrypt(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedMixin:
    """Stores `encode_plain(value)` encrypted in a text column; empty values stay empty."""

    def get_internal_type(self):
        return "TextField"

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _Descriptor(self))

    def context(self, instance) -> str:
        return f"{self.model._meta.label_lower}.{self.name}:{instance.crypto_id}"

    def encode_plain(self, value) -> str:
        return str(value)

    def decode_plain(self, text: str):
        return text

    def decrypt(self, instance, stored: str):
        if stored == "":
            return self.decode_plain("") if self.null is False else None
        return self.decode_plain(crypto.decrypt_text(stored, context=self.context(instance)))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return _Stored(value)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value in (None, ""):
            return value
        return crypto.encrypt_text(self.encode_plain(value), context=self.context(model_instance))

    def get_prep_value(self, value):
        if value in (None, "") or isinstance(value, _Stored):
            return value
        if isinstance(value, str) and value.startswith(crypto.PREFIX + ":"):
            return value
        raise ValueError(
            f"{self.model.__name__}.{self.name} is encrypted: write it with save(), "
            "never with update() or a lookup on its content."
        )

    def get_db_prep_value(self, value, connection, prepared=False):
        return value if prepared else self.get_prep_value(value)

    def to_python(self, value):
        if isinstance(value, _Stored):
            raise ValueError("ciphertext cannot be converted without its row")
        return super().to_python(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else self.encode_plain(value)


class EncryptedTextField(EncryptedMixin, models.TextField):
    """Encrypted text; `single_line=True` gives a one-line input in forms."""

    def __init__(self, *args, single_line: bool = False, **kwargs):
        self.single_line = single_line
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.single_line:
            kwargs["single_line"] = True
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        if self.single_line:
            kwargs.setdefault("widget", forms.TextInput)
        return super().formfield(**kwargs)


class EncryptedDateField(EncryptedMixin, models.DateField):
    """An encrypted date (stored as ISO text); cannot be filtered or ordered on."""

    def encode_plain(self, value) -> str:
        return value.isoformat() if isinstance(value, datetime.date) else str(value)

    def decode_plain(self, text: str):
        return datetime.date.fromisoformat(text) if text else None

    def get_prep_value(self, value):
        return EncryptedMixin.get_prep_value(self, value)

    def get_db_prep_value(self, value, connection, prepared=False):
        return EncryptedMixin.get_db_prep_value(self, value, connection, prepared)

    def pre_save(self, model_instance, add):
        return EncryptedMixin.pre_save(self, model_instance, add)


def crypto_id_field():
    """The per-row identity that ciphertext is bound to (never changes, never reused)."""
    return models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
