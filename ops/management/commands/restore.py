"""Restore an archive made by `manage.py backup` into an empty installation.

    manage.py restore /srv/backups/pristan-2026-11-21.pristan-backup
    ssh offsite 'cat pristan.pristan-backup' | manage.py restore -

The database and the file storage configured for this installation must be empty (a database
that only `migrate` has touched counts as empty); `--replace` replaces a database in use and
overwrites files of the same name. The whole archive is decrypted and checked against its
manifest before anything is written: a wrong key or a damaged archive restores nothing.
Restoring needs BACKUP_KEY (any of its keys, for rotation) and, to read the data afterwards,
the FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY of the installation that made the backup.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from ops import backup, database, stream


class Command(BaseCommand):
    help = "Restore a backup archive (a file or '-') into an empty installation."

    def add_arguments(self, parser):
        parser.add_argument("archive", help='the archive file, or "-" for standard input')
        parser.add_argument(
            "--key-file",
            help="read the backup keys from this file instead of the BACKUP_KEY setting",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace a database that holds data, and overwrite files of the same name",
        )

    def handle(self, *args, archive, key_file=None, replace=False, **options):
        try:
            keys = stream.configured_keys(key_file)
            if archive == "-":
                if sys.stdin.isatty():
                    raise CommandError("Give an archive file, or pipe one into standard input.")
                summary = backup.restore_backup(
                    sys.stdin.buffer, keys=keys, replace=replace, progress=self.stderr.write
                )
            else:
                try:
                    source = open(archive, "rb")  # noqa: SIM115
                except OSError as error:
                    raise CommandError(f"Cannot open {archive}: {error.strerror}.") from None
                with source:
                    summary = backup.restore_backup(
                        source, keys=keys, replace=replace, progress=self.stderr.write
                    )
        except stream.BackupError as error:
            raise CommandError(str(error)) from None
        except DatabaseError as error:
            raise CommandError(
                f"The target database cannot be used (create it first, check DATABASE_URL): "
                f"{error}".strip()
            ) from None
        self.stderr.write(
            self.style.SUCCESS(
                f"Restored the backup of {summary.created_at}: "
                f"{database.ENGINE_NAMES[summary.engine]} database, {summary.files} files "
                f"({backup.human_size(summary.file_bytes)}). Access log: {summary.access_log}."
            )
        )
        if summary.migrations_to_apply:
            self.stderr.write(
                self.style.WARNING(
                    f"The backup predates {len(summary.migrations_to_apply)} migrations of this "
                    "version: run `manage.py migrate` now."
                )
            )
        if summary.field_keys_ok is False:
            self.stderr.write(
                self.style.ERROR(
                    "The configured FIELD_ENCRYPTION_KEYS cannot decrypt the restored data: set "
                    "the keys of the installation that made the backup (nothing is lost)."
                )
            )
