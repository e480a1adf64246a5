"""Write one encrypted archive of the database and every stored file (ops.backup).

    manage.py backup /srv/backups/pristan-$(date +%F).pristan-backup
    manage.py backup - | ssh offsite 'cat > pristan.pristan-backup'

The archive is encrypted with the first key of BACKUP_KEY (or of --key-file); progress and a
summary go to standard error, so standard output can carry the archive itself. A file is
created with permissions 0600 and only appears under its name once it is complete.
"""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from ops import backup, database, stream


class Command(BaseCommand):
    help = "Write one encrypted archive of the database and all stored files to a file or '-'."

    def add_arguments(self, parser):
        parser.add_argument("output", help='the archive file to write, or "-" for standard output')
        parser.add_argument(
            "--key-file",
            help="read the backup key from this file instead of the BACKUP_KEY setting",
        )

    def handle(self, *args, output, key_file=None, **options):
        try:
            key = stream.configured_keys(key_file)[0]
        except stream.BackupError as error:
            raise CommandError(str(error)) from None
        progress = self.stderr.write
        if output == "-":
            if sys.stdout.isatty():
                raise CommandError(
                    "Refusing to write the archive to a terminal: give a file name or a pipe."
                )
            summary = self._run(sys.stdout.buffer, key, progress)
            destination = "standard output"
        else:
            path = Path(output)
            partial = path.with_name(path.name + ".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # also when a partial file was left by an earlier run
            try:
                with os.fdopen(fd, "wb") as f:
                    summary = self._run(f, key, progress)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(partial, path)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            destination = str(path)
        self.stderr.write(
            self.style.SUCCESS(
                f"Backup written to {destination}: {database.ENGINE_NAMES[summary.engine]} "
                f"database ({backup.human_size(summary.database_bytes)}), {summary.files} files "
                f"({backup.human_size(summary.file_bytes)}), archive "
                f"{backup.human_size(summary.archive_bytes)}, backup key {summary.key_id}."
            )
        )
        # Also in the manifest; printed so that the job's own log keeps a copy (verify_access_log
        # --anchors-file reads these lines as they are).
        for anchor in summary.access_log_anchors:
            self.stderr.write(f"Access log anchor {anchor}")

    @staticmethod
    def _run(out, key, progress) -> backup.Summary:
        try:
            return backup.write_backup(out, key=key, progress=progress)
        except stream.BackupError as error:
            raise CommandError(str(error)) from None
        except OSError as error:  # a full disk, a closed pipe (the offsite copy failed)
            raise CommandError(f"Writing the archive failed: {error.strerror or error}.") from None
        except DatabaseError as error:
            raise CommandError(f"The database cannot be read: {error}".strip()) from None
