#!/usr/bin/env python3
"""Print new keys as environment lines (standard library only: it runs before Django can
start, since Pristan refuses to start without keys).

    FIELD_ENCRYPTION_KEYS=<base64 32 bytes>   encrypts client data, documents and PDFs
    SEARCH_INDEX_KEY=<random>                 keys the blind index used for name search
    ACCESS_LOG_KEY=<base64 32 bytes>          keys the access log's hashes (tamper evidence)
    BACKUP_KEY=<base64 32 bytes>              encrypts the archives of `manage.py backup`

Keep BACKUP_KEY apart from the others (docs/backup.md): the server's environment needs the
field keys, while only the backup job needs BACKUP_KEY. `--backup-key` prints only a new
BACKUP_KEY line (to add one, or to rotate it), `--access-log-key` only a new ACCESS_LOG_KEY line
(for an installation made before it existed; to rotate it, the new key goes first and every
older one after it, for as long as the access-log entries they signed are kept).

To rotate the field key: put a new key first in FIELD_ENCRYPTION_KEYS (comma-separated, old
ones after it), run `manage.py rotate_keys`, then drop the old key. A new BACKUP_KEY goes first
in BACKUP_KEY too; keep the old one after it for as long as archives made with it are kept.
"""

import base64
import secrets
import sys


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


only = {"--backup-key", "--access-log-key"}.intersection(sys.argv[1:])
if not only:
    print(f"FIELD_ENCRYPTION_KEYS={key()}")
    print(f"SEARCH_INDEX_KEY={secrets.token_urlsafe(32)}")
if not only or "--access-log-key" in only:
    print(f"ACCESS_LOG_KEY={key()}")
if not only or "--backup-key" in only:
    print(f"BACKUP_KEY={key()}")
