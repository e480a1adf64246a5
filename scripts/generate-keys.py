#!/usr/bin/env python3
"""Print new keys as environment lines (standard library only: it runs before Django can
start, since Pristan refuses to start without keys).

    FIELD_ENCRYPTION_KEYS=<base64 32 bytes>   encrypts client data, documents and PDFs
    SEARCH_INDEX_KEY=<random>                 keys the blind index used for name search
    ACCESS_LOG_KEY=<base64 32 bytes>          keys the access log's hashes (tamper evidence)
    BACKUP_KEY=<base64 32 bytes>              encrypts the archives of `manage.py backup`

Keep BACKUP_KEY apart from the other two (docs/backup.md): the server's environment needs the
field keys, while only the backup job needs BACKUP_KEY. `--backup-key` prints only a new
BACKUP_KEY line (to add one, or to rotate it), `--access-log-key` only a new ACCESS_LOG_KEY line
(for an installation made before it existed; to rotate it, the new key goes first and every
older one after it, for as long as the access-log entries they signed are kept).

`--compose-secrets DIR` writes the files docker-compose.yml mounts as secrets instead (each
one only if it does not exist yet, so running it again changes nothing): the keys above, the
Django secret key, the PostgreSQL password and the DATABASE_URL made with it, and empty files
for the SMTP password and the S3 secret key (fill them in if you use them). DIR is made
readable by its owner only; the files in it are readable by all, because the services read
them as their own users (10001, postgres) once they are mounted in /run/secrets/.

To rotate the field key: put a new key first in FIELD_ENCRYPTION_KEYS (comma-separated, old
ones after it), run `manage.py rotate_keys`, then drop the old key. A new BACKUP_KEY goes first
in BACKUP_KEY too; keep the old one after it for as long as archives made with it are kept.
"""

import base64
import secrets
import sys
from pathlib import Path


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def compose_secrets(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    password_file = folder / "postgres_password"
    password = (
        password_file.read_text().strip()
        if password_file.exists()
        else secrets.token_urlsafe(32)  # URL-safe: it goes into DATABASE_URL as it is
    )
    values = {
        "django_secret_key": secrets.token_urlsafe(50),
        "field_encryption_keys": key(),
        "search_index_key": secrets.token_urlsafe(32),
        "access_log_key": key(),
        "backup_key": key(),
        "postgres_password": password,
        "database_url": f"postgres://pristan:{password}@postgres:5432/pristan",
        "email_password": "",
        "aws_secret_access_key": "",
    }
    for name, value in values.items():
        path = folder / name
        if path.exists():
            print(f"kept    {path}")
            continue
        path.write_text(value + "\n" if value else "")
        path.chmod(0o444)
        print(f"created {path}")


args = sys.argv[1:]
if "--compose-secrets" in args:
    compose_secrets(Path(args[args.index("--compose-secrets") + 1]))
    sys.exit()
only = {"--backup-key", "--access-log-key"}.intersection(args)
if not only:
    print(f"FIELD_ENCRYPTION_KEYS={key()}")
    print(f"SEARCH_INDEX_KEY={secrets.token_urlsafe(32)}")
if not only or "--access-log-key" in only:
    print(f"ACCESS_LOG_KEY={key()}")
if not only or "--backup-key" in only:
    print(f"BACKUP_KEY={key()}")
