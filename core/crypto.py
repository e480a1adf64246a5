"""Encryption at rest: AES-256-GCM with keys from the environment, never from the database.

`FIELD_ENCRYPTION_KEYS` holds one or more base64 keys of 32 bytes, separated by commas; the
first encrypts, all of them decrypt (rotation: put the new key first, run
`manage.py rotate_keys`, then remove the old one). Every ciphertext names the key it was made
with and is bound, through GCM's associated data, to the place it belongs to (model, field and
row for a field; the file name for a file): pasted anywhere else it does not decrypt.

A wrong or missing key is an error (`DecryptionError`), never ciphertext shown as text.

`SEARCH_INDEX_KEY` (separate, also from the environment) keys the HMACs of the blind index
that lets names be searched without storing them in clear.
"""

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "pv1"
FILE_MAGIC = b"PRISTAN-ENC1\n"


class DecryptionError(Exception):
    """Data that cannot be decrypted with the configured keys: wrong key, tampered or moved."""


def generate_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"pristan-key-id" + key).hexdigest()[:8]


@cache
def _keys() -> tuple[tuple[str, AESGCM], ...]:
    raw = settings.FIELD_ENCRYPTION_KEYS
    if not raw:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set: Pristan does not store client data unencrypted."
        )
    keys = []
    for item in raw:
        try:
            key = base64.b64decode(item.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS: a key is not valid base64."
            ) from None
        if len(key) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: every key must be 32 bytes.")
        keys.append((_key_id(key), AESGCM(key)))
    return tuple(keys)


def reset_keys() -> None:
    """Forget the cached keys (tests that change the setting, rotation)."""
    _keys.cache_clear()
    _index_key.cache_clear()


def current_key_id() -> str:
    return _keys()[0][0]


def _aesgcm(key_id: str) -> AESGCM:
    for kid, aes in _keys():
        if kid == key_id:
            return aes
    raise DecryptionError(f"no configured key has the id {key_id}")


def encrypt_bytes(data: bytes, *, context: str) -> bytes:
    kid, aes = _keys()[0]
    nonce = os.urandom(12)
    return kid.encode() + nonce + aes.encrypt(nonce, data, context.encode())


def decrypt_bytes(blob: bytes, *, context: str) -> bytes:
    kid, nonce, ciphertext = blob[:8].decode("ascii", "replace"), blob[8:20], blob[20:]
    try:
        return _aesgcm(kid).decrypt(nonce, ciphertext, context.encode())
    except InvalidTag:
        raise DecryptionError(
            "the data does not decrypt: wrong key, or it was altered or moved"
        ) from None


def encrypt_text(text: str, *, context: str) -> str:
    blob = encrypt_bytes(text.encode(), context=context)
    return f"{PREFIX}:{base64.b64encode(blob).decode()}"


def decrypt_text(value: str, *, context: str) -> str:
    if not value.startswith(PREFIX + ":"):
        raise DecryptionError("the stored value is not Pristan ciphertext")
    try:
        blob = base64.b64decode(value[len(PREFIX) + 1 :], validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("the stored value is damaged") from None
    return decrypt_bytes(blob, context=context).decode()


def key_id_of_text(value: str) -> str | None:
    if not value.startswith(PREFIX + ":"):
        return None
    head = base64.b64decode(value[len(PREFIX) + 1 : len(PREFIX) + 1 + 12])
    return head[:8].decode("ascii", "replace")


def key_id_of_file(blob_head: bytes) -> str | None:
    if not blob_head.startswith(FILE_MAGIC):
        return None
    return blob_head[len(FILE_MAGIC) : len(FILE_MAGIC) + 8].decode("ascii", "replace")


def encrypt_file(data: bytes, *, name: str) -> bytes:
    return FILE_MAGIC + encrypt_bytes(data, context=f"file:{name}")


def decrypt_file(blob: bytes, *, name: str) -> bytes:
    if not blob.startswith(FILE_MAGIC):
        raise DecryptionError(f"{name} is not an encrypted Pristan file")
    return decrypt_bytes(blob[len(FILE_MAGIC) :], context=f"file:{name}")


# Blind index ------------------------------------------------------------------------------


@cache
def _index_key() -> bytes:
    raw = settings.SEARCH_INDEX_KEY
    if not raw:
        raise ImproperlyConfigured("SEARCH_INDEX_KEY is not set.")
    return hashlib.sha256(b"pristan-search-index" + raw.encode()).digest()


def blind_token(token: str) -> str:
    """A keyed hash of one search token: equal tokens give equal hashes, and nothing else
    can be read from it without the key."""
    return hmac.new(_index_key(), token.encode(), hashlib.sha256).hexdigest()[:16]
