#!/usr/bin/env python3
"""Print new keys as environment lines (standard library only: it runs before Django can
start, since Pristan refuses to start without keys).

    FIELD_ENCRYPTION_KEYS=<base64 32 bytes>   encrypts client data, documents and PDFs
    SEARCH_INDEX_KEY=<random>                 keys the blind index used for name search
    BACKUP_KEY=<base64 32 bytes>              encrypts the archives of `manage.py backup`

Keep BACKUP_KEY apart from the other two (docs/backup.md): the server's environment needs the
field keys, while only the backup job needs BACKUP_KEY. `--backup-key` prints only a new
BACKUP_KEY line (to add one, or to rotate it).

To rotate the field key: put a new key first in FIELD_ENCRYPTION_KEYS (comma-separated, old
ones after it), run `manage.py rotate_keys`, then drop the old key. A new BACKUP_KEY goes first
in BACKUP_KEY too; keep the old one after it for as long as archives made with it are kept.
"""

import base64
import secrets
import sys


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


if "--backup-key" not in sys.argv[1:]:
    print(f"FIELD_ENCRYPTION_KEYS={key()}")
    print(f"SEARCH_INDEX_KEY={secrets.token_urlsafe(32)}")
print(f"BACKUP_KEY={key()}")
