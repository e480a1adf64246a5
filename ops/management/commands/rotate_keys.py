"""Re-encrypt everything with the newest key (the first of FIELD_ENCRYPTION_KEYS).

Resumable: a row or file already under the newest key is skipped, and every row is committed
on its own, so an interrupted run simply continues where it stopped when started again.
`--reindex` also rebuilds the blind search index (after changing SEARCH_INDEX_KEY).
"""

from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import models, transaction

from casework.models import CaseReference, Client
from casework.names import reference_index
from core import crypto
from core.fields import EncryptedMixin
from core.storage import EncryptedStorageMixin

BATCH = 500


def encrypted_models():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
        files = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        if fields or files:
            yield model, fields, files


class Command(BaseCommand):
    help = "Re-encrypt all data and files with the newest key; resumable."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reindex", action="store_true", help="also rebuild the blind search index"
        )

    def handle(self, *args, reindex=False, **options):
        crypto.reset_keys()
        current = crypto.current_key_id()
        for model, fields, files in encrypted_models():
            rows = files_done = 0
            last_pk = 0
            while True:
                batch = list(
                    model.objects.filter(pk__gt=last_pk)
                    .order_by("pk")
                    .values_list("pk", *[f.attname for f in fields + files])[:BATCH]
                )
                if not batch:
                    break
                for pk, *values in batch:
                    stored, names = values[: len(fields)], values[len(fields) :]
                    stale = [
                        f.attname
                        for f, value in zip(fields, stored, strict=True)
                        if value and crypto.key_id_of_text(value) != current
                    ]
                    if stale:
                        self._rewrite_row(model, pk, stale)
                        rows += 1
                    for name in names:
                        if name and self._rewrite_file(name, current):
                            files_done += 1
                last_pk = batch[-1][0]
            self.stdout.write(
                f"{model._meta.label}: {rows} rows and {files_done} files re-encrypted"
            )
        if reindex:
            for client in Client.objects.prefetch_related("names").iterator(chunk_size=200):
                client.reindex_names()
            for reference in CaseReference.objects.iterator(chunk_size=200):
                reference.value_index = reference_index(reference.value)
                reference.save(update_fields=["value_index"])
            self.stdout.write("search index rebuilt")
        self.stdout.write(self.style.SUCCESS(f"All data is now under key {current}."))

    @staticmethod
    def _rewrite_row(model, pk, attnames) -> None:
        with transaction.atomic():
            instance = model.objects.select_for_update().get(pk=pk)
            for attname in attnames:
                getattr(instance, attname)  # decrypt with the old key now
            instance.save(update_fields=attnames)

    @staticmethod
    def _rewrite_file(name: str, current: str) -> bool:
        storage = default_storage
        if not isinstance(storage, EncryptedStorageMixin) or not storage.exists(name):
            return False
        blob = storage.read_raw(name)
        if crypto.key_id_of_file(blob[:64]) == current:
            return False
        plain = crypto.decrypt_file(blob, name=name)
        storage.write_raw(name, crypto.encrypt_file(plain, name=name))
        return True
