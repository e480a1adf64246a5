#!/usr/bin/env python3
"""Print new encryption keys as environment lines (standard library only: it runs before
Django can start, since Pristan refuses to start without keys).

    FIELD_ENCRYPTION_KEYS=<base64 32 bytes>   encrypts client data, documents and PDFs
    SEARCH_INDEX_KEY=<random>                 keys the blind index used for name search

To rotate: put a new key first in FIELD_ENCRYPTION_KEYS (comma-separated, old ones after it),
run `manage.py rotate_keys`, then drop the old key.
"""

import base64
import secrets

print(f"FIELD_ENCRYPTION_KEYS={base64.b64encode(secrets.token_bytes(32)).decode()}")
print(f"SEARCH_INDEX_KEY={secrets.token_urlsafe(32)}")
